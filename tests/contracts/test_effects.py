"""Write-effect rules (contracts/effects/): what a failure shows, and scenarios that are never skipped."""

from __future__ import annotations

from pathlib import Path

from tests.contracts.conftest import FAULTY_OPS, run_check, set_faults
from tests.contracts.test_faulty_server import CONFIG
from tests.faulty_server.app import State


def _run(server_url: str, tmp_path: Path, ops: str = FAULTY_OPS, *extra: str) -> tuple[int, str, str]:
    config = tmp_path / "contracts.yaml"
    config.write_text(CONFIG)
    proc = run_check(
        "--base-url", server_url, "-o", ops, "--max-examples", "3", "--seed", "3",
        "--config", str(config), "--report-dir", str(tmp_path / "r"), *extra,
    )  # fmt: skip
    path = tmp_path / "r" / "report.md"
    report = path.read_text() if path.exists() else ""
    return proc.returncode, report, proc.stdout + proc.stderr


def _failure(report: str, heading: str) -> str:
    start = report.index(heading)
    end = report.find("\n### ", start + 1)
    return report[start : end if end > 0 else len(report)]


def test_failure_names_the_write_and_lists_the_requests_that_prove_it(faulty, tmp_path):
    server, _state = faulty
    set_faults(server, "course_update_ignored")
    code, report, output = _run(server.url, tmp_path)
    assert code == 1, output
    section = _failure(report, "### nexsis putCourse: `update_changes_existing`")
    assert "answered 200 but a following GET still shows the old fullname" in section
    assert "Requests that show it:" in section
    # The trail: create, read, update, read again, in order, with statuses.
    steps = [line.strip() for line in section.splitlines() if line.strip()[:2] in ("1.", "2.", "3.", "4.")]
    assert [s.split(" ")[1] for s in steps] == ["PUT", "GET", "PUT", "GET"], steps
    assert all("-> 200" in s for s in steps), steps
    assert "curl" in section
    # Only the write is blamed: its read (getCourse) answered what was stored, conformantly.
    assert "### nexsis getCourse:" not in report


def test_batch_failure_says_which_items_are_missing(faulty, tmp_path):
    server, _state = faulty
    set_faults(server, "allocation_batch_first_only")
    code, report, output = _run(server.url, tmp_path)
    assert code == 1, output
    heading = "### moodle-ws tool_muprog_source_manual_allocate_users: `batch_allocates_every_user`"
    section = _failure(report, heading)
    assert "tool_muprog_get_program_allocations lacks users" in section


def test_allocation_scenario_runs_when_every_sandbox_user_is_allocated(faulty, tmp_path):
    """The operation tests (or anything else) may leave every sandbox user allocated: the scenario
    frees one instead of being skipped."""
    server, state = faulty
    ws_ops = "core_webservice_get_site_info,tool_muprog_get_program_allocations"  # nothing deallocates
    for user in range(4, 9):
        if not any(a["programid"] == 1 and a["userid"] == user for a in state.allocations):
            state.allocations.append(State._alloc(500 + user, 1, user))
    code, report, output = _run(server.url, tmp_path, ws_ops)
    assert code == 0, output + report
    row = next(line for line in report.splitlines() if "| scenario_muprog_allocation |" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "pass", row
    assert int(cells[3]) >= 3 and cells[5] == "0", row  # ran (allocate, again, list...), nothing skipped


def test_scenario_that_skips_after_a_request_is_skipped_not_passed(faulty, tmp_path):
    """Every sandbox user holds an allocation the source may not delete (and without NexSIS the run
    has no user of its own): the scenario reads the allocations (one request) and stops; it verified
    nothing, so its verdict is `skip`, never `pass`."""
    server, state = faulty
    ws_ops = "core_webservice_get_site_info,tool_muprog_get_program_allocations"  # nothing deallocates
    state.allocations = [
        {**State._alloc(500 + user, 1, user), "deletepossible": False} for user in range(4, 9)
    ]
    code, report, output = _run(server.url, tmp_path, ws_ops, "--only", "moodle-ws")
    assert code == 0, output + report  # a skip is no violation
    row = next(line for line in report.splitlines() if "| scenario_muprog_allocation |" in line)
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[2] == "skip", row
    assert int(cells[3]) >= 1 and cells[5] == "1", row  # it sent its first request, then skipped
    assert "every sandbox user holds an allocation that cannot be deleted" in report
    junit = (tmp_path / "r" / "junit.xml").read_text()
    case = junit[junit.index('name="scenario_muprog_allocation"') :].split("</testcase>", 1)[0]
    assert "<skipped" in case, case
