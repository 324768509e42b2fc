"""The proxy itself: an ASGI app that forwards every request to the upstream with aiohttp.

Bodies stream through in both directions (the proxy keeps only their first ``capture`` bytes, for
judging and the HAR), so memory stays bounded whatever the body size and however many connections
are open. Headers go through unchanged except the hop-by-hop ones and ``Host`` (the upstream's own,
so name-based virtual hosts route the request). An upstream that cannot be reached is answered 502,
one that does not answer within the timeout 504, both with a one-line JSON reason; an answer cut
short after it started is cut short to the client too (the connection is closed, never left open).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import orjson
import yarl
from multidict import CIMultiDict

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
HOP_BY_HOP_B = frozenset(name.encode() for name in HOP_BY_HOP)
#: Headers aiohttp would add of its own (the client's own, if it sent them, go through as sent).
AUTO_HEADERS = ("User-Agent", "Accept", "Accept-Encoding", "Content-Type")
#: Longest upstream header line taken (aiohttp's default, 8 KiB, would refuse long X-Mock-Detail lines).
MAX_HEAD_LINE = 64 * 1024
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
        self.gone = False  # the client disconnected while this (request) stream was read

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
    """ASGI app; `on_exchange` is awaited once per request, after the answer went out.

    The upstream client is aiohttp's: httpx's async client (httpcore's pool over anyio) cost about
    0.5 ms of CPU per request against 0.06 ms for aiohttp's on the same loop (measured in front of
    the mock), and that cost, not the extra hop, bounded the proxy near 500 requests per second.
    """

    def __init__(
        self,
        upstream: str,
        on_exchange: Callable[[Exchange], Awaitable[None]],
        *,
        timeout: float = 30.0,
        capture: int = DEFAULT_CAPTURE,
        max_connections: int = 1000,
        max_pending: int = 1024,
    ) -> None:
        self.upstream = yarl.URL(upstream.rstrip("/"))
        self.base = str(self.upstream)
        self.on_exchange = on_exchange
        self.capture = capture
        self.timeout = timeout
        self.max_connections = max_connections
        self._client: aiohttp.ClientSession | None = None
        # Requests in flight or waiting for the judging queue: a new one waits for a free place,
        # so exchanges waiting to be judged never outgrow ``max_pending`` (bounded memory).
        self.pending = asyncio.Semaphore(max_pending)

    @property
    def client(self) -> aiohttp.ClientSession:
        """Made on first use: an aiohttp session belongs to the running event loop."""
        if self._client is None:
            self._client = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.max_connections, limit_per_host=0),
                timeout=aiohttp.ClientTimeout(
                    total=None, connect=min(self.timeout, 10.0), sock_read=self.timeout
                ),
                auto_decompress=False,  # bodies pass through as the upstream encoded them
                trust_env=False,  # a proxy from the environment must not see the traffic's tokens
                skip_auto_headers=AUTO_HEADERS,  # the client's headers only, none of aiohttp's own
                max_line_size=MAX_HEAD_LINE,
                max_field_size=MAX_HEAD_LINE,
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()

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
        async with self.pending:
            await self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_path = scope.get("raw_path") or scope["path"].encode()
        target = raw_path.decode("latin-1")
        if scope.get("query_string"):
            target += "?" + scope["query_string"].decode("latin-1")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        forwarded = CIMultiDict((k, v) for k, v in headers if k.lower() not in HOP_BY_HOP)
        ex = Exchange(scope["method"], self.base + target, target, headers, b"", started=time.time())
        started = time.monotonic()
        request_capture = Capture(self.capture)
        response_capture = Capture(self.capture)
        try:
            content = await self._request_content(receive, request_capture)
            try:
                upstream = await self.client.request(
                    scope["method"],
                    yarl.URL(self.base + target, encoded=True),  # the target exactly as sent
                    headers=forwarded,
                    data=content if content != b"" else None,
                    allow_redirects=False,
                )
            except TimeoutError as exc:
                ex.error = f"timeout: no answer from the upstream within the timeout ({type(exc).__name__})"
                await _answer(send, 504, "upstream_timeout", ex.error)
                ex.status = 504
                return
            except aiohttp.ClientError as exc:
                if request_capture.gone:  # aiohttp wraps what the body stream raised
                    raise ClientGone() from exc
                ex.error = f"upstream error: {type(exc).__name__}: {exc}"[:300]
                await _answer(send, 502, "upstream_unreachable", ex.error)
                ex.status = 502
                return
            ex.status = upstream.status
            raw_headers = upstream.raw_headers
            ex.response_headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw_headers]
            try:
                await send(
                    {
                        "type": "http.response.start",
                        "status": upstream.status,
                        "headers": [(k, v) for k, v in raw_headers if k.lower() not in HOP_BY_HOP_B],
                    }
                )
                async for chunk in upstream.content.iter_any():
                    response_capture.add(chunk)
                    await send({"type": "http.response.body", "body": chunk, "more_body": True})
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            except (TimeoutError, aiohttp.ClientError) as exc:
                if request_capture.gone:
                    raise ClientGone() from exc
                ex.error = f"{'timeout' if isinstance(exc, TimeoutError) else 'upstream error'}: "
                ex.error += f"answer cut short after {response_capture.size} bytes ({type(exc).__name__})"
                upstream.close()  # the connection is not reused
                raise  # the answer has started: only closing the connection tells the client
            finally:
                upstream.release()
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
                    capture.gone = True
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
