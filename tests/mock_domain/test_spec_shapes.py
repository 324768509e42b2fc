"""The domain's answers validate against the specs' response schemas (both APIs).

A broad scenario exercises every NexSIS operation and every web-service function, successes and
errors, and each answer is checked with an OpenAPI 3.0 validator against the operation's schema
for that status.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from nexsis_mock.domain import Service
from nexsis_openapi import load_spec

KEY = "nexsis-demo-api-key-0001"
ADMIN = "ws-admin-token-0001"


def _operations(name: str) -> dict[str, tuple[dict[str, Any], dict[str, Any]]]:
    spec = copy.deepcopy(load_spec(name))
    ops = {}
    for _path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "put", "post", "delete"):
                ops[op["operationId"]] = (spec, op["responses"])
    return ops


def _schema(spec: dict[str, Any], response: dict[str, Any]) -> dict[str, Any] | None:
    if "$ref" in response:
        response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
    content = response.get("content", {}).get("application/json")
    if not content or "schema" not in content:
        return None
    return {**content["schema"], "components": spec["components"]}


def check(ops: dict, op_id: str, status: int, body: Any) -> None:
    spec, responses = ops[op_id]
    response = responses.get(str(status)) or responses.get("default")
    assert response is not None, f"{op_id}: status {status} not in the spec"
    schema = _schema(spec, response)
    if schema is None or body is None:
        return
    errors = sorted(OAS30Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{op_id} {status}: {errors[0].message} at {list(errors[0].absolute_path)}"


NEXSIS_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("ping", {}),
    ("getCourse", {"courseid": "C789"}),
    ("getCourse", {"courseid": "NOPE"}),
    (
        "putCourse",
        {"courseid": "C901", "fullname": "F", "shortname": "F1", "startdate": "2025-01-01T00:00:00"},
    ),
    ("putCourse", {"courseid": "C902"}),
    ("listCourseEnrolments", {"courseid": "C789"}),
    ("getCategoryGrades", {"courseid": "C789", "catid": "6"}),
    (
        "overrideCategoryGrade",
        {"courseid": "C789", "catid": "6", "userid": "S1003", "grade": 77.5, "lock": "true"},
    ),
    ("getUser", {"userid": "S1001"}),
    ("putUser", {"userid": "S9000", "username": "s9000"}),
    ("listUserEnrolments", {"userid": "S1001"}),
    ("enrolUser", {"userid": "S9000", "courseid": "C901"}),
    ("listCourseGroups", {"courseid": "C789"}),
    ("getCourseGroup", {"courseid": "C789", "groupid": "G1"}),
    ("putCourseGroup", {"courseid": "C901", "groupid": "GX", "name": "GX"}),
    ("addGroupMember", {"courseid": "C901", "groupid": "GX", "userid": "S9000"}),
    ("addGroupMember", {"courseid": "C901", "groupid": "GX", "userid": "S1001"}),
    ("removeGroupMember", {"courseid": "C901", "groupid": "GX", "userid": "S9000"}),
    ("deleteCourseGroup", {"courseid": "C901", "groupid": "GX"}),
    ("addCourseCompletion", {"courseid": "C789", "userid": "S1001", "timecompleted": "1793520000"}),
    ("getCourseCompletion", {"courseid": "C789", "userid": "S1001"}),
    ("getUserGrades", {"userid": "S1001"}),
    ("getCourseGrades", {"courseid": "C789", "pagesize": 3}),
    ("putMetalink", {"parentid": "C620", "childid": "C789", "group": "new", "groupname": "Meta"}),
    ("getMetalink", {"parentid": "C620", "childid": "C789"}),
    ("deleteMetalink", {"parentid": "C620", "childid": "C789"}),
    ("putProgramAllocation", {"programid": "P20", "userid": "S9000", "startdate": "2025-12-31T10:00:00"}),
    ("getProgramAllocation", {"programid": "P20", "userid": "S9000"}),
    ("deleteProgramAllocation", {"programid": "P20", "userid": "S9000"}),
    ("putCertificationAllocation", {"certificationid": "C12", "userid": "S9000"}),
    ("getCertificationAllocation", {"certificationid": "C12", "userid": "S9000"}),
    ("deleteCertificationAllocation", {"certificationid": "C12", "userid": "S9000"}),
    ("putJobAssignment", {"userid": "S9000", "departmentid": "D5", "positionid": "P3"}),
    ("listJobAssignments", {"userid": "S9000"}),
    ("deleteJobAssignment", {"userid": "S9000", "departmentid": "D5", "positionid": "P3"}),
    ("putManager", {"userid": "S9000", "managerid": "M2001", "perm_be_notified": 1}),
    ("listManagers", {"userid": "S9000"}),
    ("deleteManager", {"userid": "S9000", "managerid": "M2001"}),
    ("unenrolUser", {"userid": "S9000", "courseid": "C901"}),
    ("getLogs", {"limit": 5, "level": ["info", "warning"]}),
    ("deleteUser", {"userid": "S9000"}),
    ("deleteCourse", {"courseid": "C901"}),
]

WS_CALLS: list[tuple[str, dict[str, Any]]] = [
    ("core_webservice_get_site_info", {}),
    ("tool_muprog_get_programs", {"fieldvalues": [{"field": "idnumber", "value": "P12"}]}),
    ("tool_muprog_get_programs", {"fieldvalues": [{"field": "archived", "value": "true"}]}),
    ("tool_muprog_get_program_allocations", {"programid": "1"}),
    ("tool_muprog_source_manual_allocate_users", {"programid": "2", "userids": ["11"]}),
    (
        "tool_muprog_update_program_allocation",
        {"programid": "2", "userid": "11", "allocationdates": {"timedue": "1893456000"}},
    ),
    ("tool_muprog_archive_program_allocation", {"programid": "2", "userid": "11"}),
    ("tool_muprog_restore_program_allocation", {"programid": "2", "userid": "11"}),
    ("tool_muprog_delete_program_allocations", {"programid": "2", "userids": ["11"]}),
    ("tool_muprog_source_cohort_get_cohorts", {"programid": "1"}),
    ("tool_muprog_source_cohort_add_cohort", {"programid": "2", "cohortid": "3"}),
    ("tool_muprog_source_cohort_delete_cohort", {"programid": "2", "cohortid": "3"}),
    ("core_group_create_groups", {"groups": [{"courseid": "2", "name": "Shape", "description": ""}]}),
    ("core_group_add_group_members", {"members": [{"groupid": "5", "userid": "10"}]}),
    ("core_group_delete_group_members", {"members": [{"groupid": "5", "userid": "10"}]}),
    ("core_group_delete_groups", {"groupids": ["5"]}),
    ("tool_muprog_get_program_allocations", {"programid": "999"}),
]


@pytest.fixture(scope="module")
def shared() -> Service:
    return Service.create()


def test_nexsis_answers_match_spec(shared: Service) -> None:
    ops = _operations("nexsis")
    assert {op for op, _ in NEXSIS_CALLS} == set(ops)
    for op, params in NEXSIS_CALLS:
        result = shared.call("nexsis", op, params, KEY)
        check(ops, op, result.status, result.body)
    unauthorized = shared.call("nexsis", "getUser", {"userid": "S1001"}, "bad-key")
    check(ops, "getUser", unauthorized.status, unauthorized.body)


def test_ws_answers_match_spec(shared: Service) -> None:
    ops = _operations("moodle-ws")
    for function, params in WS_CALLS:
        if function not in ops:
            continue  # core_webservice_get_site_info is not part of the spec
        result = shared.call("moodle-ws", function, params, ADMIN)
        check(ops, function, result.status, result.body)
