"""Starting the servers under test as separate processes, each pinned to one core.

Every server runs in its own process with one uvicorn worker, pinned with taskset to the core the
load generator does not use, and is measured from the moment it is launched: the time to its
first 200 is the startup figure of docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from bench import machine

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def console_script(name: str) -> str:
    """The venv's console script if the harness runs from a venv, else the one on PATH."""
    local = VENV_BIN / name
    return str(local) if local.exists() else (shutil.which(name) or name)


@dataclass
class ServerCommand:
    """How to launch one server: argv (with {port} placeholders), readiness probe, label."""

    label: str
    argv: list[str]
    ready_path: str
    ready_headers: dict[str, str] = field(default_factory=dict)
    env: dict[str, str] = field(default_factory=dict)
    notes: str = ""


@dataclass
class Running:
    command: ServerCommand
    proc: subprocess.Popen
    port: int
    startup_s: float
    log: Path

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def peak_rss_mib(self) -> float | None:
        return machine.peak_rss_mib(self.proc.pid)


class StartupError(RuntimeError):
    pass


def _wait_ready(proc: subprocess.Popen, url: str, headers: dict[str, str], started: float,
                timeout: float, log: Path) -> float:
    """Seconds from launch to the first HTTP 200 (polling every 5 ms on fresh connections)."""
    with httpx.Client(timeout=2.0) as client:
        while True:
            if proc.poll() is not None:
                raise StartupError(f"server exited with {proc.returncode} before answering; "
                                   f"log tail:\n{_tail(log)}")
            try:
                if client.get(url, headers=headers).status_code == 200:
                    return time.perf_counter() - started
            except httpx.HTTPError:
                pass
            if time.perf_counter() - started > timeout:
                raise StartupError(f"no 200 from {url} within {timeout:.0f} s; log tail:\n{_tail(log)}")
            time.sleep(0.005)


def _tail(log: Path, lines: int = 30) -> str:
    try:
        return "\n".join(log.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def launch(command: ServerCommand, logdir: Path, *, cores: list[int] | None,
           timeout: float = 120.0) -> Iterator[Running]:
    """Start, wait for the first 200, yield, and always stop the server (SIGINT, then SIGKILL)."""
    port = free_port()
    argv = [a.replace("{port}", str(port)) for a in command.argv]
    if cores and shutil.which("taskset"):
        argv = ["taskset", "-c", ",".join(map(str, cores)), *argv]
    logdir.mkdir(parents=True, exist_ok=True)
    log = logdir / f"{command.label.replace(' ', '_').replace('/', '_')}-{port}.log"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
           **command.env}
    with log.open("wb") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env,
                                start_new_session=True)
        try:
            startup = _wait_ready(proc, f"http://127.0.0.1:{port}{command.ready_path}",
                                  command.ready_headers, started, timeout, log)
            yield Running(command, proc, port, startup, log)
        finally:
            _stop(proc)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def uvicorn_argv(app: str, *, factory: bool = False) -> list[str]:
    """uvicorn as the reference servers run it: one worker, no access log, default loop/http."""
    argv = [sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", "{port}",
            "--workers", "1", "--no-access-log", "--log-level", "warning"]
    return [*argv, "--factory"] if factory else argv


def ceiling_command() -> ServerCommand:
    return ServerCommand(
        label="starlette-ceiling",
        argv=uvicorn_argv("bench.ceiling_app:app"),
        ready_path="/ping",
        notes="bare Starlette on uvicorn (1 worker, no access log), constant JSON for every request",
    )


def connexion_example_command(spec: Path) -> ServerCommand:
    """Connexion's own example mock, exactly as its CLI ships it (access log on, as by default)."""
    return ServerCommand(
        label="connexion-example-mock",
        argv=[console_script("connexion"), "run", str(spec), "--mock=all", "--port", "{port}",
              "--host", "127.0.0.1"],
        ready_path="/enrol/nexsis/api/index.php/ping",
        ready_headers={"Authorization": "Bearer bench"},
        env={"BEARERINFO_FUNC": "bench.cx_auth.bearer_info", "APIKEYINFO_FUNC": "bench.cx_auth.apikey_info"},
        notes="`connexion run openapi/nexsis.yaml --mock=all` with Connexion's CLI defaults (AsyncApp, "
              "uvicorn with reload on and the access log on, no response validation, no strict validation); "
              "BEARERINFO_FUNC/APIKEYINFO_FUNC accept any token (bench/cx_auth.py)",
    )


def default_fixture_token() -> str | None:
    """A NexSIS key of the mock's embedded default fixtures (to probe /ping), if they load."""
    try:
        from nexsis_mock import fixtures
        keys = fixtures.load(None).nexsis_keys
    except Exception:
        return None
    return keys[0] if keys else None


def mock_command(fixture_files: list[Path] | None, token: str | None, *, label: str = "nexsis-mock",
                 extra: list[str] | None = None) -> ServerCommand:
    """`nexsis mock` exactly as a user starts it (one worker, in-memory state, its own defaults)."""
    argv = [console_script("nexsis"), "mock", "--host", "127.0.0.1", "--port", "{port}"]
    if fixture_files:
        argv += ["--fixtures", *map(str, fixture_files)]
    argv += extra or []
    if token:
        ready, headers = "/enrol/nexsis/api/index.php/ping", {"Authorization": f"Bearer {token}"}
    else:  # no known key: the admin API answers without one unless --admin-token is set
        ready, headers = "/__admin/health", {}
    shown = " ".join(a if a != "{port}" else "PORT" for a in argv[1:])
    return ServerCommand(label=label, argv=argv, ready_path=ready, ready_headers=headers,
                         notes=f"`nexsis {shown}`")
