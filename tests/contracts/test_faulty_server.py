"""`nexsis check` against the faulty server: clean when faults are off, each fault caught and named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.contracts.conftest import FAULTY_OPS, run_check, set_faults
from tests.faulty_server.app import NEXSIS_TOKEN, WS_NOCAP_TOKEN, WS_TOKEN

CONFIG = """\
sandbox:
  moodle-ws: {courses: [2, 3], programs: [1, 2], users: [4, 5, 6, 7, 8], cohorts: [1, 2]}
"""

#: fault -> (operation or scenario that must fail, rule that must be named)
FAULT_RULES = {
    "missing_field": ("getUser", "response_schema_conformance"),
    "wrong_type": ("getUser", "response_schema_conformance"),
    "nonascii_500": ("putUser", "not_a_server_error"),
    "auth_ignored": ("getUser", "auth_missing_token"),
    "put_not_persisted": ("scenario_nexsis_lifecycle", "put_then_get"),
    "ws_error_500": ("tool_muprog_get_program_allocations", "ws_exception_envelope"),
    "ws_no_errorcode": ("tool_muprog_get_program_allocations", "ws_exception_envelope"),
    "duplicate_allocation": ("scenario_muprog_allocation", "allocation_idempotent"),
    "ws_capability_ignored": ("", "auth_capability_required"),  # whichever write ran with valid ids
    # class 1, a valid request refused (faults_accept.py; rules in contracts/acceptance/)
    "form_body_415": ("putCourse", "form_body_refused"),
    "query_token_400": ("putUser", "query_token_refused"),
    "iso_millis_400": ("putCourse", "timestamp_form_refused"),
    "ws_body_token_ignored": ("core_webservice_get_site_info", "ws_token_in_body_refused"),
    "ws_setting_refused": ("core_webservice_get_site_info", "ws_settings_refused"),
    # class 5, filters and paging honoured (faults_accept.py; rules in contracts/filters/)
    "logs_limit_ignored": ("getLogs", "logs_limit_not_honoured"),
    "logs_offset_ignored": ("getLogs", "logs_pages_overlap"),
    "logs_level_ignored": ("getLogs", "logs_level_filter_ignored"),
    "allocation_userids_ignored": ("tool_muprog_get_program_allocations", "userids_filter_ignored"),
    # classes 2, 3, 4, 6: writes read back (faults_effects.py; rules in contracts/effects/)
    "course_update_ignored": ("putCourse", "update_changes_existing"),
    "course_create_lost": ("putCourse", "create_reads_back"),
    "course_delete_ignored": ("deleteCourse", "delete_removes"),
    "user_delete_ignored": ("deleteUser", "delete_removes"),
    "deallocation_ignored": ("tool_muprog_delete_program_allocations", "deallocate_takes_effect"),
    "allocation_batch_first_only": ("tool_muprog_source_manual_allocate_users", "batch_allocates_every_user"),
    "groups_batch_first_only": ("core_group_create_groups", "batch_creates_every_group"),
    "user_answer_internal_id": ("putUser", "answer_names_external_id"),
    "allocation_returns_skipped": ("tool_muprog_source_manual_allocate_users", "allocation_returns_only_new"),
    "deallocation_reports_unremoved": (
        "tool_muprog_delete_program_allocations",
        "deallocate_reports_only_removed",
    ),
    "course_startdate_unix": ("getCourse", "course_startdate_iso8601"),
}


def _check(
    server_url: str, tmp_path: Path, *extra: str, ops: str = FAULTY_OPS, config_text: str = CONFIG
) -> tuple[int, str, str]:
    config = tmp_path / "contracts.yaml"
    config.write_text(config_text)
    report = tmp_path / "report"
    proc = run_check(
        "--base-url",
        server_url,
        "-o",
        ops,
        "--max-examples",
        "6",
        "--seed",
        "7",
        "--config",
        str(config),
        "--report-dir",
        str(report),
        *extra,
    )
    text = (report / "report.md").read_text() if (report / "report.md").exists() else ""
    return proc.returncode, text, proc.stdout + proc.stderr


def test_conformant_when_faults_are_off(faulty, tmp_path):
    server, state = faulty
    code, report, output = _check(server.url, tmp_path)
    assert code == 0, output + report
    assert "conformant" in report
    # Everything the run created is gone again.
    assert not [u for u in state.users if u.startswith("NXCK")]
    assert not [c for c in state.courses if c.startswith("NXCK")]
    assert not state.groups
    assert not vars(state).get("metalinks") and not any(vars(state).get("managers", {}).values())


@pytest.mark.parametrize("fault", sorted(FAULT_RULES))
def test_each_fault_is_caught_and_named(faulty, tmp_path, fault):
    server, _state = faulty
    set_faults(server, fault)
    code, report, output = _check(server.url, tmp_path)
    operation, rule = FAULT_RULES[fault]
    assert code == 1, output
    heading = f"{operation}: `{rule}`" if operation else f": `{rule}`"
    assert heading in report, f"{fault}: expected {heading!r} in the report\n{report[:3000]}"


def test_reports_render_and_hold_no_token(faulty, tmp_path):
    server, _state = faulty
    set_faults(server, "wrong_type", "ws_no_errorcode", "auth_ignored")
    code, report, output = _check(server.url, tmp_path)
    assert code == 1
    junit = (tmp_path / "report" / "junit.xml").read_text()
    html = (tmp_path / "report" / "report.html").read_text()
    assert "<testcase" in junit and 'name="getUser"' in junit and "scenario_nexsis_lifecycle" in junit
    assert "<failure" in junit
    assert "Coverage" in report and "curl" in report and "Coverage" in html
    for token in (NEXSIS_TOKEN, WS_TOKEN, WS_NOCAP_TOKEN):
        for name, text in (("junit", junit), ("html", html), ("md", report), ("console", output)):
            assert token not in text, f"token leaked into {name}"


# -- the rules whose faults live in faults_rules.py: a run over the reads they need ----------------------
#: The faulty server's operations plus the reads `faults_rules.py` serves (kept out of FAULTY_OPS, which
#: other tests count and diff against the mock).
RULE_OPS = (
    FAULTY_OPS
    + ",listUserEnrolments,listCourseEnrolments,tool_muprog_get_programs,getCourseGrades,getCategoryGrades"
    + ",listCourseGroups,putProgramAllocation,deleteProgramAllocation,enrolUser,unenrolUser"
    + ",putCourseGroup,getCourseGroup,deleteCourseGroup"
    + ",putMetalink,getMetalink,deleteMetalink,putManager,listManagers,deleteManager"
)
#: The seed course and its grade category are the NexSIS sandbox of these runs (grades need them).
RULE_CONFIG = CONFIG + "  nexsis: {courses: [SEED-C1], categories: ['1'], programs: [PRG-1]}\n"
#: fault -> (operation, rule): the ONLY failure the run may report.
RULE_FAULTS = {
    "enrol_plugin_ignored": ("listUserEnrolments", "plugin_filter_ignored"),
    "programs_fieldvalues_ignored": ("tool_muprog_get_programs", "fieldvalues_filter_ignored"),
    "grades_pagesize_ignored": ("getCourseGrades", "pagesize_not_honoured"),
    "category_userid_ignored": ("getCategoryGrades", "userid_filter_ignored"),
    "ws_groups_not_in_nexsis": ("core_group_create_groups", "batch_creates_every_group"),
    "ws_group_delete_stale": ("core_group_delete_groups", "delete_removes"),
    "nexsis_allocation_not_in_ws": ("putProgramAllocation", "allocation_seen_by_ws"),
    "enrol_not_in_user_list": ("enrolUser", "enrol_takes_effect"),
    "unenrol_ignored": ("unenrolUser", "unenrol_takes_effect"),
    "user_delete_keeps_enrolments": ("deleteUser", "delete_user_removes_enrolments"),
    "group_update_ignored": ("putCourseGroup", "create_reads_back"),
    "group_delete_ignored": ("deleteCourseGroup", "delete_removes"),
    "metalink_delete_ignored": ("putMetalink", "create_then_delete"),
    "manager_delete_ignored": ("putManager", "create_then_delete"),
}


def _fired(tmp_path: Path) -> set[tuple[str, str]]:
    """(operation, rule) of every failure in the run's report.json."""
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    return {(op["name"], f["check"]) for op in data["operations"] for f in op["failures"]}


def test_rule_reads_conformant_when_faults_are_off(faulty, tmp_path):
    server, state = faulty
    code, report, output = _check(server.url, tmp_path, ops=RULE_OPS, config_text=RULE_CONFIG)
    assert code == 0, output + report
    assert _fired(tmp_path) == set()
    assert "SEED-C1" in state.courses and not [c for c in state.courses if c.startswith("NXCK")]
    assert not [u for u in state.users if u.startswith("NXCK")] and not state.enrolments
    assert not vars(state).get("nexsis_allocations")  # the run's NexSIS allocations were removed
    assert not state.groups
    assert not vars(state).get("metalinks") and not any(vars(state).get("managers", {}).values())
    data = json.loads((tmp_path / "report" / "report.json").read_text())
    ran = {op["name"]: set(op["checks_run"]) for op in data["operations"]}
    # The rules ran (found nothing), they were not skipped for want of data.
    for operation, rule in RULE_FAULTS.values():
        assert rule in ran.get(operation, set()), (operation, ran.get(operation))


@pytest.mark.parametrize("fault", sorted(RULE_FAULTS))
def test_each_rule_fault_fires_only_its_rule(faulty, tmp_path, fault):
    server, _state = faulty
    set_faults(server, fault)
    code, _report, output = _check(server.url, tmp_path, ops=RULE_OPS, config_text=RULE_CONFIG)
    assert code == 1, output
    assert _fired(tmp_path) == {RULE_FAULTS[fault]}, output
