"""--workers, --rate-limit and --time-budget, checked at the (faulty) server and in the reports."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.contracts.conftest import FAULTY_OPS, run_check, set_faults

CONFIG = """\
sandbox:
  moodle-ws: {courses: [2, 3], programs: [1, 2], users: [4, 5, 6, 7, 8], cohorts: [1, 2]}
"""


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "contracts.yaml"
    path.write_text(CONFIG)
    return path


def _verdicts(report: str) -> dict[str, str]:
    """operation -> verdict, from the report's Operations table."""
    out = {}
    for line in report.split("## Operations", 1)[1].split("\n## ", 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and cells[0] in ("nexsis", "moodle-ws"):
            out[cells[1]] = cells[2]
    return out


def test_workers_give_the_same_verdicts(faulty, tmp_path):
    server, state = faulty
    set_faults(server, "wrong_type", "ws_no_errorcode")
    reports = {}
    for workers in ("1", "3"):
        out = tmp_path / f"w{workers}"
        proc = run_check(
            "--base-url",
            server.url,
            "-o",
            FAULTY_OPS,
            "--max-examples",
            "5",
            "--seed",
            "11",
            "--workers",
            workers,
            "--config",
            str(_config(tmp_path)),
            "--report-dir",
            str(out),
        )
        assert proc.returncode == 1, proc.stdout + proc.stderr  # the faults, nothing else
        assert "Traceback" not in proc.stderr
        reports[workers] = (out / "report.md").read_text()
    serial, parallel = _verdicts(reports["1"]), _verdicts(reports["3"])
    assert len(serial) == len(FAULTY_OPS.split(",")) + 2  # + both scenarios
    assert serial == parallel
    assert serial["getUser"] == "fail" and serial["tool_muprog_get_program_allocations"] == "fail"
    assert serial["putUser"] == "pass"
    # Parallel operations still clean up everything they created.
    assert not [u for u in state.users if u.startswith("NXCK")]
    assert not [c for c in state.courses if c.startswith("NXCK")]
    assert not state.groups


def test_rate_limit_is_respected_at_the_server(faulty, tmp_path):
    server, state = faulty
    rate = 25.0
    proc = run_check(
        "--base-url",
        server.url,
        "--only",
        "nexsis",
        "-o",
        "ping,getUser",
        "--max-examples",
        "6",
        "--seed",
        "2",
        "--no-stateful",
        "--rate-limit",
        f"{int(rate * 60)}/m",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    stamps = sorted(entry["t"] for entry in state.journal)
    assert len(stamps) > 20
    span = stamps[-1] - stamps[0]
    # Loosely: the average rate is at most the limit (+15% for clock and scheduling noise)...
    assert (len(stamps) - 1) / span <= rate * 1.15, (len(stamps), span)
    # ...and no one-second window holds more than a second's worth (+2 for window edges).
    for i, start in enumerate(stamps):
        in_window = sum(1 for t in stamps[i:] if t < start + 1.0)
        assert in_window <= rate + 2, (start, in_window)


def test_time_budget_stops_the_run_cleans_up_and_exits_4(faulty, tmp_path):
    server, state = faulty
    operations = FAULTY_OPS.replace("ping,", "").split(",")  # start with operations that create records
    proc = run_check(
        "--base-url",
        server.url,
        "-o",
        ",".join(operations),
        "--max-examples",
        "400",
        "--seed",
        "5",
        "--time-budget",
        "4s",
        "--config",
        str(_config(tmp_path)),
        "--report-dir",
        str(tmp_path / "r"),
    )
    assert proc.returncode == 4, proc.stdout + proc.stderr
    assert "time budget exhausted" in proc.stderr
    report = (tmp_path / "r" / "report.md").read_text()
    assert "time budget exhausted" in report and "cut short" in report
    # It stopped, counted by what it did, not by the clock: 13 operations at 400 examples each
    # (two modes) and both scenarios are thousands of requests, far beyond 4 s; a run that
    # ignored the budget would have started every operation and the scenarios.
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert data["budget_exhausted"] is True
    assert data["verdict"] == "incomplete"  # what exit 4 says (it said "conformant")
    assert "Verdict: **INCOMPLETE (time budget exhausted)**" in report
    assert "INCOMPLETE" in (tmp_path / "r" / "report.html").read_text()
    started = [op["name"] for op in data["operations"] if op["kind"] == "operation"]
    assert started and set(started) < set(operations), started
    assert not [op["name"] for op in data["operations"] if op["kind"] == "scenario"]
    assert sum(op["cases"] for op in data["operations"]) < 400 * 2 * len(operations)
    assert "removed:" in report  # cleanup ran after the budget...
    assert not [u for u in state.users if u.startswith("NXCK")]  # ...and removed everything
    assert not [c for c in state.courses if c.startswith("NXCK")]
    assert not state.groups
    assert state.journal and data["requests"] > 0
    assert re.search(r"Requests: \d+", report)


def test_time_budget_with_a_violation_still_exits_1(faulty, tmp_path):
    server, _state = faulty
    set_faults(server, "missing_field")
    proc = run_check(
        "--base-url",
        server.url,
        "--only",
        "nexsis",
        "-o",
        "getUser,putUser",
        "--max-examples",
        "400",
        "--seed",
        "5",
        "--no-stateful",
        "--time-budget",
        "3",
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
