"""`nexsis mock` as a real process: its admin API keeps foreign pages out and bounds admin bodies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .conftest import free_port

NEXSIS = Path(sys.executable).with_name("nexsis")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = free_port()
    log = tmp_path_factory.mktemp("mock") / "mock.log"
    with log.open("wb") as out:
        proc = subprocess.Popen([str(NEXSIS), "mock", "--port", str(port), "--admin-max-body", "200"],
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "PYTHONUNBUFFERED": "1"})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                httpx.get(url + "/__admin/health", timeout=1)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=15)


def test_admin_max_body_flag_bounds_admin_bodies(base_url: str):
    small = {"path": "/x", "status": 503}
    big = {**small, "body": {"padding": "x" * 300}}
    assert httpx.post(base_url + "/__admin/faults", json=small).status_code == 201
    r = httpx.post(base_url + "/__admin/faults", json=big)
    assert r.status_code == 413 and "200 bytes" in r.json()["message"], r.text
    assert len(httpx.get(base_url + "/__admin/faults").json()) == 1


def test_the_real_server_refuses_a_cross_site_reset(base_url: str):
    httpx.post(base_url + "/__admin/faults", json={"path": "/marker", "status": 418})
    before = httpx.get(base_url + "/__admin/faults").json()
    r = httpx.post(base_url + "/__admin/reset", content=b"{}", headers={
        "Content-Type": "text/plain", "Origin": "http://evil.example", "Host": "evil.example"})
    assert r.status_code == 403
    r = httpx.post(base_url + "/__admin/reset", content=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert httpx.get(base_url + "/__admin/faults").json() == before  # nothing was reset
