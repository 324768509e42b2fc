"""Each answer leaves the mock in one socket write, and nothing is held back that a client waits for.

uvicorn writes an answer's head and its body separately; the mock's protocol
(``serving.BoundedHeadersProtocol``) hands each request a transport (``serving.OneWriteAnswer``)
that holds the head until the body's first bytes come. These tests drive the protocol the way
uvicorn's server does (bytes in through ``data_received``, the writes recorded on the transport):
one write per whole answer, the ``100 Continue`` interim answer not held, a streamed answer's
head sent with its first chunk and its later chunks as they come, and a head never lost when the
app fails after starting its answer. The last test runs the handshake over real HTTP.
"""

from __future__ import annotations

import asyncio
import socket
import typing as t

import pytest
import uvicorn
from uvicorn.server import ServerState

from nexsis_mock.serving import BoundedHeadersProtocol

from .conftest import NX

App = t.Callable[[dict, t.Any, t.Any], t.Awaitable[None]]


class _Transport(asyncio.Transport):
    """A connection's transport that records every write (``writelines`` counts as one)."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def get_extra_info(self, name: str, default: t.Any = None) -> t.Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: t.Any) -> None:
        self.writes.append(bytes(data))

    def writelines(self, list_of_data: t.Iterable[t.Any]) -> None:
        self.writes.append(b"".join(bytes(d) for d in list_of_data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


class _Connection:
    def __init__(self, app: App) -> None:
        config = uvicorn.Config(app, access_log=False, log_level="critical", lifespan="off")
        config.load()
        self.transport = _Transport()
        self.protocol = BoundedHeadersProtocol(config, ServerState(), {})
        self.protocol.connection_made(self.transport)

    def feed(self, data: bytes) -> None:
        self.protocol.data_received(data)

    async def settle(self) -> None:
        for _ in range(20):  # let the request's task run to its end
            await asyncio.sleep(0)
        tasks = list(self.protocol.server_state.tasks)
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)


async def _whole(scope: dict, receive: t.Any, send: t.Any) -> None:
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"11")]})
    await send({"type": "http.response.body", "body": b'{"ok":true}'})


def test_a_whole_answer_is_one_write_with_head_and_body() -> None:
    async def run() -> list[bytes]:
        conn = _Connection(_whole)
        conn.feed(b"GET /x HTTP/1.1\r\nHost: h\r\n\r\nGET /y HTTP/1.1\r\nHost: h\r\n\r\n")
        await conn.settle()
        await conn.settle()
        return conn.transport.writes

    writes = asyncio.run(run())
    assert len(writes) == 2, writes  # two pipelined requests, one write each
    for write in writes:
        head, _, body = write.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and b"content-length: 11" in head
        assert body == b'{"ok":true}'


def test_a_head_answer_is_sent_though_no_body_is_written() -> None:
    # uvicorn writes no body for HEAD: the held head must go when the answer completes, and the
    # kept-alive connection must serve the next request.
    async def run() -> list[bytes]:
        conn = _Connection(_whole)
        conn.feed(b"HEAD /x HTTP/1.1\r\nHost: h\r\n\r\n")
        await conn.settle()
        conn.feed(b"GET /y HTTP/1.1\r\nHost: h\r\n\r\n")
        await conn.settle()
        return conn.transport.writes

    writes = asyncio.run(run())
    assert len(writes) == 2, writes
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and writes[0].endswith(b"\r\n\r\n")
    assert b"content-length: 11" in writes[0]
    assert writes[1].endswith(b'{"ok":true}')


def test_the_100_continue_interim_answer_is_sent_at_once() -> None:
    seen: list[bytes] = []

    async def echo(scope: dict, receive: t.Any, send: t.Any) -> None:
        message = await receive()
        seen.append(message["body"])
        await send({"type": "http.response.start", "status": 201, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    async def run() -> list[bytes]:
        conn = _Connection(echo)
        conn.feed(b"PUT /x HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n")
        for _ in range(20):
            await asyncio.sleep(0)
        # the client waits for the interim answer before it sends the body: it must be out already
        assert conn.transport.writes == [b"HTTP/1.1 100 Continue\r\n\r\n"]
        conn.feed(b"data")
        await conn.settle()
        return conn.transport.writes

    writes = asyncio.run(run())
    assert seen == [b"data"]
    assert len(writes) == 2
    assert writes[1].startswith(b"HTTP/1.1 201 Created\r\n") and writes[1].endswith(b"ok")


def test_a_streamed_answer_sends_its_head_with_the_first_chunk_and_the_rest_as_it_comes() -> None:
    async def stream(scope: dict, receive: t.Any, send: t.Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})  # chunked
        for part in (b"first", b"second"):
            await send({"type": "http.response.body", "body": part, "more_body": True})
        await send({"type": "http.response.body", "body": b""})

    async def run() -> list[bytes]:
        conn = _Connection(stream)
        conn.feed(b"GET /s HTTP/1.1\r\nHost: h\r\n\r\n")
        await conn.settle()
        return conn.transport.writes

    writes = asyncio.run(run())
    assert len(writes) == 3, writes
    assert writes[0].startswith(b"HTTP/1.1 200 OK\r\n") and b"transfer-encoding: chunked" in writes[0]
    assert writes[0].endswith(b"\r\n\r\n5\r\nfirst\r\n")
    assert writes[1:] == [b"6\r\nsecond\r\n", b"0\r\n\r\n"]


def test_a_head_is_not_lost_when_the_app_fails_after_starting_its_answer() -> None:
    async def failing(scope: dict, receive: t.Any, send: t.Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"5")]})
        raise RuntimeError("boom")

    async def run() -> _Transport:
        conn = _Connection(failing)
        conn.feed(b"GET /f HTTP/1.1\r\nHost: h\r\n\r\n")
        await conn.settle()
        return conn.transport

    transport = asyncio.run(run())
    assert transport.closed
    assert len(transport.writes) == 1 and transport.writes[0].startswith(b"HTTP/1.1 200 OK\r\n")


@pytest.mark.parametrize("path", [f"{NX}/ping", "/webservice/rest/server.php"])
def test_the_mock_answers_head_on_a_kept_alive_connection(server, tokens, path: str) -> None:
    request = (f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {tokens['nexsis']}\r\n"
               "\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for _ in range(2):  # two on one connection: the first answer must not be stuck
            sock.sendall(request)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                assert chunk, "connection closed"
                data += chunk
            assert data.startswith(b"HTTP/1.1 200 OK\r\n") and data.endswith(b"\r\n\r\n"), data


@pytest.mark.parametrize("expect", [False, True])
def test_the_mock_answers_a_put_over_http_with_and_without_100_continue(server, tokens, expect: bool) -> None:
    body = b'{"firstname":"Ava"}'
    head = (f"PUT {NX}/user/S1001 HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {tokens['nexsis']}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
            + ("Expect: 100-continue\r\n" if expect else "") + "\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(head)
        if expect:
            assert sock.recv(65536) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(body)
        data = b""
        while b"\r\n\r\n" not in data or not data.endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 200 OK\r\n"), data
    assert data.partition(b"\r\n\r\n")[2].startswith(b"{")
