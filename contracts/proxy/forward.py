"""The proxy itself: an ASGI app that forwards every request to the upstream with httpx.

Bodies stream through in both directions (the proxy keeps only their first ``capture`` bytes, for
judging and the HAR), so memory stays bounded whatever the body size and however many connections
are open. Headers go through unchanged except the hop-by-hop ones and ``Host`` (the upstream's own,
so name-based virtual hosts route the request). An upstream that cannot be reached is answered 502,
one that does not answer within the timeout 504, both with a one-line JSON reason; an answer cut
short after it started is cut short to the client too (the connection is closed, never left open).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import orjson

from nexsis_contracts.proxy.exchange import Exchange

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

#: RFC 9110 7.6.1 hop-by-hop fields, plus Host (set for the upstream) and the framing of each leg.
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "host",
    }
)
#: Bytes of each body kept for judging and recording (the rest is streamed through, not kept).
DEFAULT_CAPTURE = 4 * 1024 * 1024


class ClientGone(Exception):
    """The client disconnected while its request body was being forwarded."""


class Capture:
    """The first `limit` bytes of a stream, and whether that was all of it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.parts: list[bytes] = []
        self.kept = 0
        self.size = 0

    def add(self, chunk: bytes) -> None:
        self.size += len(chunk)
        room = self.limit - self.kept
        if room > 0:
            part = chunk[:room]
            self.parts.append(part)
            self.kept += len(part)

    @property
    def complete(self) -> bool:
        return self.size <= self.limit

    def value(self) -> bytes:
        return b"".join(self.parts)


class Proxy:
    """ASGI app; `on_exchange` is awaited once per request, after the answer went out."""

    def __init__(
        self,
        upstream: str,
        on_exchange: Callable[[Exchange], Awaitable[None]],
        *,
        timeout: float = 30.0,
        capture: int = DEFAULT_CAPTURE,
        max_connections: int = 1000,
    ) -> None:
        self.upstream = httpx.URL(upstream.rstrip("/"))
        self.base = str(self.upstream)
        self.on_exchange = on_exchange
        self.capture = capture
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=100),
            follow_redirects=False,
            trust_env=False,  # a proxy from the environment must not see the traffic's tokens
        )

    async def aclose(self) -> None:
        await self.client.aclose()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        await self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        target = raw_path.decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        forwarded = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP]
        ex = Exchange(scope["method"], self.base + target, target, headers, b"", started=time.time())
        started = time.monotonic()
        request_capture = Capture(self.capture)
        response_capture = Capture(self.capture)
        try:
            content = await self._request_content(receive, request_capture)
            request = self.client.build_request(
                scope["method"], self.base + target, headers=forwarded, content=content
            )
            try:
                upstream = await self.client.send(request, stream=True)
            except httpx.TimeoutException as exc:
                ex.error = f"timeout: no answer from the upstream within the timeout ({type(exc).__name__})"
                await _answer(send, 504, "upstream_timeout", ex.error)
                ex.status = 504
                return
            except httpx.TransportError as exc:
                ex.error = f"upstream error: {type(exc).__name__}: {exc}"[:300]
                await _answer(send, 502, "upstream_unreachable", ex.error)
                ex.status = 502
                return
            ex.status = upstream.status_code
            ex.response_headers = [(k, v) for k, v in upstream.headers.multi_items()]
            try:
                await send(
                    {
                        "type": "http.response.start",
                        "status": upstream.status_code,
                        "headers": [
                            (k.encode("latin-1"), v.encode("latin-1"))
                            for k, v in ex.response_headers
                            if k.lower() not in HOP_BY_HOP
                        ],
                    }
                )
                async for chunk in upstream.aiter_raw():
                    response_capture.add(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                ex.error = f"{'timeout' if isinstance(exc, httpx.TimeoutException) else 'upstream error'}: "
                ex.error += f"answer cut short after {response_capture.size} bytes ({type(exc).__name__})"
                raise  # the answer has started: only closing the connection tells the client
            finally:
                await upstream.aclose()
        except ClientGone:
            ex.error = None
            ex.status = None
            return
        finally:
            ex.request_body = request_capture.value()
            ex.request_size = request_capture.size
            ex.request_complete = request_capture.complete
            ex.response_body = response_capture.value()
            ex.response_size = response_capture.size
            ex.response_complete = response_capture.complete
            ex.elapsed = time.monotonic() - started
            if ex.status is not None:
                await self.on_exchange(ex)

    async def _request_content(self, receive: Receive, capture: Capture) -> bytes | AsyncIterator[bytes]:
        """The whole body when it came in one message (most requests), else a stream of it."""
        first = await receive()
        if first["type"] == "http.disconnect":
            raise ClientGone()
        body = first.get("body", b"")
        capture.add(body)
        if not first.get("more_body"):
            return body

        async def stream() -> AsyncIterator[bytes]:
            yield body
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    raise ClientGone()
                chunk = message.get("body", b"")
                capture.add(chunk)
                if chunk:
                    yield chunk
                if not message.get("more_body"):
                    return

        return stream()


async def _answer(send: Send, status: int, code: str, message: str) -> None:
    body = orjson.dumps({"error": code, "message": message})
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"x-nexsis-proxy", code.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
