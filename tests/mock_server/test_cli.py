"""`nexsis mock` as a real process: it prints the base URL and tokens, and answers with them."""

from __future__ import annotations

import re
import subprocess
import time
from pathlib import Path

import httpx

from .conftest import NEXSIS, NX, free_port, mock_process


def test_nexsis_mock_starts_and_answers_ping_with_the_printed_token(tmp_path: Path):
    log = tmp_path / "mock.log"
    with mock_process(log) as port:
        text = log.read_text()
        assert f"nexsis mock listening on http://127.0.0.1:{port}" in text
        token = re.search(r'"nexsis": \[\s*"([^"]+)"', text).group(1)
        r = httpx.get(f"http://127.0.0.1:{port}{NX}/ping", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200 and r.json() == {"message": "pong"}
        # tokens sent by clients are not logged
        httpx.get(f"http://127.0.0.1:{port}{NX}/ping", params={"token": "client-secret-123"})
        time.sleep(0.2)
        assert "client-secret-123" not in log.read_text()


def test_a_broken_fixture_is_a_usage_error_with_file_path_and_reason(tmp_path: Path):
    bad = tmp_path / "site.yaml"
    bad.write_text("users:\n  - {idnumber: S1, username: a}\n  - {idnumber: S1, username: b}\n",
                   encoding="utf-8")
    result = subprocess.run([str(NEXSIS), "mock", "--fixtures", str(bad), "--port", str(free_port())],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert "site.yaml: users[1].idnumber: duplicate 'S1'" in result.stderr
    assert "Traceback" not in result.stderr
