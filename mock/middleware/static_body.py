"""A response body built from the response's schema, for ``Prefer: code=N`` without an example.

Prism's static mode: when the spec documents a status with content but gives no example, the
answer is a body made from the schema alone, the same every time. The rules, after Prism's: a
schema's ``example`` (or ``default``, ``enum[0]``) first; an object gets all its properties; an
array one item (or ``minItems``); a string with a ``pattern`` or a checked ``format`` the first
of a few generic candidates that fits (a digit string, an ISO date-time, a date, an e-mail
address, a URL, a UUID), else ``"string"`` sized to ``minLength``/``maxLength``; an integer or
number its ``minimum`` (else ``maximum`` when that is below 0, else 0; a number as a float); a
boolean ``false``; ``anyOf``/``oneOf`` the first branch whose value the whole alternative accepts
(``IntLike``: the integer 0); ``allOf`` its branches merged.

Nothing is copied by hand from a schema: the body is derived from the endpoint table's (resolved)
responses, once per operation and status, and validated at once with the validator that checks
the mock's own answers (``conformance.nonconforming``). A body that does not validate is a bug of
this builder, reported as ``StaticBodyError`` with the rule it broke (the caller answers 422 with
that reason), never sent.
"""

from __future__ import annotations

import re
import typing as t

from connexion.json_schema import Draft4ResponseValidator
from jsonschema import Draft4Validator

from ..endpoints import Endpoint
from .conformance import nonconforming

__all__ = ["StaticBodyError", "static_body"]

#: Generic strings tried, in order, against a ``pattern`` or a ``format`` (no schema is copied: the
#: pattern or the format checker decides).
_CANDIDATES = ("0", "1970-01-01T00:00:00Z", "1970-01-01T00:00:00", "1970-01-01", "string", "x",
               "user@example.com", "https://example.com/", "00000000-0000-0000-0000-000000000000")
_FORMATS = Draft4Validator.FORMAT_CHECKER
_MAX_DEPTH = 32  # a recursive schema (refs resolved into cycles) ends here, as an error

_built: dict[tuple[int, int], tuple[Endpoint, t.Any, str | None]] = {}


class StaticBodyError(Exception):
    """The schema gives no body this builder can make, or the body made does not validate."""


def static_body(endpoint: Endpoint, status: int) -> t.Any:
    """The body for ``status`` built from its response schema (None: no schema, an empty body).

    Built and validated once per endpoint and status; raises ``StaticBodyError`` (every time)
    when that failed.
    """
    key = (id(endpoint), status)
    hit = _built.get(key)
    if hit is None or hit[0] is not endpoint:
        body, problem = _build_checked(endpoint, status)
        hit = _built[key] = (endpoint, body, problem)
    if hit[2] is not None:
        raise StaticBodyError(hit[2])
    return hit[1]


def _build_checked(endpoint: Endpoint, status: int) -> tuple[t.Any, str | None]:
    response = endpoint.responses.get(str(status)) or {}
    media = (response.get("content") or {}).get("application/json") or {}
    schema = media.get("schema")
    if not schema:
        return None, None
    try:
        body = _value(schema, 0)
    except StaticBodyError as exc:
        return None, f"no body can be built from the schema of {status}: {exc}"
    problem = nonconforming(endpoint, status, body)
    if problem is not None:
        return None, f"the body built from the schema of {status} does not validate: {problem}"
    return body, None


def _value(schema: t.Any, depth: int) -> t.Any:
    if depth > _MAX_DEPTH:
        raise StaticBodyError(f"schema nested deeper than {_MAX_DEPTH} levels (recursive?)")
    if not isinstance(schema, dict):
        raise StaticBodyError(f"not a schema: {schema!r:.60}")
    if "$ref" in schema:
        raise StaticBodyError(f"unresolved $ref {schema['$ref']!r:.80}")
    for key in ("example", "default"):
        if key in schema:
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if schema.get(key):
            return _alternative(schema, schema[key], depth)
    if schema.get("allOf"):
        parts = [_value(branch, depth + 1) for branch in schema["allOf"]]
        if all(isinstance(p, dict) for p in parts):
            return {k: v for p in parts for k, v in p.items()}
        return parts[0]
    kind = schema.get("type")
    if kind is None:
        kind = "object" if "properties" in schema else "array" if "items" in schema else None
    if kind == "object":
        return {name: _value(sub, depth + 1) for name, sub in (schema.get("properties") or {}).items()}
    if kind == "array":
        item = _value(schema.get("items") or {}, depth + 1)
        return [item] * max(1, int(schema.get("minItems", 1)))
    if kind == "string":
        return _string(schema)
    if kind in ("integer", "number"):
        return _number(schema, kind)
    if kind == "boolean":
        return False
    if kind is None:  # any value: the smallest JSON object
        return {}
    raise StaticBodyError(f"unknown type {kind!r:.40}")


def _alternative(schema: dict[str, t.Any], branches: list[t.Any], depth: int) -> t.Any:
    """The first branch's value the whole alternative (with its siblings) accepts."""
    whole = Draft4ResponseValidator(schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    first: t.Any = None
    reasons = []
    for i, branch in enumerate(branches):
        try:
            value = _value(branch, depth + 1)
        except StaticBodyError as exc:
            reasons.append(str(exc))
            continue
        if whole.is_valid(value):
            return value
        if i == 0:
            first = value
    if first is None and reasons:
        raise StaticBodyError("; ".join(reasons))
    return first  # invalid: the final validation says why


def _string(schema: dict[str, t.Any]) -> str:
    low, high = int(schema.get("minLength", 0)), schema.get("maxLength")
    pattern, form = schema.get("pattern"), schema.get("format")
    if pattern is None and (form is None or form not in _FORMATS.checkers):
        text = "string".ljust(low, "x")
        return text if high is None else text[: int(high)]
    try:
        regex = re.compile(pattern or "")
    except re.error as exc:
        raise StaticBodyError(f"pattern {pattern!r:.60} does not compile: {exc}") from None
    for candidate in _CANDIDATES:
        if regex.search(candidate) and low <= len(candidate) and (high is None or len(candidate) <= high) \
                and (form is None or _FORMATS.conforms(candidate, form)):
            return candidate
    wanted = f"the pattern {pattern!r:.80}" if pattern is not None else f"the format {form!r:.40}"
    raise StaticBodyError(f"no generic value matches {wanted}")


def _number(schema: dict[str, t.Any], kind: str) -> int | float:
    step = 1 if kind == "integer" else 0.5
    if "minimum" in schema:
        value = schema["minimum"] + (step if schema.get("exclusiveMinimum") else 0)
    elif "maximum" in schema and schema["maximum"] < 0:
        value = schema["maximum"] - (step if schema.get("exclusiveMaximum") else 0)
    else:
        value = 0
    return int(value) if kind == "integer" else float(value)  # 0.0 is no integer to a oneOf
