"""The compiled validity check in front of jsonschema never accepts what Connexion's validator refuses.

``nexsis_mock.middleware.validation.RequestValidator`` lets ``jsonschema_rs`` accept a value and
leaves every refusal to Connexion's Draft-4 request validator. That is only sound if the compiled
check is never laxer. These tests probe every request schema of the three specs (parameters and
bodies, and each of their sub-schemas) with valid values and with the values where two validators
are most likely to differ (null, bools as integers, 1.0, 64-bit limits, trailing newlines against
anchored patterns, wrong containers, extra and missing properties).
"""

from __future__ import annotations

import copy
import typing as t

import pytest
import yaml
from connexion.json_schema import resolve_refs
from jsonschema import ValidationError

from nexsis_mock.middleware.validation import RequestValidator, object_properties
from nexsis_openapi import load_spec

ADMIN = "mock/admin.yaml"

PROBES: list[t.Any] = [
    None, True, False, 0, 1, -1, 2, 1.0, 1.5, -0.0, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1, 2**70,
    "", "0", "1", "05", "+5", "1.5", "12\n", "1\n", "abc", "a b", "a/b", "x\x00", "\x7f", "é",
    "json", "xml", "2024-01-01", "2024-01-01T10:00:00Z", "2024-01-01 10:00", "2024-01-01T10:00:00Z\n",
    "1700000000", "true", [], [1], ["x"], [None], [[]], {}, {"x": 1}, {"id": 1},
]


def _request_schemas() -> list[tuple[str, dict]]:
    out = []
    specs = {"nexsis": load_spec("nexsis"), "moodle-ws": load_spec("moodle-ws")}
    with open(ADMIN, encoding="utf-8") as fh:
        specs["admin"] = yaml.safe_load(fh)
    for name, raw in specs.items():
        spec = resolve_refs(copy.deepcopy(raw))
        for path, item in spec["paths"].items():
            common = item.get("parameters", [])
            for method, op in item.items():
                if not isinstance(op, dict) or "responses" not in op:
                    continue
                where = f"{name} {method.upper()} {path}"
                for param in [*common, *op.get("parameters", [])]:
                    if "schema" in param:
                        out.append((f"{where} {param['in']} {param['name']}", param["schema"]))
                for media, content in op.get("requestBody", {}).get("content", {}).items():
                    if "schema" in content:
                        # As Connexion hands body schemas to validators: with the spec's components.
                        schema = {**content["schema"], "components": spec.get("components", {})}
                        out.append((f"{where} body {media}", schema))
    return out


def _subschemas(schema: t.Any) -> t.Iterator[dict]:
    if not isinstance(schema, dict):
        return
    yield schema
    for sub in schema.get("properties", {}).values():
        yield from _subschemas(sub)
    for key in ("items", "additionalProperties"):
        yield from _subschemas(schema.get(key))
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, ()):
            yield from _subschemas(sub)


def _types(schema: dict) -> set[str]:
    types = {schema["type"]} if "type" in schema else set()
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, ()):
            types |= _types(sub)
    return types


def _required(schema: dict) -> set[str]:
    names = set(schema.get("required", ()))
    for sub in schema.get("allOf", ()):
        names |= _required(sub)
    return names


def _sample(schema: dict, depth: int = 0) -> t.Any:
    """A value the reference validator accepts, built from the schema (None when none is found)."""
    slow = RequestValidator(schema).slow
    candidates: list[t.Any] = []
    if "enum" in schema:
        candidates += [v for v in schema["enum"] if v is not None]
    types = _types(schema)
    if depth < 6 and "object" in types:
        props = object_properties(schema)
        full = {k: _sample(v, depth + 1) for k, v in props.items()}
        candidates += [{k: full[k] for k in _required(schema) if k in full}, full]
    if depth < 6 and "array" in types:
        items = schema.get("items") or next((s.get("items") for s in schema.get("anyOf", ())
                                              if s.get("items")), None) or {}
        candidates.append([_sample(items, depth + 1)])
    candidates += [p for p in PROBES if not isinstance(p, dict | list)]
    return next((c for c in candidates if slow.is_valid(c)), None)


def _variants(schema: dict, sample: t.Any) -> list[t.Any]:
    values = list(PROBES)
    if sample is not None:
        values.append(sample)
        values.append([sample])
    if isinstance(sample, dict):
        for key in list(sample):
            values.append({k: v for k, v in sample.items() if k != key})  # one property missing
            for probe in PROBES:
                values.append({**sample, key: probe})  # one property wrong (or right)
        values.append({**sample, "unexpected": "1"})
    return values


SCHEMAS = _request_schemas()


def test_every_api_has_request_schemas() -> None:
    apis = {where.split()[0] for where, _ in SCHEMAS}
    assert apis == {"nexsis", "moodle-ws", "admin"}
    assert sum(" body " in where for where, _ in SCHEMAS) >= 35


@pytest.mark.parametrize(("where", "schema"), SCHEMAS, ids=[w for w, _ in SCHEMAS])
def test_compiled_check_is_never_laxer(where: str, schema: dict) -> None:
    assert RequestValidator(schema).fast is not None, f"{where}: the compiled check is not in use"
    fast_accepted = 0
    for sub in _subschemas(schema):
        validator = RequestValidator(sub)
        for value in _variants(sub, _sample(sub)):
            if validator.is_fast_valid(value):
                fast_accepted += 1
                assert validator.slow.is_valid(value), (where, sub, value)
            # The wrapper's verdict is always the reference validator's.
            try:
                validator.validate(value)
                accepted = True
            except ValidationError:
                accepted = False
            assert accepted == validator.slow.is_valid(value), (where, sub, value)
    # The compiled check is really in use for this schema (else the test above proves nothing).
    assert fast_accepted, where


def test_refusals_keep_connexions_message() -> None:
    schema = {"type": "object", "properties": {"programid": {"type": "integer"}},
              "required": ["programid"], "additionalProperties": False}
    validator = RequestValidator(schema)
    with pytest.raises(ValidationError) as exc:
        validator.validate({"programid": "1.5"})
    assert exc.value.message == "'1.5' is not of type 'integer'"
    with pytest.raises(ValidationError, match="is a required property"):
        validator.validate({})
    # nullable (OpenAPI) is unknown to the compiled check: the reference validator accepts null.
    RequestValidator({"type": "integer", "nullable": True}).validate(None)
    # A value the compiled check cannot represent is decided by the reference validator.
    with pytest.raises(ValidationError):
        RequestValidator({"type": "integer", "maximum": 10}).validate(2**70)
    RequestValidator({"type": "integer"}).validate(2**70)
