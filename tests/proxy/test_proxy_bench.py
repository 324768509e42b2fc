"""bench's proxy section end to end (one short round): rows with numbers, no errors, every exchange
judged without a violation, the Markdown section written. It asserts no timing."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.proxy.conftest import REPO


def test_proxy_section_smoke(tmp_path):
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "run",
            "--smoke",
            "--only",
            "proxy",
            "--scenario",
            "get_user",
            "--duration",
            "1",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = json.loads(sorted(tmp_path.glob("*-smoke.json"))[-1].read_text())["proxy"]
    assert [(r["scenario"], r["proxy"]) for r in data["rows"]] == [
        ("get_user", "nexsis-proxy"),
        ("get_user", "nexsis-proxy-record"),
    ]
    for row in data["rows"]:
        for side in ("direct", "proxied"):
            assert row[side]["rps"] > 0 and row[side]["errors"] == 0, row
        assert row["throughput_kept"] > 0
    assert len(data["runs"]) == 2
    for run in data["runs"]:
        assert run["exchanges"] > 0 and run["violations"] == 0, run
    assert "## Proxy overhead" in (tmp_path / "latest.md").read_text()
