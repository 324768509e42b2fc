"""Issue 13 #7: a slash redirect cannot be pointed elsewhere, and a stalled client cannot hold a connection.

The redirect is tested on the shared in-thread server; the request-head bounds through ``nexsis
mock`` itself (``--header-timeout``), since they are uvicorn settings the command passes on.
"""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator

import httpx
import pytest

from .conftest import NX, mock_process


def _raw(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    return data


def _location(head: bytes) -> str:
    match = re.search(rb"(?im)^location: (.*?)\r$", head)
    assert match, head
    return match.group(1).decode("latin-1")


def test_the_slash_redirect_does_not_follow_a_foreign_host_header(server) -> None:
    head = _raw(server.port, f"GET {NX}/user/S1001/ HTTP/1.1\r\nHost: evil.example\r\n\r\n".encode())
    assert head.startswith(b"HTTP/1.1 307")
    assert _location(head) == f"{NX}/user/S1001"  # path-absolute: resolved against the URL used


def test_the_slash_redirect_works_for_a_client_and_keeps_the_query_but_the_token(server, tokens) -> None:
    url = f"{server.base_url}{NX}/user/S1001/?token={tokens['nexsis']}&x=1"
    first = httpx.get(url)
    assert first.status_code == 307
    assert first.headers["location"] == f"{NX}/user/S1001?x=1"
    assert tokens["nexsis"] not in str(first.headers)
    followed = httpx.get(f"{server.base_url}{NX}/user/S1001/", follow_redirects=True,
                         headers={"Authorization": f"Bearer {tokens['nexsis']}"})
    assert followed.status_code == 200 and followed.json()["firstname"] == "Ava"


def test_a_decoded_line_break_cannot_reach_the_location_header(server) -> None:
    head = _raw(server.port, f"GET {NX}/user/a%0d%0aSet-Cookie:%20x=1/ HTTP/1.1\r\nHost: h\r\n\r\n".encode())
    assert head.startswith(b"HTTP/1.1 307"), head  # answered, not a crashed connection
    assert _location(head) == f"{NX}/user/a%0D%0ASet-Cookie:%20x=1"
    assert b"\r\nset-cookie" not in head.lower()


@pytest.fixture(scope="module")
def mock_with_head_timeout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    with mock_process(tmp_path_factory.mktemp("bounds") / "mock.log", "--header-timeout", "1") as port:
        yield port


def _closed_by_server(sock: socket.socket) -> bytes:
    """What the server sends before it closes; raises socket.timeout if it keeps the connection."""
    sock.settimeout(30)  # far above --header-timeout 1: without the bound the connection stays open
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_a_client_stalling_in_its_headers_is_cut(mock_with_head_timeout: int) -> None:
    with socket.create_connection(("127.0.0.1", mock_with_head_timeout)) as sock:
        sock.sendall(f"GET {NX}/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ".encode())
        assert _closed_by_server(sock) == b""


def test_a_client_sending_nothing_is_cut(mock_with_head_timeout: int) -> None:
    with socket.create_connection(("127.0.0.1", mock_with_head_timeout)) as sock:
        assert _closed_by_server(sock) == b""


def test_the_next_request_on_a_kept_alive_connection_gets_the_same_bound(mock_with_head_timeout: int) -> None:
    with socket.create_connection(("127.0.0.1", mock_with_head_timeout), timeout=10) as sock:
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = sock.recv(65536)
        # A byte of the next head stops uvicorn's keep-alive timer; only the head bound remains.
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHo")
        rest = _closed_by_server(sock)
    assert first.startswith(b"HTTP/1.1 200") and rest.count(b"HTTP/1.1 ") == 0


def test_a_head_larger_than_64_kib_is_431(mock_with_head_timeout: int) -> None:
    with socket.create_connection(("127.0.0.1", mock_with_head_timeout)) as sock:
        sock.sendall(b"GET /__admin/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        for _ in range(10):
            sock.sendall(b"X-Filler: " + b"a" * 8000 + b"\r\n")
        answer = _closed_by_server(sock)
    assert answer.startswith(b"HTTP/1.1 431")


def test_a_large_body_is_not_mistaken_for_a_large_head(mock_with_head_timeout: int) -> None:
    body = b"x" * 200_000
    r = httpx.put(f"http://127.0.0.1:{mock_with_head_timeout}{NX}/user/S1",
                  content=body, headers={"Content-Type": "application/json"})
    assert r.status_code in (400, 401), r.text  # judged by the pipeline, not cut by the head bound


def test_a_body_refused_before_it_is_read_is_not_mistaken_for_the_next_head(server, tokens) -> None:
    # 413 on the declared length goes before the body is in; the body's bytes that follow are that
    # request's (the parser drops them), not a 2 MB head: the next request on the connection is served.
    size = 2 * 1024 * 1024
    auth = f"Authorization: Bearer {tokens['nexsis']}\r\n"
    head = (f"PUT {NX}/user/S1001 HTTP/1.1\r\nHost: h\r\n{auth}Content-Type: application/json\r\n"
            f"Content-Length: {size}\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        sock.sendall(head + b" " * size)
        sock.sendall(f"GET {NX}/ping HTTP/1.1\r\nHost: h\r\n{auth}\r\n".encode())
        data = b""
        while data.count(b"HTTP/1.1 ") < 2 or not data.rstrip().endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 413 "), data[:200]
    second = data[data.index(b"HTTP/1.1 ", 1):]
    assert second.startswith(b"HTTP/1.1 200 OK"), data[:600]
