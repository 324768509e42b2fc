"""`nexsis check` with default settings against the real mock: conformant, every operation exercised."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest

from tests.contracts.conftest import REPO, free_port, token_env

MOCK_TOKENS = {
    "NEXSIS_TOKEN": "nexsis-demo-api-key-0001",
    "MOODLE_WS_TOKEN": "ws-admin-token-0001",
    "MOODLE_WS_NOCAP_TOKEN": "ws-nomuprog-token-0001",
}


@pytest.fixture
def mock_url():
    port = free_port()
    proc = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "nexsis"), "mock", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/enrol/nexsis/api/index.php/ping", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("the mock did not start")
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


@pytest.mark.slow
def test_default_run_against_mock_is_conformant(mock_url, tmp_path):
    env = {**token_env(), **MOCK_TOKENS}
    started = time.monotonic()
    proc = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "nexsis"),
            "check",
            "--base-url",
            mock_url,
            "--report-dir",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        timeout=600,
    )
    wall = time.monotonic() - started
    report = (tmp_path / "report.md").read_text()
    print(f"nexsis check against the mock: {wall:.1f}s wall, exit {proc.returncode}")
    assert proc.returncode == 0, report[report.find("## Failures") :][:6000]
    junit = (tmp_path / "junit.xml").read_text()
    from nexsis_openapi import load_spec

    for api in ("nexsis", "moodle-ws"):
        for item in load_spec(api)["paths"].values():
            for method, op in item.items():
                if method in ("get", "put", "post", "delete"):
                    name = op["operationId"]
                    assert f'name="{name}"' in junit, name
                    row = next(line for line in report.splitlines() if line.startswith(f"| {api} | {name} |"))
                    assert row.split("|")[3].strip() == "pass", row
    assert wall < 180
