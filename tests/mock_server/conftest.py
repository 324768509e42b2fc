"""The mock on a real loopback port (uvicorn in a thread), shared by the server-layer tests.

Responses are validated against the specs (``validate_responses=True``), so a test that gets an
answer also knows the answer conforms.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from nexsis_mock.app import create_app
from nexsis_mock.serving import uvicorn_options

NX = "/enrol/nexsis/api/index.php"
WS = "/webservice/rest/server.php"
NEXSIS = Path(sys.executable).with_name("nexsis")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Served:
    """uvicorn serving one given ASGI app on a free loopback port, in a daemon thread.

    With ``nexsis mock``'s own protocol (``serving.uvicorn_options``: bounded heads, one write per
    answer), so the tests see the bytes a user's client sees.
    """

    def __init__(self, app: Any, log_level: str = "warning") -> None:
        self.app = app
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level=log_level,
                                access_log=False, lifespan="off", **uvicorn_options())
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> Served:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            assert self.thread.is_alive() and time.monotonic() < deadline, "mock did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@contextmanager
def mock_process(log: Path, *args: str) -> Iterator[int]:
    """`nexsis mock ARGS` as a real process on a free loopback port, for what only the command does
    (its flags, its banner, uvicorn's settings): yields the port once the admin health check answers
    (the banner is printed before serving), output in `log`; the process group is stopped at the end."""
    port = free_port()
    with log.open("wb") as out:
        proc = subprocess.Popen([str(NEXSIS), "mock", "--port", str(port), *args], stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                httpx.get(f"http://127.0.0.1:{port}/__admin/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


class Server(Served):
    """uvicorn serving ``create_app(validate_responses=True, **options)``."""

    def __init__(self, **options: Any) -> None:
        super().__init__(create_app(validate_responses=True, **options))
        self.service = self.app.service


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    with Server(fault_seed=1234) as srv:
        yield srv


def first_token(listing: Any, prefer: tuple[str, ...] = ()) -> str:
    """A token from the domain's listing: a list of tokens, or a dict keyed by token (or by role)."""
    if isinstance(listing, list):
        return next(t["token"] if isinstance(t, dict) else t for t in listing)
    items = list(listing.items())
    for key, info in items:
        if any(word in str(info).lower() for word in prefer):
            return info["token"] if isinstance(info, dict) and "token" in info else key
    key, info = items[0]
    return info["token"] if isinstance(info, dict) and "token" in info else key


@pytest.fixture(scope="session")
def tokens(server: Server) -> dict[str, str]:
    listing = httpx.get(server.base_url + "/__admin/tokens").json()
    return {"nexsis": first_token(listing["nexsis"], ("full", "admin")),
            "ws": first_token(listing["moodle-ws"], ("full", "admin"))}


@pytest.fixture
def http(server: Server) -> Iterator[httpx.Client]:
    """A client on the shared mock; faults and the journal are cleared after each test."""
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client
        client.delete("/__admin/faults")
        client.delete("/__admin/requests")


def raw_http(port: int, request: bytes, timeout: float = 10) -> tuple[int, bytes]:
    """Send bytes as they are (no client-side URL normalisation) and return status and body."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            if b"content-length:" in head.lower():
                length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
                if len(body) >= length:
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), body
