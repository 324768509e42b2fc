"""Judging runs in a child process (contracts/proxy/judging.py): every exchange reaches it, and
when it cannot start or dies the proxy says so and exits 2 or 3, never a silent 0."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import httpx

from tests.contracts.conftest import ServerThread
from tests.faulty_server.app import NEXSIS_TOKEN, State, create_app
from tests.proxy.conftest import REPO, ProxyProcess

PING = "/enrol/nexsis/api/index.php/ping"
AUTH = {"Authorization": f"Bearer {NEXSIS_TOKEN}"}


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def test_a_burst_is_judged_whole_before_exit(tmp_path):
    """More exchanges than the queue holds, sent at once: all judged and counted in the report."""
    import asyncio

    async def burst(url: str) -> list[int]:
        async with httpx.AsyncClient(timeout=60, trust_env=False) as client:
            answers = await asyncio.gather(*(client.get(url + PING, headers=AUTH) for _ in range(600)))
        return [a.status_code for a in answers]

    with ServerThread(create_app(State())) as server:
        proxy = ProxyProcess(server.url, report_dir=tmp_path)
        try:
            statuses = asyncio.run(burst(proxy.url))
        finally:
            code = proxy.stop()
    assert statuses == [200] * 600
    assert code == 0, proxy.output + proxy.stderr
    report = proxy.report()
    assert report["exchanges"] == 600 and report["operations"]["nexsis:ping"]["exchanges"] == 600


def test_record_file_that_cannot_be_written_is_a_usage_error(tmp_path):
    nexsis = str(REPO / ".venv" / "bin" / "nexsis")
    run = subprocess.run(
        [nexsis, "proxy", "--upstream", "http://127.0.0.1:1", "--port", "0", "--record", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2, run.stdout + run.stderr
    assert "cannot write --record" in run.stderr
    assert "listening" not in run.stdout  # it never took traffic it could not record


def test_judging_process_killed_mid_run_exits_3_and_says_how_many_were_not_judged(tmp_path):
    with ServerThread(create_app(State())) as server:
        proxy = ProxyProcess(server.url, report_dir=tmp_path)
        try:
            assert httpx.get(proxy.url + PING, headers=AUTH).status_code == 200
            (child,) = _children(proxy.proc.pid)
            os.kill(child, signal.SIGKILL)
            time.sleep(0.5)
            # Forwarding goes on: the client is still answered.
            answers = [httpx.get(proxy.url + PING, headers=AUTH).status_code for _ in range(3)]
        finally:
            code = proxy.stop()
    assert answers == [200, 200, 200]
    assert code == 3, proxy.output + proxy.stderr
    assert "exchanges were not judged" in proxy.stderr
