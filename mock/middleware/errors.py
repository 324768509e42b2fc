"""Error answers in the NexSIS form, and the mapping of the Connexion host's problems to it.

NexSIS clients expect ``{"error", "message"}`` JSON with the HTTP status (the vendor document
leaves errors undescribed; openapi/ERRATA.md). The pipeline writes those itself; the Connexion
host (admin API, Swagger UI, paths outside both APIs) raises problem exceptions, which
``install`` maps to the same form. What a client should not rely on (a validation detail that
Moodle itself would hide) travels in the ``X-Mock-Detail`` header.
"""

from __future__ import annotations

import logging
import typing as t

from connexion.exceptions import ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from nexsis_openapi import codec
from nexsis_openapi.redact import redact_text

from .limits import LimitExceeded
from .render import NEXSIS_JSON, dumps

__all__ = ["ERROR_CODES", "detail_header", "install", "nexsis_error"]

log = logging.getLogger("nexsis_mock")

#: NexSIS error codes by status.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    500: "internal_error",
}


def detail_header(detail: str, secrets: t.Iterable[str] = ()) -> dict[str, str]:
    """``X-Mock-Detail``: the reason, with every token masked (token-named parameters in any
    spelling, and ``secrets``: the site's tokens and the request's own credential, wherever a
    message quotes them, e.g. a token sent as another parameter's value)."""
    text = redact_text(" ".join(detail.split()), secrets)[:300]
    # Header values must be printable ASCII: a detail quoting a fuzzed name (`a\x11b`) must not
    # turn an error answer into a dropped connection.
    return {"X-Mock-Detail": "".join(c if " " <= c <= "~" else "?" for c in text)}


def nexsis_error(status: int, message: str, headers: dict[str, str] | None = None) -> ConnexionResponse:
    body = {"error": ERROR_CODES.get(status, "error"), "message": message}
    return ConnexionResponse(status_code=status, mimetype="application/json", content_type=NEXSIS_JSON,
                             body=dumps(body), headers=headers or {})


def _status_and_detail(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, ProblemException):
        return exc.status, str(exc.detail or "")
    if isinstance(exc, HTTPException):
        return exc.status_code, str(exc.detail or "")
    if isinstance(exc, LimitExceeded):
        return exc.status, exc.message
    if isinstance(exc, codec.CodecError):
        return 400, str(exc)
    return 500, str(exc)


async def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Every error of the Connexion host as NexSIS-style JSON (async: no thread hop per 4xx)."""
    status, detail = _status_and_detail(exc)
    if status >= 500:
        log.error("mock error on %s: %r", request.scope.get("path"), exc, exc_info=exc)
    headers = dict(exc.headers) if isinstance(exc, HTTPException) and exc.headers else {}
    return nexsis_error(status, detail or ERROR_CODES.get(status, "error"), headers)


def install(app: t.Any) -> None:
    """Register the mapping on a Connexion app for every exception the stack can raise."""
    for exc_class in (ProblemException, HTTPException, LimitExceeded, codec.CodecError, Exception):
        app.add_error_handler(exc_class, handle)
