"""Fixtures: the faulty server under uvicorn on a free loopback port, and a `nexsis check` runner."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.faulty_server.app import NEXSIS_TOKEN, WS_NOCAP_TOKEN, WS_TOKEN, State, create_app  # noqa: E402

#: The operations the faulty server implements; tests select exactly these.
FAULTY_OPS = (
    "ping,getUser,putUser,deleteUser,getCourse,putCourse,deleteCourse,getLogs,"
    "core_webservice_get_site_info,tool_muprog_get_program_allocations,"
    "tool_muprog_source_manual_allocate_users,tool_muprog_delete_program_allocations,"
    "core_group_create_groups,core_group_delete_groups"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    def __init__(self, app: object) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(5)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@pytest.fixture
def faulty() -> Iterator[tuple[ServerThread, State]]:
    state = State()
    with ServerThread(create_app(state)) as server:
        yield server, state


def token_env() -> dict[str, str]:
    return {
        **os.environ,
        "NEXSIS_TOKEN": NEXSIS_TOKEN,
        "MOODLE_WS_TOKEN": WS_TOKEN,
        "MOODLE_WS_NOCAP_TOKEN": WS_NOCAP_TOKEN,
        "CI": "true",
    }


def run_check(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    exe = REPO / ".venv" / "bin" / "nexsis"
    return subprocess.run(
        [str(exe), "check", *args], capture_output=True, text=True, timeout=timeout, env=token_env(), cwd=REPO
    )


def set_faults(server: ServerThread, *faults: str) -> None:
    httpx.post(server.url + "/__faulty", json={"faults": list(faults)}).raise_for_status()
