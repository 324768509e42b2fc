"""One site behind both APIs: what one API writes, the other sees; cascades reach both."""

from __future__ import annotations

from nexsis_mock.domain import Service

ADMIN = "ws-admin-token-0001"
READONLY = "ws-readonly-token-0001"
NOMUPROG = "ws-nomuprog-token-0001"


def test_user_put_through_nexsis_is_allocatable_through_ws(svc: Service, nx, ws) -> None:
    nx("putUser", userid="S5000", username="newbie", firstname="New", lastname="Bie", email="n@x.edu")
    uid = svc.state.user_by_idnumber["S5000"]
    assert ws("tool_muprog_source_manual_allocate_users", programid="2", userids=[str(uid)]).body == [uid]
    allocation = nx("getProgramAllocation", programid="P20", userid="S5000").body
    assert allocation["userid"] == str(uid)
    # the allocation enrolled the user in the program's course (enrol_muprog)
    assert [c["courseid"] for c in nx("listUserEnrolments", userid="S5000", plugin="muprog").body] == ["C610"]
    assert ws("tool_muprog_source_manual_allocate_users", programid="2", userids=[str(uid)]).body == []


def test_ws_group_appears_in_nexsis_list(nx, ws) -> None:
    made = ws(
        "core_group_create_groups",
        groups=[{"courseid": "2", "name": "From WS", "description": "x", "idnumber": "WSG"}],
    ).body
    assert made[0]["idnumber"] == "WSG"
    assert {"groupid": "WSG", "name": "From WS", "description": "x"} in nx(
        "listCourseGroups", courseid="C789"
    ).body
    assert (
        ws("core_group_add_group_members", members=[{"groupid": str(made[0]["id"]), "userid": "10"}]).body
        is None
    )
    assert ws("core_group_delete_groups", groupids=[str(made[0]["id"])]).body is None
    assert nx("getCourseGroup", courseid="C789", groupid="WSG").status == 404


def test_nexsis_allocation_archived_through_ws(svc: Service, nx, ws) -> None:
    nx("putProgramAllocation", programid="P20", userid="S1006")
    uid = svc.state.user_by_idnumber["S1006"]
    archived = ws("tool_muprog_archive_program_allocation", programid="2", userid=str(uid)).body
    assert archived["archived"] is True and archived["restorepossible"] is True
    assert nx("getProgramAllocation", programid="P20", userid="S1006").body["status"] == "1"
    # archived allocations suspend the muprog enrolment
    rows = [r for r in nx("listCourseEnrolments", courseid="C610").body if r["idnumber"] == "S1006"]
    assert rows and rows[0]["enrolstatus"] == "1"


def test_delete_user_cascades(svc: Service, nx, ws) -> None:
    uid = svc.state.user_by_idnumber["S1001"]
    assert nx("deleteUser", userid="S1001").status == 200
    s = svc.state
    assert uid not in s.users and uid not in s.enrol_by_user and uid not in s.alloc_by_user
    assert all(uid not in g.members for g in s.groups.values())
    assert all(uid not in c.members for c in s.cohorts.values())
    assert all(uid not in rows for rows in s.enrol_by_course.values())
    assert all(uid not in grades for grades in s.grades.values())
    assert uid not in s.jobs_by_user and uid not in s.managers_by_user
    assert not any(uid in users for users in s.managed_by.values())
    assert all(uid not in comps for comps in s.completions.values())
    assert ws("tool_muprog_get_program_allocations", programid="1", userids=[str(uid)]).body == []
    assert nx("listCourseEnrolments", courseid="C789").status == 200
    assert nx("getUser", userid="S1001").status == 404


def test_delete_manager_user_removes_links(svc: Service, nx) -> None:
    nx("deleteUser", userid="M2001")
    assert nx("listManagers", userid="S1001").body == []


def test_delete_course_cascades(svc: Service, nx) -> None:
    cid = svc.state.course_by_idnumber["C553"]
    assert nx("deleteCourse", courseid="C553").status == 200
    s = svc.state
    assert cid not in s.courses and cid not in s.enrol_by_course and cid not in s.groups_by_course
    assert all(cid not in by_course for by_course in s.enrol_by_user.values())
    assert cid not in s.meta_by_child and not any(cid in links for links in s.meta_by_parent.values())
    assert cid not in s.course_item and all(cid not in p.courses for p in s.programs.values())
    # the metalinked parent lost its meta enrolments
    assert not [r for r in nx("listCourseEnrolments", courseid="C554").body if r["enrol"] == "meta"]
    assert nx("getMetalink", parentid="C554", childid="C553").status == 404


def test_unenrol_drops_group_membership(svc: Service, nx) -> None:
    uid = svc.state.user_by_idnumber["S1001"]
    assert uid in svc.state.groups[1].members
    assert nx("unenrolUser", userid="S1001", courseid="C789", plugin="nexsis").status == 200
    # still enrolled through program P12 (muprog) -> membership stays
    assert uid in svc.state.groups[1].members
    assert nx("unenrolUser", userid="S1001", courseid="C789").status == 200  # every plugin
    assert uid not in svc.state.groups[1].members


def test_ws_capabilities_by_token(ws) -> None:
    assert (
        ws("tool_muprog_get_programs", token=NOMUPROG, fieldvalues=[{"field": "id", "value": "1"}]).body == []
    )
    denied = ws("tool_muprog_get_program_allocations", token=NOMUPROG, programid="1").body
    assert denied["errorcode"] == "nopermissions"
    assert (
        len(ws("tool_muprog_get_programs", token=READONLY, fieldvalues=[{"field": "id", "value": "1"}]).body)
        == 1
    )
    assert isinstance(ws("tool_muprog_get_program_allocations", token=READONLY, programid="1").body, list)
    write = ws("tool_muprog_source_manual_allocate_users", token=READONLY, programid="1", userids=["11"]).body
    assert write["errorcode"] == "nopermissions" and "Allocate users to programs" in write["message"]
    assert (
        ws("tool_muprog_get_programs", token="bogus-token", fieldvalues=[]).body["errorcode"]
        == "invalidtoken"
    )
    assert ws("core_user_get_users", field="id").body["errorcode"] == "accessexception"
    assert ws("made_up_function").body["errorcode"] == "invalidrecordunknown"


def test_ws_function_outside_service(svc: Service) -> None:
    token = svc.state.ws_tokens["ws-readonly-token-0001"]
    token.functions = frozenset({"core_webservice_get_site_info"})
    result = svc.call("moodle-ws", "tool_muprog_get_programs", {"fieldvalues": []}, "ws-readonly-token-0001")
    assert result.body["errorcode"] == "accessexception"
    info = svc.call("moodle-ws", "core_webservice_get_site_info", {}, "ws-readonly-token-0001").body
    assert [f["name"] for f in info["functions"]] == ["core_webservice_get_site_info"]


def test_cohort_source_remove_archives_and_readd_restores(svc: Service, ws) -> None:
    before = ws("tool_muprog_get_program_allocations", programid="1").body
    cohort_users = [a["userid"] for a in before if a["sourcetype"] == "cohort"]
    assert ws("tool_muprog_source_cohort_delete_cohort", programid="1", cohortid="1").body == []
    after = ws("tool_muprog_get_program_allocations", programid="1").body
    assert all(a["archived"] and a["deletepossible"] for a in after if a["userid"] in cohort_users)
    ws("tool_muprog_source_cohort_add_cohort", programid="1", cohortid="1")
    again = ws("tool_muprog_get_program_allocations", programid="1").body
    assert all(not a["archived"] for a in again if a["userid"] in cohort_users)
    assert [a["id"] for a in again] == [a["id"] for a in before]  # restored, not re-created
