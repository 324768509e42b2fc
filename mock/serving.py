"""How uvicorn serves the mock: a connection must deliver its request head in bounded time and size.

uvicorn has a keep-alive timeout between requests but no limit on the request head itself: a client
that opens a connection and sends nothing, or part of its headers, holds the connection (and its
buffer) for ever, and a few hundred such clients exhaust the process (slowloris). The protocol here
is uvicorn's httptools protocol with two bounds, as nginx's ``client_header_timeout`` and
``large_client_header_buffers`` give:

- the head (request line and headers) must be complete ``header_timeout`` seconds after the
  connection opened or after the previous answer was sent; else the connection is closed;
- the head may not exceed ``MAX_HEAD_BYTES``; else 431 and the connection is closed.

Bodies are not affected (the pipeline reads them bounded by ``--max-body``). ``nexsis mock`` passes
the protocol by import string, so ``--workers`` processes use it too; the timeout travels in the
``NEXSIS_MOCK_HEADER_TIMEOUT`` environment variable like the other worker settings.
"""

from __future__ import annotations

import asyncio
import os
import typing as t

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["DEFAULT_HEADER_TIMEOUT", "MAX_HEAD_BYTES", "PROTOCOL", "BoundedHeadersProtocol",
           "OneWriteAnswer", "uvicorn_options"]

#: Seconds a connection may take to send a complete request head (nginx's default is 60 s; a test
#: client on loopback needs milliseconds).
DEFAULT_HEADER_TIMEOUT = 10.0
#: Largest request head accepted (nginx: 4 x 8 KiB; the mock's longest real URL is far below it).
MAX_HEAD_BYTES = 64 * 1024
#: The environment variable that carries ``--header-timeout`` to worker processes.
HEADER_TIMEOUT_ENV = "NEXSIS_MOCK_HEADER_TIMEOUT"
#: uvicorn's ``http=`` option naming the protocol below (an import string survives ``--workers``).
PROTOCOL = "nexsis_mock.serving:BoundedHeadersProtocol"

_TOO_LARGE = (b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: text/plain; charset=utf-8\r\n"
              b"content-length: 36\r\nconnection: close\r\n\r\nthe request head exceeds 65536 bytes")


def header_timeout() -> float:
    """The process's head timeout: ``NEXSIS_MOCK_HEADER_TIMEOUT`` (set by ``nexsis mock``) or 10 s."""
    try:
        value = float(os.environ.get(HEADER_TIMEOUT_ENV, DEFAULT_HEADER_TIMEOUT))
    except ValueError:
        return DEFAULT_HEADER_TIMEOUT
    return value if value > 0 else DEFAULT_HEADER_TIMEOUT


class BoundedHeadersProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol whose request heads are bounded in time and size (module doc)."""

    #: Seconds for a head; ``None`` reads :func:`header_timeout` when the connection is made.
    header_timeout: float | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_timeout = self.header_timeout or header_timeout()
        self._head_timer: asyncio.TimerHandle | None = None
        self._head_deadline: float | None = None
        self._head_bytes = 0
        self._awaiting_head = True
        self._message_done = True  # the request's body has been parsed to its end
        self._head_after_body = False  # the answer went before its request's body was all in
        self._await_head()

    # One timer per connection, not one per request: a keep-alive connection's requests only move
    # the deadline (scheduling and cancelling a timer per request was ~2 % of a request's CPU).
    # When the timer fires early (the deadline moved on), it is set again for the deadline; when
    # no head is awaited, it lapses and the next wait sets it.
    def _await_head(self) -> None:
        self._head_deadline = deadline = self.loop.time() + self._head_timeout
        if self._head_timer is None:
            self._head_timer = self.loop.call_at(deadline, self._head_check)

    def _head_check(self) -> None:
        self._head_timer = None
        deadline = self._head_deadline
        if deadline is None or not self._awaiting_head or self.transport.is_closing():
            return
        if self.loop.time() < deadline:
            self._head_timer = self.loop.call_at(deadline, self._head_check)
            return
        self.transport.close()

    def _disarm(self) -> None:
        self._head_deadline = None
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def data_received(self, data: bytes) -> None:
        counting = self._awaiting_head
        super().data_received(data)
        # Counted after parsing: bytes after a completed head are the body's, not the head's.
        if counting and self._awaiting_head and not self.transport.is_closing():
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self._disarm()
                self.transport.write(_TOO_LARGE)
                self.transport.close()

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._message_done = False
        self._head_deadline = None  # the timer, if it fires meanwhile, lapses
        previous = self.cycle
        super().on_headers_complete()
        cycle = self.cycle
        if cycle is not previous and cycle is not None:  # a new request (not an upgrade)
            writer = OneWriteAnswer(self.transport, cycle.on_response)
            cycle.transport = t.cast(asyncio.Transport, writer)
            cycle.on_response = writer.complete

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._message_done = True
        if self._head_after_body:
            self._head_after_body = False
            self._next_head()

    def on_response_complete(self) -> None:
        # The next request's head gets its own time (uvicorn's keep-alive timeout closes an idle
        # connection sooner when no byte of it comes). An answer can go before its request's body
        # is all in (413 on a declared length): the bytes still coming are that body, which the
        # parser reads and drops, not the next head; the wait starts when the body ends.
        pipelined = bool(self.pipeline)
        super().on_response_complete()
        if not pipelined:
            if self._message_done:
                self._next_head()
            else:
                self._head_after_body = True

    def _next_head(self) -> None:
        if not self.transport.is_closing():
            self._awaiting_head = True
            self._head_bytes = 0
            self._await_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)


_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"


class OneWriteAnswer:
    """One request's transport that sends the answer's head and first body bytes in one write.

    uvicorn writes an answer's head when the app sends ``http.response.start`` and its body on
    ``http.response.body``: two socket sends, two TCP segments and two wake-ups of the client for
    every answer. The head is held here until the body's first bytes come (or the transport is
    closed), and both go out in one ``writelines`` (one ``writev``, nothing copied). The first
    write of a request that is not the ``100 Continue`` interim answer is always the head, so
    nothing else is ever held; a streamed answer's later chunks pass straight through. An answer
    with no body write at all (uvicorn writes none for HEAD) sends its head when it completes:
    ``complete`` stands in for the cycle's ``on_response``.
    """

    __slots__ = ("_armed", "_done", "_held", "_transport")

    def __init__(self, transport: asyncio.Transport, done: t.Callable[[], None]) -> None:
        self._transport = transport
        self._done = done
        self._held: bytes | None = None
        self._armed = True

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.writelines((held, data))
        elif self._armed and data != _CONTINUE:
            self._armed = False
            self._held = data
        else:
            self._transport.write(data)

    def complete(self) -> None:
        """The answer is complete (uvicorn's ``on_response``): what is held goes, then the protocol's step."""
        held, self._held = self._held, None
        if held is not None:
            self._transport.write(held)
        self._done()

    def close(self) -> None:
        held, self._held = self._held, None
        if held is not None:  # an answer cut short (the app failed or returned early) keeps its head
            self._transport.write(held)
        self._transport.close()

    def is_closing(self) -> bool:
        return self._transport.is_closing()


def uvicorn_options(timeout: float | None = None) -> dict[str, t.Any]:
    """The ``uvicorn.run``/``uvicorn.Config`` options that serve the mock with bounded heads."""
    if timeout is not None:
        os.environ[HEADER_TIMEOUT_ENV] = str(timeout)
    return {"http": PROTOCOL}
