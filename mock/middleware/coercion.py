"""Wire strings typed by schema, as Moodle's PARAM_* cleaning and PHP's casts type them.

Query strings and form bodies arrive as strings; ``coerce`` turns the unambiguous ones into the
integers, numbers, booleans and nulls their schema asks for, before validation. It runs on every
value of every request, so each schema is compiled once into a function that does only what that
schema needs: a schema that only takes strings costs nothing, and an object whose properties are
all strings is one dict copy (walking the schema per value was the largest single cost of a form
``PUT``). ``tests/mock_server/test_coercion.py`` holds the schema walker this replaced and checks
both agree on every request schema of both specs.
"""

from __future__ import annotations

import re
import typing as t

__all__ = ["INT_RE", "coerce", "object_properties", "schema_types"]

#: NexSIS (PHP casts) takes any decimal integer; Moodle's PARAM_INT only the canonical form.
INT_RE = re.compile(r"^[+-]?[0-9]+$")
#: The integers PHP and orjson keep exact; larger ones are refused rather than rounded.
_INT64 = (-(2**63), 2**63 - 1)
_NUM_RE = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")

Coercer = t.Callable[[t.Any], t.Any]

# Per-schema facts, computed once. Keyed by id with the schema kept referenced, so an id cannot be
# reused while its entry lives; spec schemas live as long as the app.
_types_memo: dict[int, tuple[dict, frozenset[str]]] = {}
_props_memo: dict[int, tuple[dict, dict[str, dict]]] = {}
#: (id(schema), int_re) -> (schema, compiled coercer or None for "unchanged"); bounded.
_coercers: dict[tuple[int, re.Pattern[str]], tuple[dict, Coercer | None]] = {}
_MAX_COERCERS = 4096
_BUILDING: t.Any = object()


def schema_types(schema: dict) -> frozenset[str]:
    """Every ``type`` a schema names, through oneOf/anyOf/allOf."""
    hit = _types_memo.get(id(schema))
    if hit is None or hit[0] is not schema:
        types: set[str] = set()
        if "type" in schema:
            types.add(schema["type"])
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in schema.get(key, ()):
                types |= schema_types(sub)
        hit = _types_memo[id(schema)] = (schema, frozenset(types))
    return hit[1]


def object_properties(schema: dict) -> dict[str, dict]:
    """The properties an object schema names, through allOf/oneOf/anyOf (read-only: shared)."""
    hit = _props_memo.get(id(schema))
    if hit is None or hit[0] is not schema:
        props = dict(schema.get("properties", {}))
        for key in ("allOf", "oneOf", "anyOf"):
            for sub in schema.get(key, ()):
                for name, sub_schema in object_properties(sub).items():
                    props.setdefault(name, sub_schema)
        hit = _props_memo[id(schema)] = (schema, props)
    return hit[1]


def coerce(value: t.Any, schema: dict | None, int_re: re.Pattern[str] = INT_RE) -> t.Any:
    """Type wire strings by schema, as Moodle's PARAM_INT/PARAM_FLOAT/PARAM_BOOL cleaning does.

    Only unambiguous conversions happen; anything else stays a string so the validator rejects
    it with the schema's own message (``"1.5"`` for an integer, ``"true"`` for a PARAM_BOOL, a
    scalar where a list is expected). Lists and objects the schema describes come back as new
    containers.
    """
    if not schema:
        return value
    run = compiled(schema, int_re)
    return value if run is None else run(value)


def compiled(schema: dict, int_re: re.Pattern[str] = INT_RE) -> Coercer | None:
    """The schema's coercer; None when it leaves every value as it is."""
    key = (id(schema), int_re)
    hit = _coercers.get(key)
    if hit is not None and hit[0] is schema:
        if hit[1] is _BUILDING:  # a cyclic schema: coerce through it when the value gets there
            return lambda value: coerce(value, schema, int_re)
        return hit[1]
    if len(_coercers) >= _MAX_COERCERS:  # (never the entries of a compilation under way)
        for stale in [k for k, v in _coercers.items() if v[1] is not _BUILDING]:
            del _coercers[stale]
    _coercers[key] = (schema, _BUILDING)
    try:
        run = _compile(schema, int_re)
    except BaseException:
        _coercers.pop(key, None)
        raise
    _coercers[key] = (schema, run)
    return run


def _compile(schema: dict, int_re: re.Pattern[str]) -> Coercer | None:
    if not schema:
        return None
    types = schema_types(schema)
    nullable = bool(schema.get("nullable"))
    scalar = _scalar(types, nullable, int_re) if ({"integer", "number", "boolean"} & types or nullable) \
        else None
    items = _items(schema) if "array" in types else None
    array = compiled(items, int_re) if items else None
    is_array = "array" in types
    obj = "object" in types
    props: dict[str, dict] = object_properties(schema) if obj else {}
    per_prop = {name: c for name, sub in props.items() if sub and (c := compiled(sub, int_re))}
    extra_schema = schema.get("additionalProperties") if obj else None
    extra = compiled(extra_schema, int_re) if isinstance(extra_schema, dict) and extra_schema else None
    if scalar is None and not is_array and not obj:
        return None  # strings stay strings, other values are not the coercer's

    def run(value: t.Any) -> t.Any:
        if isinstance(value, str):
            return value if scalar is None else scalar(value)
        if is_array and isinstance(value, list):
            return list(value) if array is None else [array(v) for v in value]
        if obj and isinstance(value, dict):
            if extra is None:
                if not per_prop:
                    return dict(value)
                return {k: v if (c := per_prop.get(k)) is None else c(v) for k, v in value.items()}
            return {k: v if (c := per_prop.get(k) if k in props else extra) is None else c(v)
                    for k, v in value.items()}
        return value

    return run


def _items(schema: dict) -> dict | None:
    items = schema.get("items") or {}
    if not items:
        for key in ("oneOf", "anyOf", "allOf"):
            for sub in schema.get(key, ()):
                if sub.get("type") == "array" and sub.get("items"):
                    items = sub["items"]
    return items or None


def _scalar(types: frozenset[str], nullable: bool, int_re: re.Pattern[str]) -> Coercer:
    integer, number, boolean = "integer" in types, "number" in types, "boolean" in types
    saturate = int_re is INT_RE

    def scalar(value: str) -> t.Any:
        if integer and int_re.match(value):
            parsed = int(value) if len(value) <= 20 else None
            if parsed is not None and _INT64[0] <= parsed <= _INT64[1]:
                return parsed
            if saturate:
                # NexSIS reads integers with PHP's (int) cast, which saturates: a huge `limit` is
                # PHP_INT_MAX there, not an error. Moodle's PARAM_INT check compares the cleaned
                # value with the raw text, so for web services it stays a string (invalid).
                return _INT64[0] if value.startswith("-") else _INT64[1]
        if number and _NUM_RE.match(value):
            return float(value)
        if boolean and value in ("0", "1"):
            return value == "1"
        if value == "" and nullable:
            return None
        return value

    return scalar
