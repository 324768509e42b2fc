"""Validates live answers against the operation of the spec that describes them.

The acceptance tests talk to the mock over the wire, so they check each answer against the spec
themselves rather than trusting the server's own response validation: a mock that validates its
answers with the same code that produced them would never catch its own drift.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

import httpx
import referencing
import referencing.jsonschema
from openapi_schema_validator import OAS30ReadValidator

from nexsis_openapi import load_spec

_URNS = {"nexsis": "urn:nexsis-spec", "moodle-ws": "urn:moodle-ws-spec"}


def _pointer_escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


@functools.cache
def registry() -> referencing.Registry:
    reg: referencing.Registry = referencing.Registry()
    for name, urn in _URNS.items():
        resource = referencing.Resource.from_contents(
            load_spec(name), default_specification=referencing.jsonschema.DRAFT4
        )
        reg = reg.with_resource(urn, resource)
    return reg


def _deref(spec: dict[str, Any], node: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
    """Follow local `$ref`s of response objects; returns the node and its JSON pointer if moved."""
    pointer = None
    while isinstance(node, dict) and "$ref" in node:
        ref = node["$ref"]
        assert ref.startswith("#/"), f"only local refs are expected in the specs, got {ref}"
        pointer = ref[1:]
        node = spec
        for part in ref[2:].split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]
    return node, pointer


@dataclass(frozen=True)
class Operation:
    api: str
    path: str
    method: str
    operation_id: str
    pattern: re.Pattern[str]


@functools.cache
def _operations(api: str) -> dict[str, Operation]:
    spec = load_spec(api)
    ops: dict[str, Operation] = {}
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in {"get", "put", "post", "delete", "patch", "head", "options"}:
                continue
            wire = path.split("#", 1)[0]
            regex = "^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(wire)) + "$"
            ops[op["operationId"]] = Operation(api, path, method, op["operationId"], re.compile(regex))
    return ops


def operation(api: str, operation_id: str) -> Operation:
    """The spec operation by operationId (for moodle-ws the operationId is the wsfunction)."""
    try:
        return _operations(api)[operation_id]
    except KeyError:
        raise AssertionError(f"{api} spec has no operation {operation_id!r}") from None


def response_schema_ref(api: str, operation_id: str, status: int, content_type: str) -> str | None:
    """`urn#pointer` of the schema the spec gives for this answer; None when it declares no body.

    Raises AssertionError when the spec does not document the status at all: an undocumented
    status is itself a contract violation.
    """
    op = operation(api, operation_id)
    spec = load_spec(api)
    responses = spec["paths"][op.path][op.method]["responses"]
    key = next((k for k in (str(status), f"{str(status)[0]}XX", "default") if k in responses), None)
    assert key is not None, f"{operation_id}: status {status} not documented (has {sorted(responses)})"
    base = "/paths/" + _pointer_escape(op.path) + "/" + op.method + "/responses/" + _pointer_escape(key)
    response, moved = _deref(spec, responses[key])
    if moved:
        base = moved
    content = response.get("content") or {}
    if not content:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    chosen = next((m for m in content if m.lower() == media), None)
    if chosen is None:
        chosen = next((m for m in content if m.split("/")[0] + "/*" == m and media.startswith(m[:-1])), None)
    assert chosen is not None, f"{operation_id} {status}: content type {media!r} not in {sorted(content)}"
    if "schema" not in content[chosen]:
        return None
    return _URNS[api] + "#" + base + "/content/" + _pointer_escape(chosen) + "/schema"


def validate_body(api: str, operation_id: str, status: int, content_type: str, body: Any) -> None:
    """Assert that a decoded JSON body matches the spec; the message names the failing part."""
    ref = response_schema_ref(api, operation_id, status, content_type)
    if ref is None:
        return
    validator = OAS30ReadValidator({"$ref": ref}, registry=registry())
    errors = sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        first = errors[0]
        raise AssertionError(
            f"{api}:{operation_id} HTTP {status}: body does not match the spec at "
            f"/{'/'.join(map(str, first.absolute_path))}: {first.message[:300]} "
            f"({len(errors)} error(s)); body={str(body)[:400]}"
        )


def validate_response(api: str, operation_id: str, response: httpx.Response) -> Any:
    """Validate an httpx answer against the spec and return its decoded JSON (or None if empty)."""
    ctype = response.headers.get("content-type", "")
    if not response.content:
        ref = response_schema_ref(api, operation_id, response.status_code, ctype or "application/json")
        # An empty body is fine only where the spec declares none.
        assert ref is None, f"{operation_id}: empty {response.status_code} body, spec expects {ref}"
        return None
    assert ctype.split(";")[0].strip().endswith("json"), (
        f"{operation_id}: content-type {ctype!r}, body {response.text[:200]!r}"
    )
    body = response.json()
    validate_body(api, operation_id, response.status_code, ctype, body)
    return body
