"""Starting the mock on a free loopback port: in this process (a uvicorn thread) or as `nexsis mock`.

The in-process server is cheap and serves most tests; the subprocess is for what needs a real
process: kills, restarts, several workers, the CLI itself.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import uvicorn

ROOT = Path(__file__).resolve().parents[2]
NEXSIS_CLI = Path(sys.executable).with_name("nexsis")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_up(base_url: str, timeout: float = 30.0, proc: subprocess.Popen | None = None) -> None:
    """Poll until the server answers anything over HTTP (the admin API needs no NexSIS token)."""
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"mock exited with {proc.returncode} before it was up")
        try:
            httpx.get(base_url + "/__admin/health", timeout=2)
            return
        except httpx.TransportError as exc:
            last = exc
            time.sleep(0.05)
    raise TimeoutError(f"mock at {base_url} not up after {timeout}s: {last}")


def banner_tokens(output: str) -> dict[str, Any]:
    """The token listing `nexsis mock` prints at start (a JSON block after the `tokens` line)."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.strip().startswith("tokens")), None)
    if start is None:
        raise AssertionError(f"no token listing in the banner of nexsis mock:\n{output[:2000]}")
    block: list[str] = []
    for line in lines[start + 1 :]:
        block.append(line)
        try:
            return json.loads("\n".join(block))
        except ValueError:
            continue
    raise AssertionError(f"unreadable token listing in the banner:\n{output[:2000]}")


class InProcessServer:
    """uvicorn in a daemon thread of the test process, serving `create_app(**options)`."""

    def __init__(self, fixtures: list[Path] | None = None, **options: Any) -> None:
        from nexsis_mock.app import create_app
        from nexsis_mock.domain import Service
        from nexsis_mock.serving import uvicorn_options

        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.service = Service.create(fixtures=fixtures)
        #: What `nexsis mock` prints at start: {"nexsis": [...], "moodle-ws": {token: {...}}}.
        self.tokens: dict[str, Any] = self.service.tokens()
        self.app = create_app(self.service, **options)
        config = uvicorn.Config(  # served as `nexsis mock` serves it (bounded heads, one write per answer)
            self.app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="auto",
            access_log=False, **uvicorn_options(),
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"mock:{self.port}", daemon=True)

    def __enter__(self) -> InProcessServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("in-process mock did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


class CliServer:
    """`nexsis mock` as a child process in its own process group, so a kill takes every worker."""

    def __init__(self, *args: str, log: Path, port: int | None = None) -> None:
        self.port = port or free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.args = [str(NEXSIS_CLI), "mock", "--host", "127.0.0.1", "--port", str(self.port), *args]
        self.log = log
        self.proc: subprocess.Popen | None = None
        self.tokens: dict[str, Any] = {}

    def start(self, timeout: float = 60.0) -> CliServer:
        start_at = self.log.stat().st_size if self.log.exists() else 0
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True
            )
        try:
            wait_until_up(self.base_url, timeout, self.proc)
            self.tokens = banner_tokens(self.log.read_text(encoding="utf-8", errors="replace")[start_at:])
        except Exception:
            self.kill()
            raise
        return self

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (uvicorn workers included) and reap the parent."""
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, sig)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=15)

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def __enter__(self) -> CliServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
