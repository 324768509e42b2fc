"""Export -> import -> export is identical for any state the two APIs can reach (issue 12).

Hypothesis draws sequences of calls over both APIs (NexSIS writes and reads, the web-service
writes), with identifiers from small pools so that calls hit each other's records: a course
created by `putCourse` gets groups from `core_group_create_groups`, members, grades, metalinks,
and is deleted again. After each sequence the state is exported, imported into a fresh service
and exported again: the two documents must be equal. The shrunk sequence of a failure is the
smallest reproduction (e.g. `putCourse` then export/import: "duplicate grade item").
"""

from __future__ import annotations

import os
from typing import Any

import orjson
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from nexsis_mock.domain import Service

KEY = "nexsis-demo-api-key-0001"
ADMIN = "ws-admin-token-0001"

USERS = ["S1001", "S1002", "T9001", "M2001", "NEW1", "NEW2"]
USERNAMES = ["ava.adams", "new.one", "new.two", "tmorgan"]
COURSES = ["C789", "C553", "C610", "NEWC1", "NEWC2"]
GROUPS = ["G1", "LAB-A", "NG1", "NG2"]
PROGRAMS = ["P12", "P20", "P30"]
DEPTS, POSITIONS = ["D5", "D6"], ["P3", "P4"]
TIMES = ["2026-01-02T03:04:05Z", "1700000000"]

user = st.sampled_from(USERS)
course = st.sampled_from(COURSES)
small_int = st.integers(min_value=1, max_value=12)
int_text = small_int.map(str)
members = st.lists(st.fixed_dictionaries({"groupid": int_text, "userid": int_text}), min_size=1, max_size=2)
program = st.sampled_from(["1", "2"])


def nexsis(op: str, **params: Any) -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
    return st.fixed_dictionaries(params).map(lambda p: ("nexsis", op, p))


def ws(function: str, **params: Any) -> st.SearchStrategy[tuple[str, str, dict[str, Any]]]:
    return st.fixed_dictionaries(params).map(lambda p: ("moodle-ws", function, p))


CALLS = st.one_of(
    nexsis("putUser", userid=user, username=st.sampled_from(USERNAMES),
           firstname=st.sampled_from(["Ann", "Bo"])),
    nexsis("deleteUser", userid=user),
    nexsis("putCourse", courseid=course, shortname=st.sampled_from(["NS1", "NS2", "TECH-231"]),
           fullname=st.just("New course"), categorypath=st.sampled_from(["/Misc", "/A/B", "/Misc/C"])),
    nexsis("deleteCourse", courseid=course),
    nexsis("enrolUser", userid=user, courseid=course, roleid=st.sampled_from(["student", "editingteacher"])),
    nexsis("unenrolUser", userid=user, courseid=course),
    nexsis("putCourseGroup", courseid=course, groupid=st.sampled_from(GROUPS),
           name=st.sampled_from(["A", "B"])),
    nexsis("deleteCourseGroup", courseid=course, groupid=st.sampled_from(GROUPS)),
    nexsis("addGroupMember", courseid=course, groupid=st.sampled_from(GROUPS), userid=user),
    nexsis("removeGroupMember", courseid=course, groupid=st.sampled_from(GROUPS), userid=user),
    nexsis("addCourseCompletion", courseid=course, userid=user, timecompleted=st.sampled_from(TIMES)),
    nexsis("putMetalink", parentid=course, childid=course),
    nexsis("deleteMetalink", parentid=course, childid=course),
    nexsis("putProgramAllocation", programid=st.sampled_from(PROGRAMS), userid=user),
    nexsis("deleteProgramAllocation", programid=st.sampled_from(PROGRAMS), userid=user),
    nexsis("putCertificationAllocation", certificationid=st.just("C12"), userid=user),
    nexsis("deleteCertificationAllocation", certificationid=st.just("C12"), userid=user),
    nexsis("putJobAssignment", userid=user, departmentid=st.sampled_from(DEPTS),
           positionid=st.sampled_from(POSITIONS)),
    nexsis("deleteJobAssignment", userid=user, departmentid=st.sampled_from(DEPTS),
           positionid=st.sampled_from(POSITIONS)),
    nexsis("putManager", userid=user, managerid=user),
    nexsis("deleteManager", userid=user, managerid=user),
    nexsis("overrideCategoryGrade", courseid=course, catid=st.sampled_from(["6", "7"]), userid=user,
           grade=st.sampled_from(["55.5", "90"])),
    nexsis("getUser", userid=user),
    nexsis("getCourseGrades", courseid=course),
    nexsis("getLogs", limit=st.just(5)),
    ws("core_group_create_groups", groups=st.lists(
        st.fixed_dictionaries({"courseid": small_int.map(str), "name": st.sampled_from(["W1", "W2", "W3"]),
                               "description": st.just(""), "idnumber": st.sampled_from(["", "WI1"])}),
        min_size=1, max_size=2)),
    ws("core_group_delete_groups", groupids=st.lists(small_int.map(str), min_size=1, max_size=2)),
    ws("core_group_add_group_members", members=members),
    ws("core_group_delete_group_members", members=members),
    ws("tool_muprog_source_manual_allocate_users", programid=st.sampled_from(["1", "2", "3"]),
       userids=st.lists(small_int.map(str), min_size=1, max_size=2)),
    ws("tool_muprog_delete_program_allocations", programid=st.sampled_from(["1", "2", "3"]),
       userids=st.lists(small_int.map(str), min_size=1, max_size=2)),
    ws("tool_muprog_archive_program_allocation", programid=program, userid=int_text),
    ws("tool_muprog_restore_program_allocation", programid=program, userid=int_text),
    ws("tool_muprog_source_cohort_add_cohort", programid=st.sampled_from(["1", "2"]),
       cohortid=st.sampled_from(["1", "2", "3"])),
    ws("tool_muprog_source_cohort_delete_cohort", programid=st.sampled_from(["1", "2"]),
       cohortid=st.sampled_from(["1", "2", "3"])),
)


def run_calls(svc: Service, calls: list[tuple[str, str, dict[str, Any]]]) -> None:
    for api, op, params in calls:
        note(f"{op} {params}")
        result = svc.call(api, op, params, KEY if api == "nexsis" else ADMIN)
        assert result.status != 500, (op, params, result.body)


def canonical(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc, option=orjson.OPT_SORT_KEYS)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        self.now += 7
        return self.now


@settings(max_examples=int(os.environ.get("ROUNDTRIP_EXAMPLES", "60")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(CALLS, min_size=8, max_size=40))
def test_export_import_export_is_identical(calls: list[tuple[str, str, dict[str, Any]]]) -> None:
    svc = Service.create(clock=Clock())
    run_calls(svc, calls)
    first = svc.export_state()
    other = Service.create(clock=Clock())
    other.import_state(orjson.loads(canonical(first)))  # what PUT /__admin/state receives
    again = orjson.loads(canonical(other.export_state()))
    first = orjson.loads(canonical(first))
    differ = {name: (first[name], again.get(name)) for name in first if first[name] != again.get(name)}
    assert not differ, f"sections that differ after export -> import -> export: {differ}"


def test_course_created_by_the_api_round_trips() -> None:
    """The shrunk case the property found first: a new course's grade item id was not exported."""
    svc = Service.create()
    created = svc.call("nexsis", "putCourse", {"courseid": "NEWC", "shortname": "NEWC", "fullname": "x"}, KEY)
    assert created.status == 200
    first = svc.export_state()
    other = Service.create()
    other.import_state(first)
    assert canonical(other.export_state()) == canonical(first)


def test_over_http_get_state_then_put_it_back_is_accepted_and_identical() -> None:
    """The issue's report: after API writes, ``PUT /__admin/state`` of ``GET /__admin/state`` was a 400."""
    import httpx

    from tests.mock_server.conftest import NX, WS, Server

    with Server() as srv, httpx.Client(base_url=srv.base_url, timeout=30) as http:
        nx = {"Authorization": f"Bearer {KEY}"}
        assert http.put(f"{NX}/course/RT1", json={"shortname": "RT1", "fullname": "Round trip"},
                        headers=nx).status_code == 200
        assert http.delete(f"{NX}/user/S1001/enrol/C789", headers=nx).status_code in (200, 204)
        made = http.post(WS, data={"wstoken": ADMIN, "wsfunction": "core_group_create_groups",
                                   "moodlewsrestformat": "json", "groups[0][courseid]": "2",
                                   "groups[0][name]": "RT group", "groups[0][description]": ""})
        assert "exception" not in made.text, made.text
        exported = http.get("/__admin/state")
        assert exported.status_code == 200
        put = http.put("/__admin/state", content=exported.content,
                       headers={"Content-Type": "application/json"})
        assert put.status_code == 200, put.text
        assert canonical(http.get("/__admin/state").json()) == canonical(exported.json())
