"""NexSIS operations on the default site: shapes, semantics and client errors (no HTTP)."""

from __future__ import annotations

import pytest

from nexsis_mock.domain import Service

from .conftest import NEXSIS_KEY


def test_ping_and_auth(svc: Service, nx) -> None:
    assert nx("ping").body == {"message": "pong"}
    bad = svc.call("nexsis", "ping", {}, "wrong-key")
    assert bad.status == 401 and bad.body["error"] == "unauthorized"
    assert svc.call("nexsis", "ping", {}, None).status == 401
    assert (
        svc.check_nexsis_token(NEXSIS_KEY)
        and not svc.check_nexsis_token("nope")
        and not svc.check_nexsis_token(None)
    )


def test_user_put_is_create_then_idempotent_update(nx) -> None:
    body = {"username": "student123", "firstname": "Student", "lastname": "Smith", "email": "s@inst.edu"}
    first = nx("putUser", userid="S123", **body)
    assert first.status == 200
    assert first.body == {"userid": "S123", **body}
    assert nx("putUser", userid="S123", **body).body == first.body
    assert nx("putUser", userid="S123", lastname="Jones").body["lastname"] == "Jones"
    assert nx("getUser", userid="S123").body["lastname"] == "Jones"


def test_user_errors(nx) -> None:
    assert nx("getUser", userid="NOPE").status == 404
    # Created without a username: Moodle needs one, the plugin names it after the external id (E29).
    made = nx("putUser", userid="S-Ünï 998", firstname="x")
    assert made.status == 200 and made.body["username"] == "s-n998", made.body
    # An empty username is a username (user_create_user refuses none) and stays one on update.
    assert nx("putUser", userid="S998", username="").body["username"] == ""
    assert nx("putUser", userid="S998", firstname="y").body["username"] == ""
    again = nx("putUser", userid="S997", username="")
    assert again.status == 400 and "already used" in again.body["message"]  # Moodle's unique index
    taken = nx("putUser", userid="S999", username="ava.adams")
    assert taken.status == 400 and "already used" in taken.body["message"]
    # Ids no record can have are unknown when looked up (the spec's path pattern admits them) and
    # invalid when a PUT would create a record under them.
    for bad in ("a/b", "x" * 5000, "", "tab\there"):
        result = nx("getUser", userid=bad)
        assert result.status == 404 and result.body["error"] == "not_found", bad
        result = nx("putUser", userid=bad, username="u", firstname="f", lastname="l", email="e@x.org")
        assert result.status == 400 and result.body["error"] == "invalid_parameter", bad
    assert nx("getUser", userid="..").status == 404


def test_course_put_creates_category_path(nx) -> None:
    created = nx(
        "putCourse",
        courseid="C900",
        fullname="New",
        shortname="NEW-1",
        startdate="2017-08-16T21:09:30+00:00",
        categorypath="/Arts/Music",
    )
    assert created.status == 200
    assert created.body == {
        "courseid": "C900",
        "fullname": "New",
        "shortname": "NEW-1",
        "startdate": "2017-08-16T21:09:30+00:00",
        "categorypath": "/Arts/Music",
    }
    assert nx("putCourse", courseid="C901", fullname="Other", shortname="NEW-1").status == 400
    # Created without names: shortname = courseid, fullname = shortname (ERRATA E29).
    bare = nx("putCourse", courseid="C902")
    assert bare.status == 200 and (bare.body["shortname"], bare.body["fullname"]) == ("C902", "C902")
    named = nx("putCourse", courseid="C903", shortname="S903")
    assert (named.body["shortname"], named.body["fullname"]) == ("S903", "S903")
    # Empty names are stored as sent, on creation and on update (create_course refuses none).
    empty = nx("putCourse", courseid="C904", fullname="", shortname="")
    assert empty.status == 200 and (empty.body["shortname"], empty.body["fullname"]) == ("", "")
    assert nx("putCourse", courseid="C902", fullname="").body["fullname"] == ""
    assert nx("putCourse", courseid="C900", startdate="not a date").status == 400
    assert nx("getCourse", courseid="C789").body["categorypath"] == "/Technology/Design/Modern Programming"


def test_enrol_list_unenrol(nx) -> None:
    assert nx("enrolUser", userid="S1024", courseid="C789", roleid="student").status == 200
    rows = nx("listCourseEnrolments", courseid="C789").body
    mine = [r for r in rows if r["idnumber"] == "S1024"]
    assert mine and mine[0]["enrol"] == "nexsis" and mine[0]["role"] == "Student"
    assert set(mine[0]) == {
        "userenrol_id",
        "enrol",
        "enrolstatus",
        "enrolstartdate",
        "enrolenddate",
        "firstname",
        "lastname",
        "email",
        "idnumber",
        "role",
    }
    assert all(isinstance(mine[0][k], str) for k in ("userenrol_id", "enrolstatus"))
    courses = nx("listUserEnrolments", userid="S1024", plugin="nexsis").body
    assert [c["courseid"] for c in courses] == ["C789"] and courses[0]["roles"] == ["student"]
    assert nx("enrolUser", userid="S1024", courseid="C789", roleid="flying").status == 400
    assert nx("enrolUser", userid="NOPE", courseid="C789").status == 404
    assert nx("enrolUser", userid="S1024", courseid="NOPE").status == 404
    assert nx("unenrolUser", userid="S1024", courseid="C789", plugin="manual").status == 404
    assert nx("unenrolUser", userid="S1024", courseid="C789", plugin="nexsis").status == 200
    assert nx("listUserEnrolments", userid="S1024", plugin="nexsis").body == []


def test_groups_and_membership_needs_enrolment(nx) -> None:
    assert nx("putCourseGroup", courseid="C789", groupid="G9", name="Group 9", description="d").body == {
        "groupid": "G9",
        "name": "Group 9",
        "description": "d",
    }
    assert nx("putCourseGroup", courseid="C789", groupid="G8", name="Group 9").status == 400
    # A group created without a name is named after its id (E29).
    assert nx("putCourseGroup", courseid="C789", groupid="G7").body["name"] == "G7"
    not_enrolled = nx("addGroupMember", courseid="C789", groupid="G9", userid="S1024")
    assert not_enrolled.status == 400 and "not enrolled" in not_enrolled.body["message"]
    assert nx("addGroupMember", courseid="C789", groupid="G9", userid="S1001").status == 200
    assert nx("addGroupMember", courseid="C789", groupid="G9", userid="S1001").status == 200  # idempotent
    assert nx("removeGroupMember", courseid="C789", groupid="G9", userid="S1001").status == 200
    assert nx("removeGroupMember", courseid="C789", groupid="G9", userid="S1001").status == 404
    assert nx("deleteCourseGroup", courseid="C789", groupid="G9").status == 200
    assert nx("getCourseGroup", courseid="C789", groupid="G9").status == 404


def test_completion_added_once_with_info_log(nx) -> None:
    first = nx(
        "addCourseCompletion", courseid="C889", userid="S1010", timecompleted="2026-11-01T08:00:00.000Z"
    )
    assert first.status == 200 and first.body["timecompleted"] == "1793520000"
    again = nx("addCourseCompletion", courseid="C889", userid="S1010", timecompleted="1700000000")
    assert again.status == 200 and again.body == first.body
    assert nx("getCourseCompletion", courseid="C889", userid="S1010").body == first.body
    infos = nx("getLogs", level="info", limit=5).body
    assert any(e["message"] == "Course completion already exists" for e in infos)
    assert nx("addCourseCompletion", courseid="C889", userid="S1010", timecompleted="yesterday").status == 400


def test_grades_letters_and_paging(nx) -> None:
    grades = nx("getUserGrades", userid="S1001").body
    assert grades[0] == {
        "userid": "S1001",
        "courseid": "C789",
        "rawfinalgrade": 92.0,
        "rawgrademax": 100.0,
        "gradeletter": "A-",
        "gradepercent": 0.92,
        "feedback": "Great effort!",
        "timemodified": "2017-08-16T21:29:30+00:00",
    }
    page = nx("getCourseGrades", courseid="C789", pagesize=3).body
    assert len(page) == 3 and [g["gradeletter"] for g in page] == ["A-", "B-", "A"]
    assert len(nx("getCourseGrades", courseid="C789", pagesize=5, page=2).body) == 2


def test_category_grade_override_and_lock(nx) -> None:
    rows = nx("getCategoryGrades", courseid="C789", catid="6", userid=["S1001", "S1002"]).body
    assert [r["user_idnumber"] for r in rows] == ["S1001", "S1002"]
    assert rows[0]["finalgrade"] == "95.00000" and rows[0]["categoryid"] == "6"
    over = nx("overrideCategoryGrade", courseid="C789", catid="6", userid="S1001", grade=80, lock="true")
    assert over.status == 200 and over.body["finalgrade"] == "80.00000" and over.body["overridden"] != "0"
    assert "gradeid" not in over.body and "id" in over.body
    locked = nx("overrideCategoryGrade", courseid="C789", catid="6", userid="S1001", grade=70)
    assert locked.status == 400
    assert nx("overrideCategoryGrade", courseid="C789", catid="6", userid="S1002", grade=101).status == 400
    assert nx("overrideCategoryGrade", courseid="C789", catid="6", userid="S1024", grade=50).status == 400
    assert nx("getCategoryGrades", courseid="C889", catid="6").status == 404


def test_metalink_mirrors_enrolments(nx) -> None:
    created = nx(
        "putMetalink", parentid="C620", childid="C789", group="new", groupname="API students", groupid="M1"
    )
    assert (
        created.status == 200 and created.body["enrol"] == "meta" and created.body["customint2"] is not None
    )
    assert (
        nx(
            "putMetalink",
            parentid="C620",
            childid="C789",
            group="new",
            groupname="API students",
            groupid="M1",
        ).body
        == created.body
    )
    parent_rows = nx("listCourseEnrolments", courseid="C620").body
    assert {r["idnumber"] for r in parent_rows if r["enrol"] == "meta"} >= {"S1001", "S1012"}
    members = nx("listCourseGroups", courseid="C620").body
    assert any(g["groupid"] == "M1" for g in members)
    assert nx("putMetalink", parentid="C789", childid="C620").status == 409  # would loop
    assert nx("putMetalink", parentid="C789", childid="C789").status == 400
    assert nx("deleteMetalink", parentid="C620", childid="C789").status == 200
    assert not [r for r in nx("listCourseEnrolments", courseid="C620").body if r["enrol"] == "meta"]
    assert nx("getMetalink", parentid="C620", childid="C789").status == 404


def test_program_allocation_put_get_delete(nx) -> None:
    put = nx(
        "putProgramAllocation",
        programid="P20",
        userid="S1003",
        startdate="2025-12-31T10:00:00",
        duedate="2026-12-31T10:00:00",
        enddate="2026-12-31T10:00:00",
        status="0",
    )
    assert put.status == 200
    assert put.body["startdate"] == 1767175200 and put.body["startdatelocked"] == 1
    assert isinstance(put.body["usermodified"], str) and isinstance(put.body["timemodified"], int)
    got = nx("getProgramAllocation", programid="P20", userid="S1003").body
    assert got["startdate"] == "1767175200" and got["usermodified"] == 0 and got["status"] == "0"
    assert nx("putProgramAllocation", programid="P20", userid="S1003", status="1").body["status"] == "1"
    bad = nx("putProgramAllocation", programid="P20", userid="S1003", duedate="2020-01-01T00:00:00")
    assert bad.status == 400
    assert nx("deleteProgramAllocation", programid="P20", userid="S1003").status == 200
    assert nx("getProgramAllocation", programid="P20", userid="S1003").status == 404
    assert nx("getProgramAllocation", programid="NOPE", userid="S1003").status == 404


def test_certification_allocation(nx) -> None:
    put = nx(
        "putCertificationAllocation",
        certificationid="C12",
        userid="S1004",
        startdate="2025-12-31T10:00:00",
        suspendstatus="0",
    )
    assert put.status == 200 and put.body["currentprogramid"] == "3"
    assert nx("getCertificationAllocation", certificationid="C12", userid="S1004").body == put.body
    # the certification's program allocation is visible to NexSIS's program view too
    assert nx("getProgramAllocation", programid="P30", userid="S1004").status == 200
    assert nx("deleteCertificationAllocation", certificationid="C12", userid="S1004").status == 200
    assert nx("getProgramAllocation", programid="P30", userid="S1004").status == 404


def test_jobs_and_managers(nx) -> None:
    job = nx(
        "putJobAssignment",
        userid="S1005",
        departmentid="D5",
        positionid="P4",
        startdate="2025-12-31T10:00:00",
    )
    assert job.status == 200 and job.body["departmentid"] == "D5" and isinstance(job.body["startdate"], int)
    assert (
        nx("putJobAssignment", userid="S1005", departmentid="D5", positionid="P4").body["id"]
        == job.body["id"]
    )
    assert [j["positionid"] for j in nx("listJobAssignments", userid="S1005").body] == ["P4"]
    assert nx("putJobAssignment", userid="S1005", departmentid="NOPE", positionid="P4").status == 404
    assert nx("deleteJobAssignment", userid="S1005", departmentid="D5", positionid="P4").status == 200
    assert nx("deleteJobAssignment", userid="S1005", departmentid="D5", positionid="P4").status == 404
    mgr = nx("putManager", userid="S1001", managerid="M2002", keepexisting=1, perm_be_notified=1)
    assert mgr.body["permissions"] == 4 and isinstance(mgr.body["id"], int)
    assert {m["managerid"] for m in nx("listManagers", userid="S1001").body} == {"M2001", "M2002"}
    nx(
        "putManager",
        userid="S1001",
        managerid="M2002",
        keepexisting=0,
        perm_allocate_programs=1,
        perm_view_reports=1,
    )
    listed = nx("listManagers", userid="S1001").body
    assert [(m["managerid"], m["permissions"]) for m in listed] == [("M2002", "3")]
    assert nx("putManager", userid="S1001", managerid="S1001").status == 400
    assert nx("deleteManager", userid="S1001", managerid="M2002").status == 200
    assert nx("deleteManager", userid="S1001", managerid="M2002").status == 404


def test_logs_newest_first_filter_and_paging(nx) -> None:
    nx("getUser", userid="NOPE")
    nx("ping")
    newest = nx("getLogs", limit=2).body
    assert newest[0]["detail"] == "ping" and newest[0]["level"] == "info"
    assert newest[1]["level"] == "warning" and newest[1]["response_status_code"] == 404
    assert int(newest[0]["id"]) > int(newest[1]["id"])
    warnings = nx("getLogs", level="warning,error").body
    assert warnings and all(e["level"] in ("warning", "error") for e in warnings)
    assert nx("getLogs", limit=1, offset=1).body[0]["id"] == nx("getLogs", limit=3).body[2]["id"]
    assert nx("getLogs", level="loud").status == 400
    assert nx("getLogs", limit=0).status == 400


@pytest.mark.parametrize("op", ["deleteUser", "deleteCourse"])
def test_delete_unknown_is_404(nx, op: str) -> None:
    assert nx(op, userid="NOPE", courseid="NOPE").status == 404


def test_site_admin_cannot_be_deleted(svc: Service, nx) -> None:
    svc.state.users[2].idnumber = "ADMIN"
    svc.state.user_by_idnumber["ADMIN"] = 2
    assert nx("deleteUser", userid="ADMIN").status == 400
