"""Response validation (``create_app(validate_responses=True)``, what the tests run).

An answer the spec does not describe for its operation and status is a bug of the mock, so it
is replaced by a 500 ``internal_error`` naming the rule it broke, and never reaches a client as
if it were a conforming answer. Only documented JSON bodies are checked; the schema's validator
is compiled once per schema.
"""

from __future__ import annotations

import typing as t

from connexion.json_schema import Draft4ResponseValidator, format_error_with_path
from jsonschema import Draft4Validator, ValidationError

from ..endpoints import Endpoint

__all__ = ["nonconforming"]

_validators: dict[int, tuple[dict[str, t.Any], t.Any]] = {}


def _validator(schema: dict[str, t.Any]) -> t.Any:
    hit = _validators.get(id(schema))
    if hit is None or hit[0] is not schema:
        hit = _validators[id(schema)] = (
            schema, Draft4ResponseValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER))
    return hit[1]


def nonconforming(endpoint: Endpoint, status: int, body: t.Any) -> str | None:
    """Why the answer breaks the spec, or None when it conforms (or the spec has no schema for it)."""
    response = endpoint.responses.get(str(status)) or endpoint.responses.get("default")
    if response is None:  # as Connexion: an undocumented status has nothing to check against
        return None
    schema = (response.get("content") or {}).get("application/json", {}).get("schema")
    if not schema or body is None:
        return None
    try:
        _validator(schema).validate(body)
    except ValidationError as exc:
        return f"Response body does not conform to specification. {exc.message}" \
               f"{format_error_with_path(exception=exc)}"
    return None
