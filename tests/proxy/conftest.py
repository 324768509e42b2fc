"""Fixtures: the mock and the faulty server on loopback, and `nexsis proxy` as a real process."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.contracts.conftest import ServerThread  # noqa: E402

#: The mock's default fixture tokens.
NEXSIS_TOKEN = "nexsis-demo-api-key-0001"
WS_TOKEN = "ws-admin-token-0001"


class ProxyProcess:
    """`nexsis proxy` on a free port (``--port 0``); `stop` sends SIGINT and returns the exit code."""

    def __init__(self, upstream: str, *args: str, report_dir: Path | None = None) -> None:
        cmd = [str(REPO / ".venv" / "bin" / "nexsis"), "proxy", "--upstream", upstream, "--port", "0", *args]
        if report_dir is not None:
            cmd += ["--report-dir", str(report_dir)]
        self.report_dir = report_dir
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"listening on (http://\S+)", line)
        if match is None:
            self.proc.kill()
            raise RuntimeError(
                f"proxy did not start: {line!r} {self.proc.stderr.read() if self.proc.stderr else ''}"
            )
        self.url = match.group(1)
        self.output = ""
        self.stderr = ""

    def stop(self, sig: int = signal.SIGINT, timeout: float = 30) -> int:
        time.sleep(0.3)  # let the last exchange reach the judge's queue before the signal
        self.proc.send_signal(sig)
        out, err = self.proc.communicate(timeout=timeout)
        self.output += out
        self.stderr += err
        return self.proc.returncode

    def wait(self, timeout: float = 60) -> int:
        out, err = self.proc.communicate(timeout=timeout)
        self.output += out
        self.stderr += err
        return self.proc.returncode

    def report(self) -> dict[str, Any]:
        assert self.report_dir is not None
        return json.loads((self.report_dir / "report.json").read_text())


@pytest.fixture
def mock_server() -> Iterator[ServerThread]:
    from nexsis_mock.app import create_app

    with ServerThread(create_app(swagger_ui=False)) as server:
        yield server
