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

from ..endpoints import Endpoint
from .validation import coerce, decode_json, object_properties

__all__ = ["check_body", "media_type", "parse_body", "validate_form"]

_NO_BODY = object()


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


async def parse_body(endpoint: Endpoint, mime: str, declared: bool,
                     read: t.Callable[[], t.Awaitable[bytes]]) -> t.Any:
    """The decoded, schema-coerced, validated body (``check_body`` says whether there is one).

    Without a declared length (no ``Content-Length``, or 0) the schema's default stands in for the
    body, as Connexion does; only when there is no default is the (streamed) body read anyway.
    """
    body = endpoint.body
    mime = mime.lower()
    schema = body.schema(mime) if body else None
    if body is None or not schema:
        return _NO_BODY
    is_json = mime.endswith("json")
    if not is_json and mime != "application/x-www-form-urlencoded":
        return _NO_BODY  # no validator for that type (as Connexion: the body is not read)
    default = None if declared else schema.get("default")
    if not declared and default is None and body.required:
        raise BadRequestProblem("RequestBody is required")
    if default is not None:
        value = default
    else:
        raw = await read()
        if is_json:
            value = decode_json(raw) if raw.strip() else None
        else:
            value = coerce(codec.decode(raw) if raw else {}, schema, endpoint.parser.int_re)
    if value is None and body.nullable:
        return None
    if is_json:
        if value is None:
            raise BadRequestProblem("Request body must not be empty")
        _validate(endpoint, schema, value)
    else:
        validate_form(endpoint, schema, value, strict=False)
    return value


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
    try:
        endpoint.validator(schema).validate(value)
    except ValidationError as exc:
        raise BadRequestProblem(detail=f"{exc.message}{format_error_with_path(exception=exc)}") from None


def check_body(value: t.Any) -> bool:
    """True when ``parse_body`` produced a body the handler should see."""
    return value is not _NO_BODY
