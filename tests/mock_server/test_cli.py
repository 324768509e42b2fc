"""`nexsis mock` as a real process: it prints the base URL and tokens, and answers with them."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .conftest import NX, free_port

NEXSIS = Path(sys.executable).with_name("nexsis")


def test_nexsis_mock_starts_and_answers_ping_with_the_printed_token(tmp_path: Path):
    port = free_port()
    log = tmp_path / "mock.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(NEXSIS), "mock", "--port", str(port)], stdout=out,
                                stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
                                start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            text = log.read_text()
            if "nexsis mock listening on" in text:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/__admin/health", timeout=1)
                    break
                except httpx.TransportError:
                    pass
            assert time.monotonic() < deadline, text
            time.sleep(0.1)
        assert f"http://127.0.0.1:{port}" in text
        token = re.search(r'"nexsis": \[\s*"([^"]+)"', text).group(1)
        r = httpx.get(f"http://127.0.0.1:{port}{NX}/ping", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json() == {"message": "pong"}
        # tokens sent by clients are not logged
        httpx.get(f"http://127.0.0.1:{port}{NX}/ping", params={"token": "client-secret-123"})
        time.sleep(0.2)
        assert "client-secret-123" not in log.read_text()
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def test_a_broken_fixture_is_a_usage_error_with_file_path_and_reason(tmp_path: Path):
    bad = tmp_path / "site.yaml"
    bad.write_text("users:\n  - {idnumber: S1, username: a}\n  - {idnumber: S1, username: b}\n",
                   encoding="utf-8")
    result = subprocess.run([str(NEXSIS), "mock", "--fixtures", str(bad), "--port", str(free_port())],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "site.yaml: users[1].idnumber: duplicate 'S1'" in result.stderr
    assert "Traceback" not in result.stderr
