"""Moodle's `external_api::validate_parameters`, driven by the functions' parameter descriptions.

The descriptions come from `nexsis_openapi.moodle.signature` (derived from moodle-ws.yaml and
tested against the description dumped from a real Moodle 5.0 with tool_muprog,
tests/data/moodle-ws-signatures.json); validating against them reproduces Moodle's answers to
missing, extra and wrongly typed parameters exactly: every failure is `invalidparameter`.

Values arrive as the strings of a form body (the codec keeps them strings) or already coerced by
the server's schema layer (ints, bools); both are accepted when Moodle would accept the string.
"""

from __future__ import annotations

import re
from typing import Any

from nexsis_mock.handlers import MoodleError
from nexsis_openapi.moodle import INVALID_PARAMETER, signature

_INT_RE = re.compile(r"^-?[0-9]+$")
_ALPHANUM_RE = re.compile(r"^[A-Za-z0-9]*$")
_ALPHANUMEXT_RE = re.compile(r"^[A-Za-z0-9_-]*$")
_TAG_RE = re.compile(r"<[A-Za-z/!?]")
_PHP_INT_MAX = 2**63 - 1


def invalid(debug: str = "") -> MoodleError:
    """Moodle's ``invalidparameter``; ``debug`` (Moodle's debuginfo wording) goes to X-Mock-Detail."""
    return MoodleError(**INVALID_PARAMETER, detail=debug)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:60] + "..."


def _int(value: Any, where: str) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.match(value) and value == str(int(value)):
        number = int(value)
        if -_PHP_INT_MAX - 1 <= number <= _PHP_INT_MAX:
            return number
    raise invalid(f"{where}: the value is {_show(value)}, the server was expecting \"int\" type")


def _bool(value: Any, where: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1) or value in ("0", "1"):
        return bool(int(value))
    raise invalid(f"{where}: the value is {_show(value)}, the server was expecting \"bool\" type")


def _scalar(param: str, value: Any, where: str) -> Any:
    if isinstance(value, dict | list):
        raise invalid(f"{where}: scalar type expected, array or object received")
    if param == "PARAM_INT":
        return _int(value, where)
    if param == "PARAM_BOOL":
        return _bool(value, where)
    if isinstance(value, bool):
        value = "1" if value else ""
    text = value if isinstance(value, str) else str(value)
    if (param == "PARAM_ALPHANUM" and not _ALPHANUM_RE.match(text)) \
            or (param in ("PARAM_ALPHANUMEXT", "PARAM_PLUGIN") and not _ALPHANUMEXT_RE.match(text)) \
            or (param == "PARAM_TEXT" and _TAG_RE.search(text)):
        raise invalid(f"{where}: the value is {_show(value)}, which {param} cleaning would change")
    return text


def validate(desc: dict[str, Any], value: Any, where: str = "parameters") -> Any:
    """Moodle's ``validate_parameters`` for one description; ``where`` names the place for the detail."""
    kind = desc["kind"]
    if kind == "value":
        if value is None:
            if desc.get("allownull", True):
                return None
            raise invalid(f"{where}: null is not allowed")
        return _scalar(desc["param"], value, where)
    if kind == "multiple":
        if isinstance(value, dict):
            items = list(value.values())  # PHP arrays with string keys are arrays too
        elif isinstance(value, list):
            items = value
        else:
            raise invalid(f"{where}: only arrays accepted, the bad value is {_show(value)}")
        return [validate(desc["content"], item, f"{where}[{i}]") for i, item in enumerate(items)]
    # single / function_parameters
    if not isinstance(value, dict):
        if isinstance(value, list) and not value:
            value = {}
        else:
            raise invalid(f"{where}: only arrays accepted, the bad value is {_show(value)}")
    result: dict[str, Any] = {}
    keys: dict[str, Any] = desc["keys"]
    inner = "" if kind == "function_parameters" else where
    for key, sub in keys.items():
        place = f"{inner}[{key}]" if inner else key
        if key not in value:
            required = sub["required"]
            if required == "required":
                raise invalid(f"{where}: missing required key in single structure: {key}")
            if required == "default":
                default = sub.get("default")
                result[key] = None if default is None else validate(sub, default, place)
            continue
        result[key] = validate(sub, value[key], place)
    extra = [k for k in value if k not in keys]
    if extra:
        raise invalid(f"{where}: unexpected keys ({', '.join(map(str, extra))}) detected")
    return result


def validate_function(function: str, params: dict[str, Any]) -> dict[str, Any]:
    return validate(signature(function), params)
