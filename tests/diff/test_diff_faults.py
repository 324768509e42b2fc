"""`nexsis diff` of tests/faulty_server against itself with one fault planted: each behavioural
difference reported on the call that shows it, and nothing when no fault is planted."""

from __future__ import annotations

import pytest

from tests.contracts.conftest import FAULTY_OPS, ServerThread
from tests.diff.conftest import diff_lines, identical, run_diff
from tests.faulty_server.app import FAULTS, NEXSIS_TOKEN, WS_NOCAP_TOKEN, WS_TOKEN, State, create_app

CONFIG = (
    "sandbox:\n  moodle-ws: {courses: [2, 3], programs: [1, 2], users: [4, 5, 6, 7, 8], cohorts: [1, 2]}\n"
    f"operations: [{FAULTY_OPS}]\n"
)
ENV = {"NEXSIS_TOKEN": NEXSIS_TOKEN, "MOODLE_WS_TOKEN": WS_TOKEN, "MOODLE_WS_NOCAP_TOKEN": WS_NOCAP_TOKEN}

#: fault -> a (operation, step, what differs) the diff must print; step "" is the anchor.
EXPECTED = {
    "missing_field": ("getUser", "", "shape at email: missing in the candidate"),
    "wrong_type": ("getUser", "", "shape at firstname: string"),
    "nonascii_500": ("putUser", "read back putUser", "status: 200 vs 500"),
    "auth_ignored": ("ping", "no credentials ping", "status: 401 vs 200"),
    "put_not_persisted": ("getUser", "read back putUser", "value at firstname"),
    "ws_error_500": (
        "tool_muprog_get_program_allocations",
        "missing record tool_muprog_get_program_allocations",
        "status: 200 vs 500",
    ),
    "ws_no_errorcode": (
        "tool_muprog_get_program_allocations",
        "missing record tool_muprog_get_program_allocations",
        "shape at errorcode: missing in the candidate",
    ),
    "duplicate_allocation": (
        "tool_muprog_source_manual_allocate_users",
        "repeat tool_muprog_source_manual_allocate_users",
        "shape at (root): 0 items vs 1",
    ),
    "ws_capability_ignored": (
        "tool_muprog_source_manual_allocate_users",
        "no capability tool_muprog_source_manual_allocate_users",
        "shape at (root): object",
    ),
}


def _diff(tmp_path, fault: str | None):
    config = tmp_path / "contracts.yaml"
    config.write_text(CONFIG)
    reference, candidate = State(), State()
    if fault:
        candidate.faults = {fault}
    with ServerThread(create_app(reference)) as a, ServerThread(create_app(candidate)) as b:
        proc = run_diff(
            "--reference", a.url, "--candidate", b.url, "--config", str(config), "--seed", "3", env=ENV
        )
    return proc, reference, candidate


def test_expectations_name_planted_faults():
    # The faults a client's own requests can show; the acceptance faults (other request forms)
    # are the suite's to find (tests/contracts/test_faulty_server.py).
    assert set(EXPECTED) <= FAULTS


def test_faulty_server_against_itself_is_identical(tmp_path):
    proc, reference, candidate = _diff(tmp_path, None)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    same, total = identical(proc.stdout)
    assert same == total > 30
    # The scenario cleaned up after itself on both sides.
    assert not [u for u in reference.users if u.startswith("NXCK")]
    assert not [u for u in candidate.users if u.startswith("NXCK")]


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_planted_difference_is_reported_on_the_right_call(tmp_path, fault):
    operation, step, what = EXPECTED[fault]
    proc, _reference, _candidate = _diff(tmp_path, fault)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    label = f"{operation} [{step}]" if step else f"{operation}:"
    lines = diff_lines(proc.stdout)
    assert any(label in line and what in line for line in lines), lines
    same, total = identical(proc.stdout)
    assert same == total - len(lines)
