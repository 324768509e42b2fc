"""What a report shows of an exchange: the request as sent and the answer, redacted, and a curl line.

Built from the request as sent (schemathesis' own curl re-serializes with its default form encoder,
which is not what went over the wire for a PHP bracket-notation body).
"""

from __future__ import annotations

import shlex
from typing import Any

import requests

from nexsis_openapi import redact, redact_text


def request_of(req: Any, secrets: tuple[str, ...]) -> dict[str, Any]:
    """The request as it went out, redacted, for reports (and the curl line built from it)."""
    body = req.body or b""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    return {
        "method": str(req.method),
        "url": redact_text(str(req.url), secrets),
        "headers": redact(dict(req.headers), secrets),
        "body": redact_text(text[:4000], secrets),
    }


def exchange_of(response: Any, secrets: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    request = request_of(response.request, secrets)
    resp = {
        "status": response.status_code,
        "headers": redact(dict(response.headers), secrets),
        "body": redact_text((response.content or b"")[:4000].decode("utf-8", "replace"), secrets),
    }
    return request, resp


def connection_dropped(exc: requests.ConnectionError) -> bool:
    text = repr(exc)
    return "RemoteDisconnected" in text or "Connection aborted" in text or "ConnectionResetError" in text


def curl_of(request: dict[str, Any]) -> str:
    parts = ["curl", "-X", request["method"], shlex.quote(request["url"])]
    for key, value in request["headers"].items():
        if key.lower() in ("content-length", "user-agent", "accept-encoding", "connection"):
            continue
        parts += ["-H", shlex.quote(f"{key}: {value}")]
    if request.get("body"):
        parts += ["--data-raw", shlex.quote(request["body"])]
    return " ".join(parts)
