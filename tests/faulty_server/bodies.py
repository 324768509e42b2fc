"""A NexSIS write's body, read and checked against its spec schema as the mock checks it.

The faulty server's newer operations (enrolments, program allocations, groups) refuse a malformed
body with 400 and an unknown media type with 415, so the suite's negative cases are refused there
as on the mock and only the planted faults differ.
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nexsis_openapi import codec, load_spec


def _err(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


@functools.cache
def _validator(schema_name: str) -> jsonschema.Draft4Validator:
    from nexsis_contracts.wire import _openapi_to_jsonschema

    spec = load_spec("nexsis")

    def resolve(ref: str) -> Any:
        node: Any = spec
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return node

    schema = _openapi_to_jsonschema(spec["components"]["schemas"][schema_name], resolve)
    return jsonschema.Draft4Validator(schema)


async def read(request: Request, schema_name: str) -> dict[str, Any] | Response:
    """The body as an object (`{}` when absent or null), or the refusal to answer."""
    raw = await request.body()
    if not raw:
        return {}
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    try:
        if ctype == "application/json":
            body = json.loads(raw)
        elif ctype == "application/x-www-form-urlencoded":
            body = codec.decode(raw)
        else:
            return _err(415, "unsupported_media_type", "Send JSON or form data.")
    except (ValueError, codec.CodecError):
        return _err(400, "invalid_body", "The body is not JSON or form data.")
    if body is None:
        return {}
    if not isinstance(body, dict) or not _validator(schema_name).is_valid(body):
        return _err(400, "invalid_body", f"The body is not a valid {schema_name}.")
    return body
