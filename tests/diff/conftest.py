"""Helpers: `nexsis diff` as a real process against servers on loopback."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import yaml

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from tests.proxy.conftest import NEXSIS_TOKEN, WS_TOKEN  # noqa: E402

MOCK_ENV = {
    "NEXSIS_TOKEN": NEXSIS_TOKEN,
    "MOODLE_WS_TOKEN": WS_TOKEN,
    "MOODLE_WS_NOCAP_TOKEN": "ws-nomuprog-token-0001",
}


def mock_config(tmp_path: Path) -> Path:
    from tests.contracts.test_against_mock import sandbox_from_default_fixture

    path = tmp_path / "contracts.yaml"
    path.write_text(yaml.safe_dump({"sandbox": sandbox_from_default_fixture()}))
    return path


def run_diff(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = REPO / ".venv" / "bin" / "nexsis"
    return subprocess.run(
        [str(exe), "diff", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, **(env or MOCK_ENV)},
        cwd=REPO,
    )


def identical(output: str) -> tuple[int, int]:
    match = re.search(r"^(\d+)/(\d+) calls identical", output, re.M)
    assert match, output
    return int(match.group(1)), int(match.group(2))


def diff_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("DIFF ")]


def shift_ids(url: str) -> None:
    """Make the site assign other ids than a fresh one: create and delete groups first."""
    ws = url + "/webservice/rest/server.php"
    for i in range(3):
        data = {
            "wstoken": WS_TOKEN,
            "wsfunction": "core_group_create_groups",
            "moodlewsrestformat": "json",
            "groups[0][courseid]": "2",
            "groups[0][name]": f"shift {i}",
            "groups[0][description]": "-",
        }
        group = httpx.post(ws, data=data).json()[0]["id"]
        httpx.post(
            ws,
            data={
                "wstoken": WS_TOKEN,
                "wsfunction": "core_group_delete_groups",
                "moodlewsrestformat": "json",
                "groupids[0]": str(group),
            },
        ).raise_for_status()
