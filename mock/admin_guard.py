"""The admin API's front door: who may call it, with what, and how much (issue 13 #3).

The admin API can wipe or replace the whole site, and ``GET /__admin/tokens`` lists every token,
so a web page the developer happens to have open must not reach it:

- **Host**: a DNS-rebinding page talks to the mock under the attacker's host name. Every admin
  request must name the mock itself: a loopback name (``localhost``, ``*.localhost``,
  ``127.0.0.0/8``, ``::1``), the IP address the connection arrived on (an address cannot be
  rebound), or the host of ``--public-url``. Else 403.
- **Origin**: a browser always sends it on a cross-site write. When present it must be the mock's
  own origin (the scheme and Host of this request, or ``--public-url``); ``null`` is refused. Else 403.
- **Content type**: the three types a foreign page may send without a CORS preflight
  (``text/plain``, forms, multipart) are refused on admin writes: a write that has a body or a
  ``Content-Type`` must say ``application/json`` (``charset`` and other parameters allowed),
  else 415. A bodiless write without a type (``curl -X POST .../reset``) stays possible.
- **Token**: with ``--admin-token``, ``Authorization: Bearer <token>`` on every admin request but
  the Swagger UI page and the spec document (401).
- **Size**: an admin body (declared or chunked) larger than ``max_body`` is a 413, read no further.

Each refusal is ``{"error", "message"}`` JSON and changes nothing; the checks run before Connexion.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .host import ADMIN_PREFIX
from .middleware.limits import BodyTooLarge, LimitExceeded, declared_length, read_body
from .middleware.render import NEXSIS_JSON, dumps, respond

__all__ = ["DEFAULT_ADMIN_MAX_BODY", "AdminGuard"]

#: Default limit of an admin body: room for the export of a big site (a state document).
DEFAULT_ADMIN_MAX_BODY = 256 * 1024 * 1024
_OPEN = (ADMIN_PREFIX + "/ui", ADMIN_PREFIX + "/openapi.json", ADMIN_PREFIX + "/openapi.yaml")
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"})


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _hostname(netloc: str) -> str:
    """The host part of ``host[:port]`` or ``[v6]:port``, lower case, without a trailing dot."""
    netloc = netloc.strip().lower()
    if netloc.startswith("["):
        return netloc[1:].split("]", 1)[0]
    return netloc.rsplit(":", 1)[0].rstrip(".") if netloc.count(":") == 1 else netloc.rstrip(".")


def _is_loopback(host: str) -> bool:
    if host in _LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _is_json(content_type: str) -> bool:
    mime = content_type.split(";", 1)[0].strip().lower()
    return mime == "application/json"  # what admin.yaml declares (Connexion takes no other)


class AdminGuard:
    """ASGI wrapper of the host app: admin requests are checked, everything else passes through."""

    def __init__(self, app: ASGIApp, *, token: str | None = None, public_url: str | None = None,
                 max_body: int = DEFAULT_ADMIN_MAX_BODY) -> None:
        self.app = app
        self.token = token.encode() if token else None
        self.public_origin = None
        self.public_host = None
        if public_url:
            parts = urlsplit(public_url)
            self.public_origin = f"{parts.scheme}://{parts.netloc}".lower()
            self.public_host = _hostname(parts.netloc)
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not (scope["path"] == ADMIN_PREFIX
                                           or scope["path"].startswith(ADMIN_PREFIX + "/")):
            await self.app(scope, receive, send)
            return
        refusal = self.refusal(scope)
        if refusal is not None:
            await _refuse(send, *refusal)
            return
        if scope["method"] in _WRITES:
            try:
                scope, receive = await self._bounded(scope, receive)
            except LimitExceeded as exc:
                await _refuse(send, exc.status, exc.code, exc.message)
                return
        await self.app(scope, receive, send)

    def refusal(self, scope: Scope) -> tuple[int, str, str] | None:
        """(status, code, message) when the request may not reach the admin API, else None."""
        host_header = _header(scope, b"host") or ""
        if not self._own_host(_hostname(host_header), scope):
            return 403, "forbidden", ("the admin API answers only to its own host names (loopback, the "
                                      "address it listens on, --public-url); Host was "
                                      f"{host_header[:100]!r}")
        origin = _header(scope, b"origin")
        if origin is not None:
            own = f"{scope.get('scheme', 'http')}://{host_header}".lower()
            if origin.lower().rstrip("/") not in (own, self.public_origin):
                return 403, "forbidden", ("the admin API refuses calls from another origin (a web page "
                                          f"elsewhere); Origin was {origin[:100]!r}")
        if self.token is not None and not scope["path"].startswith(_OPEN) and not self._authorized(scope):
            return 401, "unauthorized", "the admin API needs 'Authorization: Bearer <admin token>'"
        if scope["method"] in _WRITES:
            content_type = _header(scope, b"content-type")
            has_body = (declared_length(_safe(scope)) or 0) > 0 or _header(scope, b"transfer-encoding")
            if (content_type is not None or has_body) and not _is_json(content_type or ""):
                return 415, "unsupported_media_type", (
                    "admin writes take JSON: send 'Content-Type: application/json' (or no body and no "
                    f"Content-Type); got {(content_type or 'none')[:100]!r}")
        return None

    def _own_host(self, host: str, scope: Scope) -> bool:
        if not host:
            return False
        if _is_loopback(host) or host == self.public_host:
            return True
        server = scope.get("server")
        return server is not None and host == str(server[0]).lower()

    def _authorized(self, scope: Scope) -> bool:
        value = _header(scope, b"authorization") or ""
        scheme, _, given = value.partition(" ")
        return (scheme.lower() == "bearer" and self.token is not None
                and hmac.compare_digest(given.strip().encode(), self.token))

    async def _bounded(self, scope: Scope, receive: Receive) -> tuple[Scope, Receive]:
        """The body read whole (declared or chunked) within the limit, replayed to Connexion.

        Connexion takes a body only with a ``Content-Length``, so a chunked one is handed on as
        the same bytes with their length declared.
        """
        length = declared_length(scope)
        if length is not None and length > self.max_body:
            raise BodyTooLarge(f"the admin request body exceeds the mock's limit of {self.max_body} bytes")
        body = await read_body(receive, self.max_body)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        headers = [(k, v) for k, v in scope["headers"] if k not in (b"content-length", b"transfer-encoding")]
        if body:
            headers.append((b"content-length", str(len(body)).encode()))
        return {**scope, "headers": headers}, replay


def _safe(scope: Scope) -> Scope:
    """``scope`` with a Content-Length that is no number dropped (the size check reports it)."""
    headers = [(k, v) for k, v in scope["headers"] if k != b"content-length" or v.strip().isdigit()]
    return {**scope, "headers": headers}


async def _refuse(send: Send, status: int, code: str, message: str) -> None:
    await respond(send, status, dumps({"error": code, "message": message}), None, NEXSIS_JSON)
