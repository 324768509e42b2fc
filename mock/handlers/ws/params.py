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
from collections.abc import Callable
from typing import Any

from nexsis_mock.handlers import MoodleError
from nexsis_mock.handlers.ws.params_fast import NO_FIXED, Slow, compile_fast
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


#: Where a value sits, built only when a value is refused: None (the parameters), or
#: (parent, key) for a key of a structure, or (parent, index) for an item of a list.
Where = tuple[Any, Any] | None


def _place(where: Where) -> str:
    parts: list[str] = []
    while where is not None:
        where, key = where
        parts.append(str(key))
    if not parts:
        return "parameters"
    parts.reverse()
    return parts[0] + "".join(f"[{p}]" for p in parts[1:])


def _int(value: Any, parent: Where, key: Any) -> int:
    if type(value) is str:  # what a form sends: decided first
        if _INT_RE.match(value):
            number = int(value)
            if str(number) == value and -_PHP_INT_MAX - 1 <= number <= _PHP_INT_MAX:
                return number
    elif isinstance(value, bool):
        return int(value)
    elif isinstance(value, int):
        return value
    elif isinstance(value, float) and value.is_integer():
        return int(value)
    elif isinstance(value, str) and _INT_RE.match(value) and value == str(int(value)):
        number = int(value)
        if -_PHP_INT_MAX - 1 <= number <= _PHP_INT_MAX:
            return number
    raise invalid(f"{_place((parent, key))}: the value is {_show(value)}, the server was expecting "
                  f"\"int\" type")


def _bool(value: Any, parent: Where, key: Any) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1) or value in ("0", "1"):
        return bool(int(value))
    raise invalid(f"{_place((parent, key))}: the value is {_show(value)}, the server was expecting "
                  f"\"bool\" type")


#: The text types whose cleaning keeps only these characters (PARAM_TEXT strips tags; others keep all).
_PATTERNS = {"PARAM_ALPHANUM": _ALPHANUM_RE, "PARAM_ALPHANUMEXT": _ALPHANUMEXT_RE,
             "PARAM_PLUGIN": _ALPHANUMEXT_RE}


def _text(param: str) -> Validator:
    pattern = _PATTERNS.get(param)
    tags = param == "PARAM_TEXT"

    def clean(value: Any, parent: Where, key: Any) -> Any:
        if isinstance(value, bool):
            value = "1" if value else ""
        text = value if isinstance(value, str) else str(value)
        # PARAM_TEXT is fix_utf8 (it drops NUL bytes) then strip_tags; validate_param refuses a
        # value its cleaning changes. Other control characters survive Moodle's cleaning: kept.
        if (pattern is not None and not pattern.match(text)) or (tags and (_TAG_RE.search(text)
                                                                           or "\x00" in text)):
            raise invalid(f"{_place((parent, key))}: the value is {_show(value)}, which {param} cleaning "
                          f"changes")
        return text

    return clean


#: ``check(value, parent, key)``: the value found at ``key`` of the structure at ``parent``; the
#: place (``(parent, key)``) is built only when a value is refused. ``_ROOT`` is the parameters'.
Validator = Callable[[Any, Where, Any], Any]
_ROOT = object()


def _compile_value(desc: dict[str, Any]) -> Validator:
    param = desc["param"]
    scalar: Validator = _int if param == "PARAM_INT" else _bool if param == "PARAM_BOOL" else _text(param)
    allownull = desc.get("allownull", True)

    def value_(value: Any, parent: Where, key: Any) -> Any:
        if value is None:
            if allownull:
                return None
            raise invalid(f"{_place((parent, key))}: null is not allowed")
        if isinstance(value, (dict, list)):  # a tuple: `dict | list` builds a union per call
            raise invalid(f"{_place((parent, key))}: scalar type expected, array or object received")
        return scalar(value, parent, key)

    return value_


def _compile_multiple(desc: dict[str, Any]) -> Validator:
    item = compile_description(desc["content"])

    def multiple(value: Any, parent: Where, key: Any) -> Any:
        where = None if key is _ROOT else (parent, key)
        if isinstance(value, dict):
            items = list(value.values())  # PHP arrays with string keys are arrays too
        elif isinstance(value, list):
            items = value
        else:
            raise invalid(f"{_place(where)}: only arrays accepted, the bad value is {_show(value)}")
        return [item(v, where, i) for i, v in enumerate(items)]

    return multiple


_NO_DEFAULT = object()


def _fixed_default(default: Any, check: Validator) -> Any:
    """A default's cleaned value when it is the same for every call (a scalar Moodle accepts)."""
    if default is None:
        return None
    try:
        cleaned = check(default, None, "")
    except MoodleError:
        return _NO_DEFAULT  # refused: cleaned per call, so the refusal names its place
    return cleaned if isinstance(cleaned, (str, int, float, bool)) else _NO_DEFAULT


def _compile_single(desc: dict[str, Any]) -> Validator:
    keys = []
    for key, sub in desc["keys"].items():
        check, default = compile_description(sub), sub.get("default")
        fixed = _fixed_default(default, check) if sub["required"] == "default" else None
        keys.append((key, sub["required"], default, check, fixed))
    names = frozenset(desc["keys"])

    def single(value: Any, parent: Where, key: Any) -> Any:
        where = None if key is _ROOT else (parent, key)
        if not isinstance(value, dict):
            if isinstance(value, list) and not value:
                value = {}
            else:
                raise invalid(f"{_place(where)}: only arrays accepted, the bad value is {_show(value)}")
        result: dict[str, Any] = {}
        for name, required, default, check, fixed in keys:
            if name not in value:
                if required == "required":
                    raise invalid(f"{_place(where)}: missing required key in single structure: {name}")
                if required == "default":
                    result[name] = fixed if fixed is not _NO_DEFAULT else check(default, where, name)
                continue
            result[name] = check(value[name], where, name)
        if len(value) > len(result) or not names.issuperset(value):
            extra = [k for k in value if k not in names]
            if extra:
                raise invalid(f"{_place(where)}: unexpected keys ({', '.join(map(str, extra))}) detected")
        return result

    return single


_compiled: dict[int, tuple[dict[str, Any], Validator]] = {}


def compile_description(desc: dict[str, Any]) -> Validator:
    """A function checking values against one description, built once per description."""
    hit = _compiled.get(id(desc))
    if hit is not None and hit[0] is desc:
        return hit[1]
    kind = desc["kind"]
    check = (_compile_value(desc) if kind == "value" else _compile_multiple(desc) if kind == "multiple"
             else _compile_single(desc))
    _compiled[id(desc)] = (desc, check)
    return check


def _default_of(sub: dict[str, Any]) -> Any:
    fixed = _fixed_default(sub.get("default"), compile_description(sub))
    return NO_FIXED if fixed is _NO_DEFAULT else fixed


_fast: dict[int, tuple[dict[str, Any], Callable[[Any], Any] | None]] = {}


def validate(desc: dict[str, Any], value: Any) -> Any:
    """Moodle's ``validate_parameters`` for one description: the cleaned value, or ``invalidparameter``.

    The description's compiled check (``params_fast``) answers a valid plain call; anything it
    cannot vouch for is decided here, by the reference, which alone words every refusal.
    """
    hit = _fast.get(id(desc))
    if hit is None or hit[0] is not desc:
        hit = _fast[id(desc)] = (desc, compile_fast(
            desc, patterns=_PATTERNS, tag_search=_TAG_RE.search, default_of=_default_of,
            reference=compile_description))
    fast = hit[1]
    if fast is not None:
        try:
            return fast(value)
        except Slow:
            pass
    return reference(desc, value)


def reference(desc: dict[str, Any], value: Any) -> Any:
    """``validate`` without the compiled check: the rules themselves, step by step."""
    return compile_description(desc)(value, None, _ROOT)


def validate_function(function: str, params: dict[str, Any]) -> dict[str, Any]:
    return validate(signature(function), params)
