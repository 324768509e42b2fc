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
    return MoodleError(**INVALID_PARAMETER)


def _int(value: Any) -> int:
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
    raise invalid(f"invalid int {value!r}")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1) or value in ("0", "1"):
        return bool(int(value))
    raise invalid(f"invalid bool {value!r}")


def _scalar(param: str, value: Any) -> Any:
    if isinstance(value, dict | list):
        raise invalid("array where a scalar is expected")
    if param == "PARAM_INT":
        return _int(value)
    if param == "PARAM_BOOL":
        return _bool(value)
    if isinstance(value, bool):
        value = "1" if value else ""
    text = value if isinstance(value, str) else str(value)
    if param in ("PARAM_ALPHANUM",) and not _ALPHANUM_RE.match(text):
        raise invalid()
    if param in ("PARAM_ALPHANUMEXT", "PARAM_PLUGIN") and not _ALPHANUMEXT_RE.match(text):
        raise invalid()
    if param == "PARAM_TEXT" and _TAG_RE.search(text):
        raise invalid()
    return text


def validate(desc: dict[str, Any], value: Any) -> Any:
    kind = desc["kind"]
    if kind == "value":
        if value is None:
            if desc.get("allownull", True):
                return None
            raise invalid()
        return _scalar(desc["param"], value)
    if kind == "multiple":
        if isinstance(value, dict):
            items = list(value.values())  # PHP arrays with string keys are arrays too
        elif isinstance(value, list):
            items = value
        else:
            raise invalid("only arrays accepted")
        return [validate(desc["content"], item) for item in items]
    # single / function_parameters
    if not isinstance(value, dict):
        if isinstance(value, list) and not value:
            value = {}
        else:
            raise invalid("only arrays accepted")
    result: dict[str, Any] = {}
    keys: dict[str, Any] = desc["keys"]
    for key, sub in keys.items():
        if key not in value:
            required = sub["required"]
            if required == "required":
                raise invalid(f"missing required key {key}")
            if required == "default":
                default = sub.get("default")
                result[key] = None if default is None else validate(sub, default)
            continue
        result[key] = validate(sub, value[key])
    extra = [k for k in value if k not in keys]
    if extra:
        raise invalid(f"unexpected keys {extra}")
    return result


def validate_function(function: str, params: dict[str, Any]) -> dict[str, Any]:
    return validate(signature(function), params)
