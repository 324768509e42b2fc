"""`nexsis diff` of the mock (reference) against tests/faulty_server (candidate) with one fault
planted: each behavioural difference reported on the call that shows it, and nothing when no fault
is planted.

The two are different sites, as a real staging and the mock are: other tokens, other record ids,
other data. Each side gets its own contracts.yaml (`--reference-config` / `--candidate-config`)
whose sandbox names that site's records in the same order; the mock is started with its default
site plus one line saying which functions its service offers (the faulty server's), as a team would
configure the mock to stand for their site.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from nexsis_mock.app import create_app as create_mock
from nexsis_mock.fixtures import DEFAULT_FIXTURE
from tests.contracts.conftest import FAULTY_OPS, ServerThread
from tests.diff.conftest import MOCK_ENV, diff_lines, identical, run_diff
from tests.faulty_server.app import (
    FAULTS,
    NEXSIS_TOKEN,
    SERVED,
    WS_NOCAP_TOKEN,
    WS_TOKEN,
    State,
    create_app,
)

OPERATIONS = FAULTY_OPS
#: Records that stand for each other: the mock's program P30 (manual source, no allocations) is
#: the faulty site's program 2 (no allocations either).
REFERENCE_SANDBOX = {"moodle-ws": {"programs": [3]}}
CANDIDATE_SANDBOX = {"moodle-ws": {"programs": [2], "courses": [2, 3], "users": [4, 5, 6, 7, 8]}}
ENV = {
    **{f"REFERENCE_{name}": value for name, value in MOCK_ENV.items()},
    "CANDIDATE_NEXSIS_TOKEN": NEXSIS_TOKEN,
    "CANDIDATE_MOODLE_WS_TOKEN": WS_TOKEN,
    "CANDIDATE_MOODLE_WS_NOCAP_TOKEN": WS_NOCAP_TOKEN,
}

#: fault -> a (operation, step, what differs) the diff must print; step "" is the anchor.
EXPECTED = {
    "missing_field": ("getUser", "", "shape at email: missing in the candidate"),
    "wrong_type": ("getUser", "", "shape at firstname: string 'Contract' vs number 12345"),
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
    # faults_effects.py and faults_accept.py: what the probes (read after delete, batches) show
    "course_update_ignored": ("getCourse", "read back putCourse", "value at fullname"),
    "course_create_lost": ("getCourse", "", "status: 200 vs 404"),
    "course_startdate_unix": ("getCourse", "", "shape at startdate: string '2026-01-05T08:00:00+00:00'"),
    "allocation_returns_skipped": (
        "tool_muprog_source_manual_allocate_users",
        "repeat tool_muprog_source_manual_allocate_users",
        "shape at (root): 0 items vs 1",
    ),
    "deallocation_reports_unremoved": ("tool_muprog_delete_program_allocations", "", "0 items vs 1"),
    "deallocation_ignored": ("tool_muprog_delete_program_allocations", "cleanup", "0 items vs 1"),
    "logs_limit_ignored": ("getLogs", "", "shape at (root): 5 items vs"),
    "course_delete_ignored": ("getCourse", "read after delete deleteCourse", "status: 404 vs 200"),
    "user_delete_ignored": ("getUser", "read after delete deleteUser", "status: 404 vs 200"),
    "user_answer_internal_id": ("putUser", "", "value at userid: user id 'NXCK000003U0' vs '1"),
    "allocation_batch_first_only": (
        "tool_muprog_get_program_allocations",
        "batch tool_muprog_source_manual_allocate_users",
        "shape at (root): 3 items vs 1",
    ),
    "groups_batch_first_only": (
        "core_group_create_groups",
        "batch core_group_create_groups",
        "shape at (root): 3 items vs 1",
    ),
    "allocation_userids_ignored": (
        "tool_muprog_get_program_allocations",
        "batch tool_muprog_source_manual_allocate_users",
        "shape at (root): 3 items vs 4",
    ),
}
#: Planted faults the client scenario cannot show, and why (the suite finds them:
#: tests/contracts/test_faulty_server.py). Faults added later need no entry: the test below
#: checks every fault outside EXPECTED leaves the diff identical.
NOT_SHOWN = {
    # other request forms than a client's own (class 1 acceptance, class 5 log filters)
    "form_body_415": "a form body; the scenario sends JSON",
    "query_token_400": "a ?token= query; the scenario sends Bearer",
    "iso_millis_400": "an ISO date with milliseconds; the scenario sends seconds",
    "ws_body_token_ignored": "wstoken in the body; the scenario sends it in the query",
    "ws_setting_refused": "moodlewssetting* fields; the scenario sends none",
    "logs_level_ignored": "a level filter; the anchor asks for the newest entries",
    "logs_offset_ignored": "an offset; the anchor asks for the first page",
    # faults_rules.py / faults_programs.py: operations outside this diff's selection (FAULTY_OPS).
    # Diffed over test_faulty_server.RULE_OPS the two sites still differ where no fault is planted:
    # the faulty server has no putCourseGroup/addGroupMember, other grade and program data (mock
    # fixture vs SEED-C1/PRG-*), enrolstartdate 0 vs the time of the call, a NexSIS allocation's
    # timestart; and log `params` texts embed each side's sandbox ids.
    "enrol_plugin_ignored": "listUserEnrolments with plugin: not selected",
    "programs_fieldvalues_ignored": "tool_muprog_get_programs: not selected",
    "grades_pagesize_ignored": "getCourseGrades: not selected",
    "category_userid_ignored": "getCategoryGrades: not selected",
    "ws_groups_not_in_nexsis": "listCourseGroups: not selected",
    "ws_group_delete_stale": "listCourseGroups: not selected",
    "nexsis_allocation_not_in_ws": "putProgramAllocation: not selected",
    # faults_enrolments.py / faults_groups.py: seen only through reads not selected here
    "enrol_not_in_user_list": "listUserEnrolments: not selected",
    "unenrol_ignored": "listUserEnrolments: not selected (unenrolUser answers 200 either way)",
    "user_delete_keeps_enrolments": "listCourseEnrolments after deleteUser: not selected",
    "group_update_ignored": "putCourseGroup/getCourseGroup: not selected",
    "group_delete_ignored": "deleteCourseGroup/getCourseGroup: not selected",
}


def _configs(tmp_path: Path) -> list[str]:
    paths = []
    for side, sandbox in (("reference", REFERENCE_SANDBOX), ("candidate", CANDIDATE_SANDBOX)):
        path = tmp_path / f"{side}.yaml"
        path.write_text(yaml.safe_dump({"sandbox": sandbox, "operations": [OPERATIONS]}))
        paths += [f"--{side}-config", str(path)]
    return paths


def _diff(tmp_path: Path, fault: str | None):
    site = tmp_path / "site.yaml"  # the mock's service offers what the faulty server serves
    site.write_text(yaml.safe_dump({"site": {"service_functions": list(SERVED)}}))
    candidate = State()
    if fault:
        candidate.faults = {fault}
    mock = create_mock(swagger_ui=False, fixtures=[DEFAULT_FIXTURE, site])
    with ServerThread(mock) as a, ServerThread(create_app(candidate)) as b:
        proc = run_diff(
            "--reference", a.url, "--candidate", b.url, *_configs(tmp_path), "--seed", "3", env=ENV
        )
    return proc, candidate


def test_expectations_name_planted_faults():
    assert set(EXPECTED) | set(NOT_SHOWN) <= FAULTS
    assert not set(EXPECTED) & set(NOT_SHOWN)


@pytest.mark.parametrize("fault", sorted(FAULTS - set(EXPECTED)))
def test_fault_the_scenario_cannot_show_leaves_it_identical(tmp_path, fault):
    """Every other planted fault (NOT_SHOWN says why for the known ones; faults added later are
    covered too): no difference at all, so a fault the scenario starts to show must move to
    EXPECTED with its call."""
    proc, _candidate = _diff(tmp_path, fault)
    assert proc.returncode == 0, f"{fault} now shows: add it to EXPECTED\n{proc.stdout}{proc.stderr}"


def test_mock_against_clean_faulty_server_is_identical(tmp_path):
    proc, candidate = _diff(tmp_path, None)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    same, total = identical(proc.stdout)
    assert same == total > 40
    assert "not exercised" not in proc.stdout
    # The scenario cleaned up after itself on the candidate.
    assert not [u for u in candidate.users if u.startswith("NXCK")]
    assert not candidate.enrolments and not candidate.groups


def test_one_shared_config_cannot_describe_two_sites(tmp_path):
    """Without per-side sandboxes the mock's program 1 (nine allocations) meets the faulty site's."""
    shared = tmp_path / "shared.yaml"
    shared.write_text(yaml.safe_dump({"sandbox": CANDIDATE_SANDBOX, "operations": [OPERATIONS]}))
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump({"site": {"service_functions": list(SERVED)}}))
    mock = create_mock(swagger_ui=False, fixtures=[DEFAULT_FIXTURE, site])
    with ServerThread(mock) as a, ServerThread(create_app(State())) as b:
        proc = run_diff(
            "--reference", a.url, "--candidate", b.url, "--config", str(shared), "--seed", "3", env=ENV
        )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert any("tool_muprog_get_program_allocations:" in line for line in diff_lines(proc.stdout))


@pytest.mark.parametrize("fault", sorted(EXPECTED))
def test_planted_difference_is_reported_on_the_right_call(tmp_path, fault):
    operation, step, what = EXPECTED[fault]
    proc, _candidate = _diff(tmp_path, fault)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    label = f"{operation} [{step}]:" if step else f"{operation}:"
    lines = diff_lines(proc.stdout)
    assert any(label in line and what in line for line in lines), lines
    same, total = identical(proc.stdout)
    assert same == total - len(lines)


def test_per_side_configs_selecting_other_operations_are_refused(tmp_path):
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump({"sandbox": CANDIDATE_SANDBOX, "operations": ["getUser"]}))
    args = _configs(tmp_path)
    args[3] = str(other)  # the candidate's config
    proc = run_diff("--reference", "http://127.0.0.1:9", "--candidate", "http://127.0.0.1:9", *args, env=ENV)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "select other operations" in proc.stderr


def test_no_capability_token_for_one_side_only_drops_those_probes(tmp_path):
    env = {**ENV, "CANDIDATE_MOODLE_WS_NOCAP_TOKEN": "", "MOODLE_WS_NOCAP_TOKEN": ""}
    site = tmp_path / "site.yaml"
    site.write_text(yaml.safe_dump({"site": {"service_functions": list(SERVED)}}))
    mock = create_mock(swagger_ui=False, fixtures=[DEFAULT_FIXTURE, site])
    with ServerThread(mock) as a, ServerThread(create_app(State())) as b:
        proc = run_diff(
            "--reference", a.url, "--candidate", b.url, *_configs(tmp_path), "--seed", "3", env=env
        )
    # Sent to the reference only, the probes would be calls the candidate "did not make" (exit 1).
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "no MOODLE_WS_NOCAP_TOKEN for the candidate" in proc.stderr
