"""What a form body means once it is on the wire, and whether it is still valid there.

With PHP bracket notation every value is a string, and `None` disappears. A "negative" case whose
only defect was a type (an integer where a string is expected, `null` for an optional field) arrives
at the server as a perfectly valid request. Checks that expect a rejection must judge the request
that was sent, not the one that was generated, or they raise false alarms against a correct server.
Coercion here is deliberately lenient (PHP numeric strings, `0`/`1`/`true`/`false`): being too
generous only means fewer negative assertions, never a false one.
"""

from __future__ import annotations

import re
from typing import Any

import jsonschema

from nexsis_openapi import codec
from nexsis_openapi.moodle import SERVER_FIELDS

#: Fields the suite itself puts into every WS body (never generated).
WS_CONTROL_FIELDS = SERVER_FIELDS

_INTEGER = re.compile(r"^[+-]?\d+$")
_NUMERIC = re.compile(r"^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$")


def _types(schema: dict[str, Any]) -> list[str]:
    t = schema.get("type")
    if isinstance(t, list):
        return t
    if t:
        return [t]
    if "properties" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    return []


def coerce(value: Any, schema: dict[str, Any], resolve: Any = None) -> list[Any]:
    """Every reading of a wire value that the schema might accept (PHP-style), as candidates."""
    if resolve is not None and "$ref" in schema:
        schema = resolve(schema["$ref"])
    for key in ("oneOf", "anyOf", "allOf"):
        if key in schema:
            out: list[Any] = []
            for sub in schema[key]:
                out.extend(coerce(value, sub, resolve))
            return out or [value]
    candidates: list[Any] = [value]
    types = _types(schema)
    if isinstance(value, str):
        if ("integer" in types or "number" in types) and _NUMERIC.match(value):
            text = value.strip()
            if _INTEGER.match(text):
                candidates.append(int(text))
            else:
                number = float(text)
                if number.is_integer():
                    candidates.append(int(number))
                candidates.append(number)
        if "boolean" in types and value.strip().lower() in ("0", "1", "true", "false"):
            candidates.append(value.strip().lower() in ("1", "true"))
        if "null" in types or schema.get("nullable"):
            candidates.append(None)
    elif isinstance(value, dict):
        if "object" in types or not types:
            props = schema.get("properties", {})
            extra = schema.get("additionalProperties")
            coerced: dict[str, Any] = {}
            for k, v in value.items():
                sub = props.get(k) or (extra if isinstance(extra, dict) else {})
                coerced[k] = _best(v, sub, resolve)
            candidates.append(coerced)
        if "array" in types:
            items = schema.get("items", {})
            candidates.append([_best(v, items, resolve) for v in value.values()])
    elif isinstance(value, list) and ("array" in types or not types):
        items = schema.get("items", {})
        candidates.append([_best(v, items, resolve) for v in value])
    return candidates


def _best(value: Any, schema: dict[str, Any], resolve: Any) -> Any:
    """The first candidate that the schema accepts, else the most coerced one.

    Falling back to the most coerced reading keeps one bad array item from un-coercing its valid
    siblings, which would make the whole body look invalid.
    """
    if resolve is not None and "$ref" in schema:
        schema = resolve(schema["$ref"])
    candidates = coerce(value, schema, resolve)
    for candidate in reversed(candidates):
        if _valid(candidate, schema, resolve):
            return candidate
    return candidates[-1]


def _valid(instance: Any, schema: dict[str, Any], resolve: Any) -> bool:
    try:
        validator = jsonschema.Draft4Validator(_openapi_to_jsonschema(schema, resolve))
        return validator.is_valid(instance)
    except jsonschema.exceptions.SchemaError:
        return True  # cannot judge: assume valid, i.e. assert nothing


def _openapi_to_jsonschema(schema: Any, resolve: Any) -> Any:
    """Inline `$ref`s and turn OpenAPI 3.0 `nullable` into JSON Schema types."""
    if isinstance(schema, dict):
        if "$ref" in schema and resolve is not None:
            return _openapi_to_jsonschema(resolve(schema["$ref"]), resolve)
        out = {
            k: _openapi_to_jsonschema(v, resolve)
            for k, v in schema.items()
            if k
            not in (
                "nullable",
                "example",
                "examples",
                "xml",
                "discriminator",
                "readOnly",
                "writeOnly",
                "deprecated",
                "externalDocs",
            )
            and not k.startswith("x-")
        }
        if schema.get("nullable"):
            t = out.get("type")
            if isinstance(t, str):
                out["type"] = [t, "null"]
            elif "enum" in out:
                out["enum"] = [*out["enum"], None]
        return out
    if isinstance(schema, list):
        return [_openapi_to_jsonschema(v, resolve) for v in schema]
    return schema


def form_is_valid_on_wire(
    body: bytes | str | None, schema: dict[str, Any], resolve: Any, ignore: tuple[str, ...] = ()
) -> bool:
    """Whether the form body as sent satisfies `schema` under some PHP-style reading of its strings."""
    try:
        data = codec.decode(body or b"")
    except codec.CodecError:
        return False
    schema = _openapi_to_jsonschema(schema, resolve)
    if ignore:
        data = {k: v for k, v in data.items() if k not in ignore}
        schema = dict(schema)
        schema["properties"] = {k: v for k, v in schema.get("properties", {}).items() if k not in ignore}
        schema["required"] = [r for r in schema.get("required", []) if r not in ignore]
        if not schema["required"]:
            del schema["required"]
    return _valid(_best(data, schema, None), schema, None)
