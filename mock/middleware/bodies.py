"""Request bodies: content type, decoding (JSON with orjson, forms with PHP's codec) and the schema.

The rules are Connexion 3's for request bodies, kept exactly because clients see their messages
(tests/data/golden pins them): the media type comes from ``Content-Type`` (without one, the
operation's first), a type the operation does not take is a 415, an empty body is the schema's
default or "RequestBody is required", and a body that fails its schema is a 400 with the
validator's message and path. Unlike Connexion's validators nothing here is stdlib JSON or
Starlette's form parser: malformed input of any kind is a 400, never a 500.
"""

from __future__ import annotations

import functools
import typing as t

from connexion.exceptions import BadRequestProblem, ExtraParameterProblem, UnsupportedMediaTypeProblem
from connexion.json_schema import format_error_with_path
from jsonschema import ValidationError

from nexsis_openapi import codec

from ..endpoints import Body, Endpoint
from .validation import RequestValidator, coerce, decode_json, object_properties

__all__ = ["NO_BODY", "BodyPlan", "check_body", "media_type", "parse_body", "plan", "validate_form"]

#: ``parse_body``'s answer when the handler sees no body.
NO_BODY = _NO_BODY = object()


def media_type(raw: bytes | None, endpoint: Endpoint) -> tuple[str, str]:
    """(mime type, charset) of a (first) Content-Type as Connexion reads them: the operation's
    first type when none is sent."""
    content_type = None if raw is None else raw.decode("latin-1")
    mime, encoding = None, None
    if content_type is not None:
        if ";" in content_type:
            mime, parameters = content_type.split(";", maxsplit=1)
            for parameter in parameters.split(";"):
                if parameter.startswith("charset="):
                    encoding = parameter[len("charset="):]
        else:
            mime = content_type
    if mime is None:
        mime = endpoint.body.consumes[0] if endpoint.body and endpoint.body.consumes else \
            "application/octet-stream"
    return mime, encoding or "utf-8"


def check_media_type(endpoint: Endpoint, mime: str) -> None:
    """415 for a type the operation does not take (operations without a body take anything)."""
    body = endpoint.body
    if body is None or not body.consumes:
        return
    if mime.lower() not in _lowered(body.consumes):
        raise UnsupportedMediaTypeProblem(
            detail=f"Invalid Content-type ({mime}), expected {list(body.consumes)}")


@functools.lru_cache(maxsize=64)
def _lowered(types: tuple[str, ...]) -> frozenset[str]:
    return frozenset(c.lower() for c in types)


class BodyPlan:
    """What ``parse_body`` decides from the operation and the ``Content-Type`` alone.

    Clients send the same type to the same operation call after call, so the media type, its
    schema, the validator and the coercer are looked up once per (operation, type) pair
    (``plan``) instead of once per request; only reading and checking the body is per request.
    """

    __slots__ = ("body", "default", "endpoint", "is_json", "schema", "validator")

    def __init__(self, endpoint: Endpoint, body: Body, schema: dict[str, t.Any], is_json: bool) -> None:
        self.endpoint = endpoint
        self.body = body
        self.schema = schema
        self.is_json = is_json
        self.default = schema.get("default")
        self.validator = endpoint.validator(schema)

    def reads(self, declared: bool) -> bool:
        """Whether the body must be read: without a declared length (no ``Content-Length``, or 0)
        the schema's default stands in for it, as Connexion does; only when there is no default
        is the (streamed) body read anyway, unless a body is required ("RequestBody is required")."""
        if declared or self.default is None:
            if not declared and self.body.required:
                raise BadRequestProblem("RequestBody is required")
            return True
        return False

    def value(self, raw: bytes | None) -> t.Any:
        """The decoded, schema-coerced, validated body: ``raw`` as read, or None for the default."""
        if raw is None:
            value = self.default
        elif self.is_json:
            value = decode_json(raw) if raw.strip() else None
        else:
            value = coerce(codec.decode(raw) if raw else {}, self.schema, self.endpoint.parser.int_re)
        if value is None and self.body.nullable:
            return None
        if self.is_json:
            if value is None:
                raise BadRequestProblem("Request body must not be empty")
            _check(self.validator, value)
        else:
            if not isinstance(value, dict):
                raise BadRequestProblem("Parsed body must be a mapping")
            _check(self.validator, value)
        return value


#: (operation, raw Content-Type) -> its plan, or None when the body is not for the handler (no
#: schema, or a type without a validator: as Connexion, the body is not read). Bounded: a client
#: inventing types cannot grow it.
_PLANS: dict[tuple[Endpoint, bytes | None], BodyPlan | None] = {}
_MAX_PLANS = 1024


def plan(endpoint: Endpoint, raw_type: bytes | None) -> BodyPlan | None:
    """The body plan for a (first) ``Content-Type`` header; raises the 415 of ``check_media_type``."""
    key = (endpoint, raw_type)
    try:
        return _PLANS[key]
    except KeyError:
        pass
    mime, _ = media_type(raw_type, endpoint)
    check_media_type(endpoint, mime)
    body = endpoint.body
    mime = mime.lower()
    schema = body.schema(mime) if body else None
    is_json = mime.endswith("json")
    found = None
    if body is not None and schema and (is_json or mime == "application/x-www-form-urlencoded"):
        found = BodyPlan(endpoint, body, schema, is_json)
    if len(_PLANS) >= _MAX_PLANS:
        _PLANS.clear()
    _PLANS[key] = found
    return found


async def parse_body(endpoint: Endpoint, mime: str, declared: bool,
                     read: t.Callable[[], t.Awaitable[bytes]]) -> t.Any:
    """The decoded, schema-coerced, validated body (``check_body`` says whether there is one).

    Without a declared length (no ``Content-Length``, or 0) the schema's default stands in for the
    body, as Connexion does; only when there is no default is the (streamed) body read anyway.
    (``mime`` is a checked media type; the pipeline goes through ``plan`` directly.)
    """
    found = plan(endpoint, mime.encode("latin-1"))
    if found is None:
        return _NO_BODY
    return found.value(await read() if found.reads(declared) else None)


def validate_form(endpoint: Endpoint, schema: dict[str, t.Any], value: t.Any, *, strict: bool) -> None:
    """A decoded form against its schema; with ``strict``, unknown fields where the schema closes it."""
    if not isinstance(value, dict):
        raise BadRequestProblem("Parsed body must be a mapping")
    if strict and schema.get("additionalProperties") is False:
        extra = set(value) - set(object_properties(schema))
        if extra:
            raise ExtraParameterProblem(param_type="formData", extra_params=sorted(extra))
    _validate(endpoint, schema, value)


def _validate(endpoint: Endpoint, schema: dict[str, t.Any], value: t.Any) -> None:
    _check(endpoint.validator(schema), value)


def _check(validator: RequestValidator, value: t.Any) -> None:
    try:
        validator.validate(value)
    except ValidationError as exc:
        raise BadRequestProblem(detail=f"{exc.message}{format_error_with_path(exception=exc)}") from None


def check_body(value: t.Any) -> bool:
    """True when ``parse_body`` produced a body the handler should see."""
    return value is not _NO_BODY
