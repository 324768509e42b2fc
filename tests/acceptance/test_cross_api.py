"""One site behind two APIs: what one API writes, the other sees.

NexSIS addresses records by idnumber, the web services by Moodle's internal ids; the tests find
the internal id in the admin export, as an integrator would read it from Moodle.
"""

from __future__ import annotations

from .conftest import Mock
from .test_ws_behaviour import program_with


def test_user_put_through_nexsis_can_be_allocated_through_ws(mock: Mock) -> None:
    nx, ws = mock.nx, mock.ws
    assert nx.put_user("X1", username="x.one", firstname="X", lastname="One", email="x1@x.test").status == 200
    internal = mock.admin.internal_id("users", "X1")
    program = program_with(mock, "manual")
    assert ws.ok(
        "tool_muprog_source_manual_allocate_users", {"programid": program["id"], "userids": [internal]}
    ) == [internal]
    alloc = ws.ok("tool_muprog_get_program_allocations", {"programid": program["id"], "userids": [internal]})
    assert [a["userid"] for a in alloc] == [internal]
    via_nexsis = nx.get_program(program["idnumber"], "X1")
    assert via_nexsis.status == 200, via_nexsis
    assert int(via_nexsis.body["userid"]) == internal
    assert int(via_nexsis.body["programid"]) == program["id"]
    # allocation enrols the user in the program's courses (enrol_muprog), visible in NexSIS
    program_courses = next(p for p in mock.admin.records("programs") if p["id"] == program["id"]).get(
        "courses", []
    )
    if program_courses:
        enrolled = {e["courseid"] for e in nx.user_enrolments("X1").body}
        wanted = {c["idnumber"] for c in mock.admin.records("courses") if c["id"] in program_courses}
        assert wanted <= enrolled, (wanted, enrolled)


def test_allocation_through_nexsis_is_seen_by_ws(mock: Mock) -> None:
    nx, ws = mock.nx, mock.ws
    nx.put_user("X2", username="x.two", firstname="X", lastname="Two", email="x2@x.test")
    program = program_with(mock, "manual")
    assert nx.put_program(program["idnumber"], "X2", startdate="2025-12-31T10:00:00").status == 200
    internal = mock.admin.internal_id("users", "X2")
    alloc = ws.ok("tool_muprog_get_program_allocations", {"programid": program["id"], "userids": [internal]})
    assert len(alloc) == 1 and alloc[0]["archived"] is False, alloc


def test_group_created_by_ws_appears_in_nexsis_group_list(mock: Mock) -> None:
    nx, ws = mock.nx, mock.ws
    nx.put_course("XC1", fullname="Cross", shortname="XC1")
    courseid = mock.admin.internal_id("courses", "XC1")
    before = nx.groups("XC1").body
    created = ws.ok(
        "core_group_create_groups",
        {
            "groups": [
                {"courseid": courseid, "name": "From WS", "description": "made by WS", "idnumber": "XWS1"}
            ]
        },
    )
    listed = nx.groups("XC1").body
    assert len(listed) == len(before) + 1
    mine = [g for g in listed if g["groupid"] == "XWS1"]
    assert mine and (mine[0]["name"], mine[0]["description"]) == ("From WS", "made by WS"), listed
    assert nx.get_group("XC1", "XWS1").body["name"] == "From WS"
    # and a NexSIS delete removes it for WS too
    assert nx.delete_group("XC1", "XWS1").status == 200
    assert not [g for g in mock.admin.records("groups") if g["id"] == created[0]["id"]]


def test_group_made_by_nexsis_can_be_used_by_ws(mock: Mock) -> None:
    nx, ws = mock.nx, mock.ws
    nx.put_course("XC2", fullname="Cross 2", shortname="XC2")
    nx.put_group("XC2", "XG2", name="NexSIS group", description="")
    gid = mock.admin.internal_id("groups", "XG2")
    assert ws.call("core_group_delete_groups", {"groupids": [gid]}) is None
    assert nx.get_group("XC2", "XG2").status == 404


def test_group_member_added_via_ws_shows_in_nexsis_and_vice_versa(mock: Mock) -> None:
    nx, ws = mock.nx, mock.ws
    nx.put_course("XC3", fullname="Cross 3", shortname="XC3")
    for uid in ("XM1", "XM2"):
        nx.put_user(uid, username=uid.lower(), firstname="M", lastname=uid, email=f"{uid.lower()}@x.test")
        assert nx.enrol(uid, "XC3", roleid="student").status == 200
    nx.put_group("XC3", "XG3", name="Members", description="")
    gid = mock.admin.internal_id("groups", "XG3")
    m1, m2 = mock.admin.internal_id("users", "XM1"), mock.admin.internal_id("users", "XM2")

    def members() -> list[int]:
        return sorted(next(g for g in mock.admin.records("groups") if g["id"] == gid)["members"])

    # WS adds XM1: NexSIS can remove it (it knows the membership), WS re-adds
    assert ws.call("core_group_add_group_members", {"members": [{"groupid": gid, "userid": m1}]}) is None
    assert members() == [m1]
    # NexSIS adds XM2: WS removes it
    assert nx.add_member("XC3", "XG3", "XM2").status == 200
    assert members() == [m1, m2]
    assert ws.call("core_group_delete_group_members", {"members": [{"groupid": gid, "userid": m2}]}) is None
    assert members() == [m1]
    assert nx.remove_member("XC3", "XG3", "XM1").status == 200
    assert members() == []
    # membership written by one API is refused by the other for a non-enrolled user alike
    nx.put_user("XM3", username="xm3", firstname="M", lastname="3", email="xm3@x.test")
    m3 = mock.admin.internal_id("users", "XM3")
    ws.error(
        "core_group_add_group_members", {"members": [{"groupid": gid, "userid": m3}]}, "invalidparameter"
    )
    assert nx.add_member("XC3", "XG3", "XM3").status in (400, 404, 409)
    assert members() == []


def test_user_deleted_through_nexsis_is_unknown_to_ws(mock: Mock) -> None:
    nx, ws = mock.nx, mock.ws
    nx.put_user("X4", username="x4", firstname="X", lastname="4", email="x4@x.test")
    internal = mock.admin.internal_id("users", "X4")
    program = program_with(mock, "manual")
    ws.ok("tool_muprog_source_manual_allocate_users", {"programid": program["id"], "userids": [internal]})
    assert nx.delete_user("X4").status == 200
    assert (
        ws.ok("tool_muprog_get_program_allocations", {"programid": program["id"], "userids": [internal]})
        == []
    )
    ws.error(
        "tool_muprog_source_manual_allocate_users",
        {"programid": program["id"], "userids": [internal]},
        "invalidrecordunknown",
    )
