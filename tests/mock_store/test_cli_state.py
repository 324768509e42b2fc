"""`nexsis mock` state flags over the real command: tokenless fixtures, the --workers temporary file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.mock_server.conftest import free_port

NEXSIS = Path(sys.executable).with_name("nexsis")

NO_TOKENS = """
users:
- {id: 2, username: admin, idnumber: A1}
courses:
- {id: 2, shortname: C1, fullname: Course one, idnumber: C1}
"""


def test_fixtures_without_any_token_refuse_to_start(tmp_path: Path) -> None:
    fixture = tmp_path / "site.yaml"
    fixture.write_text(NO_TOKENS)
    result = subprocess.run([str(NEXSIS), "mock", "--fixtures", str(fixture), "--port", str(free_port())],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    line = next(x for x in result.stderr.splitlines() if x.startswith("nexsis mock"))
    assert "no token" in line and "every NexSIS and web-service call would be refused" in line


def start(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    proc = subprocess.Popen([str(NEXSIS), "mock", "--port", str(port), *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if httpx.get(f"{base}/__admin/health", timeout=2).status_code == 200:
                return proc, base
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise AssertionError("the mock did not start")


def stop(proc: subprocess.Popen[str]) -> tuple[str, str]:
    proc.send_signal(signal.SIGINT)
    try:
        return proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        return proc.communicate()


def test_fixtures_with_tokens_for_one_api_only_start_with_a_warning(tmp_path: Path) -> None:
    fixture = tmp_path / "site.yaml"
    fixture.write_text(NO_TOKENS + "tokens:\n  nexsis: [only-nexsis-key-0001]\n")
    proc, base = start(["--fixtures", str(fixture)], dict(os.environ))
    try:
        assert httpx.get(f"{base}/enrol/nexsis/api/index.php/ping",
                         headers={"Authorization": "Bearer only-nexsis-key-0001"}).status_code == 200
    finally:
        _out, err = stop(proc)
    assert "warning: no web-service token in the site: every web-service call will be refused" in err


def test_workers_without_state_use_a_sqlite_file_and_remove_it(tmp_path: Path) -> None:
    """Before: a nexsis-mock-*/state.json (an SQLite file) stayed behind in the temporary directory."""
    env = dict(os.environ, TMPDIR=str(tmp_path))
    proc, base = start(["--workers", "2"], env)
    try:
        made = list(tmp_path.glob("nexsis-mock-*/*"))
        assert [p.name for p in made] and all(p.name.startswith("state.sqlite") for p in made), made
        assert httpx.get(f"{base}/__admin/stats").json()["state_file"].endswith("state.sqlite")
    finally:
        stop(proc)
    assert not list(tmp_path.glob("nexsis-mock-*")), list(tmp_path.iterdir())
