"""The compiled coercers type every wire value exactly as the schema walker they replaced.

``nexsis_mock.middleware.coercion`` compiles each schema once into a function. ``_walk`` below is
the per-value schema walker the mock used before (kept here as the reference): for every request
schema of the three specs and each of its sub-schemas, both must give equal values of equal types
for wire-like strings, lists and objects (named and unnamed properties), with both integer rules
(NexSIS's PHP cast, Moodle's canonical PARAM_INT).
"""

from __future__ import annotations

import re
import typing as t

import pytest

from nexsis_mock.middleware.coercion import INT_RE, coerce, object_properties, schema_types
from nexsis_mock.middleware.validation import CANONICAL_INT_RE

from .test_fast_validation import _request_schemas, _subschemas

_INT64 = (-(2**63), 2**63 - 1)
_NUM_RE = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?$")

STRINGS = ["", "0", "1", "2", "-1", "+5", "05", "1.5", ".5", "1e3", "-2.5E-3", "abc", "true", " 1",
           "9223372036854775807", "9223372036854775808", "-9223372036854775809", "1" * 25, "1,2"]


def _walk(value: t.Any, schema: dict | None, int_re: re.Pattern[str] = INT_RE) -> t.Any:
    """The schema walker ``coerce`` replaced, unchanged but for names."""
    if not schema:
        return value
    types = schema_types(schema)
    if isinstance(value, str):
        if "integer" in types and int_re.match(value):
            number = int(value) if len(value) <= 20 else None
            if number is not None and _INT64[0] <= number <= _INT64[1]:
                return number
            if int_re is INT_RE:
                return _INT64[0] if value.startswith("-") else _INT64[1]
        if "number" in types and _NUM_RE.match(value):
            return float(value)
        if "boolean" in types and value in ("0", "1"):
            return value == "1"
        if value == "" and schema.get("nullable"):
            return None
        return value
    if isinstance(value, list) and "array" in types:
        items = schema.get("items") or {}
        if not items:
            for key in ("oneOf", "anyOf", "allOf"):
                for sub in schema.get(key, ()):
                    if sub.get("type") == "array" and sub.get("items"):
                        items = sub["items"]
        return [_walk(v, items, int_re) for v in value]
    if isinstance(value, dict) and "object" in types:
        props = object_properties(schema)
        extra = schema.get("additionalProperties")
        extra = extra if isinstance(extra, dict) else None
        return {k: _walk(v, props.get(k, extra), int_re) for k, v in value.items()}
    return value


def _values(schema: dict, depth: int = 0) -> list[t.Any]:
    """Wire-like values for a schema: strings, lists of them, objects of its properties."""
    out: list[t.Any] = [*STRINGS, 5, None, [], {}, ["1", "x"], {"zz": "1"}]
    if depth > 3:
        return out
    for sub in (schema.get("items"), *schema.get("oneOf", ()), *schema.get("anyOf", ())):
        if isinstance(sub, dict):
            out += [[v, "1"] for v in _values(sub, depth + 1)[:30]]
    props = object_properties(schema)
    if props:
        for i, s in enumerate(STRINGS):
            out.append({name: STRINGS[(i + j) % len(STRINGS)] for j, name in enumerate(props)} | {"extra": s})
        for name, sub in props.items():
            out += [{name: v} for v in _values(sub, depth + 1)[:40]]
    return out


def _typed(value: t.Any) -> t.Any:
    """A value with every scalar's type made visible (True == 1 and 1 == 1.0 otherwise)."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


SCHEMAS = [(name, sub) for name, schema in _request_schemas() for sub in _subschemas(schema)]


@pytest.mark.parametrize("int_re", [INT_RE, CANONICAL_INT_RE], ids=["php-cast", "param-int"])
def test_compiled_coercion_equals_the_schema_walker(int_re: re.Pattern[str]) -> None:
    checked = 0
    for name, schema in SCHEMAS:
        for value in _values(schema):
            expected = _walk(value, schema, int_re)
            got = coerce(value, schema, int_re)
            assert _typed(got) == _typed(expected), (name, value)
            checked += 1
    assert checked > 5000


def test_coercion_returns_new_containers() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string"}}}
    value = {"a": "x"}
    out = coerce(value, schema)
    assert out == value and out is not value
    listed = {"type": "array", "items": {"type": "string"}}
    items = ["x"]
    assert coerce(items, listed) == items and coerce(items, listed) is not items


def test_cyclic_schema_coerces_as_deep_as_the_value() -> None:
    node: dict[str, t.Any] = {"type": "object", "properties": {"n": {"type": "integer"}}}
    node["properties"]["child"] = node  # a $ref cycle, as resolve_refs leaves it
    value = {"n": "1", "child": {"n": "2", "child": {"n": "x"}}}
    assert coerce(value, node) == _walk(value, node) == {"n": 1, "child": {"n": 2, "child": {"n": "x"}}}
