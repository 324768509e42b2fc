"""Connexion's problems answered as the real systems answer them.

Connexion raises problem+json exceptions (400 bad request, 401 no/invalid credentials, 415
unsupported media type, 404/405 from the router); a NexSIS client expects ``{"error", "message"}``
JSON with the same status, and a Moodle client expects HTTP 200 with the exception envelope.
The detail that Moodle would hide (it prints only "Invalid parameter value detected") travels in
the ``X-Mock-Detail`` header, so the body stays byte-for-byte what a real site sends.
"""

from __future__ import annotations

import functools
import logging
import re
import typing as t

from connexion.exceptions import OAuthProblem, ProblemException
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from starlette.exceptions import HTTPException

from nexsis_openapi import codec, load_spec
from nexsis_openapi.redact import redact_text

from .dispatch import SCOPE_WS, dumps
from .limits import LimitExceeded
from .moodle import INVALID_PARAMETER, INVALID_RECORD, INVALID_TOKEN, render

__all__ = ["ERROR_CODES", "install", "nexsis_error", "ws_error"]

log = logging.getLogger("nexsis_mock")

#: NexSIS error codes by status (the vendor document leaves errors undescribed; see README).
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


def detail_header(detail: str) -> dict[str, str]:
    text = redact_text(" ".join(detail.split()))[:300]
    # Header values must be printable ASCII: a detail quoting a fuzzed name (`a\x11b`) must not
    # turn an error answer into a dropped connection.
    return {"X-Mock-Detail": "".join(c if " " <= c <= "~" else "?" for c in text)}


def nexsis_error(status: int, message: str, headers: dict[str, str] | None = None) -> ConnexionResponse:
    body = {"error": ERROR_CODES.get(status, "error"), "message": message}
    return ConnexionResponse(status_code=status, mimetype="application/json",
                             content_type="application/json; charset=utf-8",
                             body=dumps(body), headers=headers or {})


def ws_error(envelope: dict[str, t.Any], fmt: str, detail: str | None = None) -> ConnexionResponse:
    body, headers = render(envelope, fmt)
    headers = {**headers, **(detail_header(detail) if detail else {})}
    return ConnexionResponse(status_code=200, mimetype=headers["Content-Type"].split(";")[0],
                             content_type=headers["Content-Type"], body=body, headers=headers)


def _ws_envelope(status: int, exc: Exception) -> dict[str, t.Any]:
    if isinstance(exc, OAuthProblem) or status == 401:
        return INVALID_TOKEN
    if status == 404:
        return INVALID_RECORD
    return INVALID_PARAMETER


def _detail(exc: Exception) -> str:
    if isinstance(exc, ProblemException | HTTPException):
        return str(exc.detail or "")
    if isinstance(exc, LimitExceeded):
        return exc.message
    return str(exc)


def _status(exc: Exception) -> int:
    if isinstance(exc, ProblemException):
        return exc.status
    if isinstance(exc, HTTPException):
        return exc.status_code
    if isinstance(exc, LimitExceeded):
        return exc.status
    if isinstance(exc, codec.CodecError):
        return 400
    return 500


_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
_NEXSIS_PREFIX = "/enrol/nexsis/api/index.php"


@functools.cache
def _nexsis_routes() -> tuple[tuple[re.Pattern[str], str], ...]:
    """Each NexSIS path template as a regex with its methods, for the ``Allow`` header.

    The router registers one route per operation, so its own 405 names only the methods of the
    first route it tried (``OPTIONS /user/x`` said ``HEAD, GET`` where PUT and DELETE exist too).
    """
    routes = []
    for template, item in load_spec("nexsis")["paths"].items():
        parts = re.split(r"(\{[^}]+\})", template)
        regex = "".join("[^/]+" if p.startswith("{") else re.escape(p) for p in parts)
        methods = [m.upper() for m in _METHODS if m in item]
        if "GET" in methods:
            methods.append("HEAD")
        routes.append((re.compile(f"^{re.escape(_NEXSIS_PREFIX)}{regex}$"), ", ".join(methods)))
    return tuple(routes)


def allow_header(path: str) -> str | None:
    return next((methods for regex, methods in _nexsis_routes() if regex.match(path)), None)


def handle(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    """Every error of the Connexion stack, by API: Moodle envelope, NexSIS JSON, admin JSON."""
    status, detail = _status(exc), _detail(exc)
    if status >= 500:
        log.error("mock error on %s: %r", request.scope.get("path"), exc, exc_info=exc)
    ws = request.scope.get(SCOPE_WS)
    if ws is not None and status < 500:
        # JSON inside Connexion (so it is validated); the front turns it into XML when asked.
        return ws_error(_ws_envelope(status, exc), "json", detail)
    headers = {}
    if isinstance(exc, HTTPException) and exc.headers:
        headers.update(exc.headers)
    if status == 405:
        allow = allow_header(request.scope.get("path", ""))
        if allow:
            headers["Allow"] = allow
    return nexsis_error(status, detail or ERROR_CODES.get(status, "error"), headers)


async def handle_async(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    # async so Connexion does not hop to a thread for every 4xx
    return handle(request, exc)


def install(app: t.Any) -> None:
    """Register the mapping on a Connexion app for every exception the stack can raise."""
    for exc_class in (ProblemException, HTTPException, LimitExceeded, codec.CodecError, Exception):
        app.add_error_handler(exc_class, handle_async)
