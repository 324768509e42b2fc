"""tool_muprog_* and core_group_* semantics over real HTTP, as the real Moodle answered them.

The expectations come from tests/data/moodle-ws-facts.md and the recorded traffic; every answer is
validated against openapi/moodle-ws.yaml by the client.
"""

from __future__ import annotations

import pytest

from .conftest import Mock

INVALID_PARAM = ("core\\exception\\invalid_parameter_exception", "invalidparameter")
NO_RECORD = ("dml_missing_record_exception", "invalidrecordunknown")
NO_PERMS = ("core\\exception\\required_capability_exception", "nopermissions")
BAD_TOKEN = ("core\\exception\\moodle_exception", "invalidtoken")


def programs(mock: Mock) -> list[dict]:
    return mock.ws.ok("tool_muprog_get_programs", {"fieldvalues": [{"field": "archived", "value": "0"}]})


def program_with(mock: Mock, source: str) -> dict:
    found = [p for p in programs(mock) if source in p["sources"]]
    assert found, f"no program with a {source} source in the default fixtures"
    return found[0]


def new_user(mock: Mock, idnumber: str) -> int:
    reply = mock.nx.put_user(
        idnumber,
        username=f"ws.{idnumber.lower()}",
        firstname="W",
        lastname="S",
        email=f"{idnumber.lower()}@x.test",
    )
    assert reply.status == 200, reply
    return mock.admin.internal_id("users", idnumber)


def allocation(mock: Mock, programid: int, userid: int) -> dict:
    found = mock.ws.ok("tool_muprog_get_program_allocations", {"programid": programid, "userids": [userid]})
    assert len(found) == 1, found
    return found[0]


def flags(alloc: dict) -> tuple:
    return (
        alloc["archived"],
        alloc["deletepossible"],
        alloc["archivepossible"],
        alloc["restorepossible"],
        alloc["editpossible"],
    )


def test_manual_allocation_skips_users_already_allocated(mock: Mock) -> None:
    program = program_with(mock, "manual")
    a, b = new_user(mock, "WSA1"), new_user(mock, "WSA2")
    ws = mock.ws
    assert ws.ok(
        "tool_muprog_source_manual_allocate_users", {"programid": program["id"], "userids": [a]}
    ) == [a]
    assert ws.ok(
        "tool_muprog_source_manual_allocate_users", {"programid": program["id"], "userids": [a, b]}
    ) == [b]
    assert (
        ws.ok("tool_muprog_source_manual_allocate_users", {"programid": program["id"], "userids": [a, b]})
        == []
    )
    mine = ws.ok("tool_muprog_get_program_allocations", {"programid": program["id"], "userids": [a, b]})
    assert sorted(x["userid"] for x in mine) == [a, b]
    assert {x["sourcetype"] for x in mine} == {"manual"}
    # neither userids nor cohortids: nothing to do, no error
    assert ws.ok("tool_muprog_source_manual_allocate_users", {"programid": program["id"]}) == []


def test_allocation_with_date_overrides_and_update(mock: Mock) -> None:
    program = program_with(mock, "manual")
    u = new_user(mock, "WSD1")
    ws = mock.ws
    ws.ok(
        "tool_muprog_source_manual_allocate_users",
        {"programid": program["id"], "userids": [u], "dateoverrides": {"timedue": 1893456000}},
    )
    assert allocation(mock, program["id"], u)["timedue"] == 1893456000
    updated = ws.ok(
        "tool_muprog_update_program_allocation",
        {
            "programid": program["id"],
            "userid": u,
            "allocationdates": {"timestart": 1767225600, "timedue": 1893456000, "timeend": 1924992000},
        },
    )
    assert (updated["timestart"], updated["timedue"], updated["timeend"]) == (
        1767225600,
        1893456000,
        1924992000,
    )
    # end before start is refused and changes nothing
    ws.error(
        "tool_muprog_update_program_allocation",
        {
            "programid": program["id"],
            "userid": u,
            "allocationdates": {"timestart": 1924992000, "timeend": 1767225600},
        },
        "invalidparameter",
    )
    assert allocation(mock, program["id"], u)["timestart"] == 1767225600


def test_archive_and_restore_flip_the_possible_flags(mock: Mock) -> None:
    program = program_with(mock, "manual")
    u = new_user(mock, "WSR1")
    ws = mock.ws
    ws.ok("tool_muprog_source_manual_allocate_users", {"programid": program["id"], "userids": [u]})
    assert flags(allocation(mock, program["id"], u)) == (False, True, True, False, True)

    archived = ws.ok("tool_muprog_archive_program_allocation", {"programid": program["id"], "userid": u})
    assert flags(archived) == (True, True, False, True, False)
    assert flags(allocation(mock, program["id"], u)) == (True, True, False, True, False)
    ws.error(
        "tool_muprog_archive_program_allocation",
        {"programid": program["id"], "userid": u},
        *INVALID_PARAM[1:],
        exception=INVALID_PARAM[0],
    )

    restored = ws.ok("tool_muprog_restore_program_allocation", {"programid": program["id"], "userid": u})
    assert flags(restored) == (False, True, True, False, True)
    ws.error(
        "tool_muprog_restore_program_allocation",
        {"programid": program["id"], "userid": u},
        "invalidparameter",
        exception=INVALID_PARAM[0],
    )

    assert ws.ok("tool_muprog_delete_program_allocations", {"programid": program["id"], "userids": [u]}) == [
        u
    ]
    assert ws.ok("tool_muprog_delete_program_allocations", {"programid": program["id"], "userids": [u]}) == []
    ws.error(
        "tool_muprog_archive_program_allocation",
        {"programid": program["id"], "userid": u},
        "invalidrecordunknown",
        exception=NO_RECORD[0],
    )


def test_cohort_source_add_and_delete(mock: Mock) -> None:
    program = program_with(mock, "cohort")
    ws = mock.ws
    attached = ws.ok("tool_muprog_source_cohort_get_cohorts", {"programid": program["id"]})
    cohorts = mock.admin.records("cohorts")
    spare = [c for c in cohorts if c["id"] not in {a["id"] for a in attached} and c.get("members")]
    assert spare, f"default fixtures need a cohort with members not attached to program {program['id']}"
    cohort = spare[0]

    after_add = ws.ok(
        "tool_muprog_source_cohort_add_cohort", {"programid": program["id"], "cohortid": cohort["id"]}
    )
    assert cohort["id"] in [c["id"] for c in after_add]
    assert {"id", "contextid", "name", "idnumber"} <= set(after_add[0])
    # adding again is not an error and does not duplicate
    again = ws.ok(
        "tool_muprog_source_cohort_add_cohort", {"programid": program["id"], "cohortid": cohort["id"]}
    )
    assert again == after_add
    allocs = ws.ok(
        "tool_muprog_get_program_allocations", {"programid": program["id"], "userids": cohort["members"]}
    )
    assert sorted(a["userid"] for a in allocs) == sorted(cohort["members"]), (
        "cohort members were not allocated"
    )
    for a in allocs:
        if a["sourcetype"] == "cohort":
            assert (a["deletepossible"], a["archivepossible"]) == (False, False), a

    after_delete = ws.ok(
        "tool_muprog_source_cohort_delete_cohort", {"programid": program["id"], "cohortid": cohort["id"]}
    )
    assert cohort["id"] not in [c["id"] for c in after_delete]
    assert ws.ok("tool_muprog_source_cohort_get_cohorts", {"programid": program["id"]}) == after_delete
    # deleting an unattached cohort is not an error
    assert (
        ws.ok(
            "tool_muprog_source_cohort_delete_cohort", {"programid": program["id"], "cohortid": cohort["id"]}
        )
        == after_delete
    )
    for a in ws.ok(
        "tool_muprog_get_program_allocations", {"programid": program["id"], "userids": cohort["members"]}
    ):
        if a["sourcetype"] == "cohort":
            assert a["archived"] is True, f"removing the cohort should archive its allocations: {a}"


def test_cohort_allocations_cannot_be_archived_or_deleted(mock: Mock) -> None:
    ws = mock.ws
    for program in programs(mock):
        cohort_allocs = [
            a
            for a in ws.ok("tool_muprog_get_program_allocations", {"programid": program["id"]})
            if a["sourcetype"] == "cohort" and not a["archived"]
        ]
        if cohort_allocs:
            a = cohort_allocs[0]
            ws.error(
                "tool_muprog_archive_program_allocation",
                {"programid": program["id"], "userid": a["userid"]},
                "invalidparameter",
            )
            ws.error(
                "tool_muprog_delete_program_allocations",
                {"programid": program["id"], "userids": [a["userid"]]},
                "invalidparameter",
            )
            assert allocation(mock, program["id"], a["userid"]) == a
            return
    pytest.fail("default fixtures have no active cohort allocation")


def test_unknown_ids_give_invalidrecordunknown(mock: Mock) -> None:
    ws = mock.ws
    program = program_with(mock, "manual")
    for fn, params in [
        ("tool_muprog_get_program_allocations", {"programid": 999999}),
        ("tool_muprog_source_manual_allocate_users", {"programid": 999999, "userids": [2]}),
        ("tool_muprog_source_manual_allocate_users", {"programid": program["id"], "userids": [999999]}),
        ("tool_muprog_source_cohort_add_cohort", {"programid": program["id"], "cohortid": 999999}),
        ("core_group_add_group_members", {"members": [{"groupid": 999999, "userid": 2}]}),
    ]:
        ws.error(fn, params, "invalidrecordunknown", exception=NO_RECORD[0])
    assert ws.ok("tool_muprog_get_programs", {"fieldvalues": [{"field": "id", "value": "999999"}]}) == []


@pytest.mark.parametrize(
    "fn,params",
    [
        ("tool_muprog_get_program_allocations", {"programid": "abc"}),
        ("tool_muprog_get_program_allocations", {"programid": "1.5"}),
        ("tool_muprog_get_program_allocations", {}),
        ("tool_muprog_get_programs", {}),
        ("tool_muprog_get_programs", {"fieldvalues": [{"field": "shortname", "value": ""}]}),
        ("tool_muprog_source_cohort_get_cohorts", {"programid": 1, "bogus": 1}),
        (
            "core_group_create_groups",
            {"groups": [{"courseid": 2, "name": "x", "description": "d", "participation": "true"}]},
        ),
        ("core_group_create_groups", {"groups": [{"courseid": 2, "name": "nodesc"}]}),
    ],
)
def test_bad_parameters_give_invalid_parameter_exception(mock: Mock, fn: str, params: dict) -> None:
    before = mock.admin.snapshot()
    mock.ws.error(fn, params, "invalidparameter", exception=INVALID_PARAM[0])
    assert mock.admin.snapshot() == before


def test_scalar_or_empty_where_array_expected_is_invalidparameter(mock: Mock) -> None:
    for body in ("programid=1&userids=", "programid=1&userids=8"):
        response = mock.http.post(
            "/webservice/rest/server.php",
            content=(
                f"wstoken={mock.tokens.ws_admin}&wsfunction=tool_muprog_get_program_allocations"
                f"&moodlewsrestformat=json&{body}"
            ),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 200
        assert response.json()["errorcode"] == "invalidparameter", (body, response.text)


@pytest.mark.parametrize("token", [None, "0123456789abcdef0123456789abcdef"])
@pytest.mark.parametrize("token_in", ["body", "query"])
def test_missing_or_wrong_token_is_invalidtoken(mock: Mock, token: str | None, token_in: str) -> None:
    body = mock.ws_as(token, token_in).error(
        "tool_muprog_get_programs",
        {"fieldvalues": [{"field": "id", "value": "1"}]},
        "invalidtoken",
        exception=BAD_TOKEN[0],
    )
    assert body["message"] == "Invalid token - token not found"


def test_token_in_query_works_like_token_in_body(mock: Mock) -> None:
    by_body = mock.ws.ok("tool_muprog_get_programs", {"fieldvalues": [{"field": "archived", "value": "0"}]})
    by_query = mock.ws_as(mock.tokens.ws_admin, "query").ok(
        "tool_muprog_get_programs", {"fieldvalues": [{"field": "archived", "value": "0"}]}
    )
    assert by_body == by_query and by_body


def test_token_without_muprog_capabilities(mock: Mock) -> None:
    """Moodle's exceptions: get_programs filters to [], the rest raise nopermissions."""
    if mock.tokens.ws_nocap is None:
        pytest.fail(f"default fixtures offer no capability-less WS token: {mock.tokens.raw}")
    nocap = mock.ws_as(mock.tokens.ws_nocap)
    program = program_with(mock, "manual")
    u = new_user(mock, "NOCAP1")
    assert (
        nocap.ok("tool_muprog_get_programs", {"fieldvalues": [{"field": "id", "value": str(program["id"])}]})
        == []
    )
    before = mock.admin.snapshot()
    for fn, params in [
        ("tool_muprog_get_program_allocations", {"programid": program["id"]}),
        ("tool_muprog_source_manual_allocate_users", {"programid": program["id"], "userids": [u]}),
        ("tool_muprog_archive_program_allocation", {"programid": program["id"], "userid": u}),
        ("tool_muprog_source_cohort_add_cohort", {"programid": program["id"], "cohortid": 1}),
    ]:
        body = nocap.error(fn, params, "nopermissions", exception=NO_PERMS[0])
        assert body["message"].startswith("Sorry, but you do not currently have permissions to do that ("), (
            body
        )
    assert mock.admin.snapshot() == before


def test_read_only_ws_token_reads_but_cannot_write(mock: Mock) -> None:
    if mock.tokens.ws_readonly is None:
        pytest.fail(f"default fixtures offer no read-only WS token: {mock.tokens.raw}")
    ro = mock.ws_as(mock.tokens.ws_readonly)
    program = program_with(mock, "manual")
    u = new_user(mock, "RO1")
    assert ro.ok("tool_muprog_get_programs", {"fieldvalues": [{"field": "id", "value": str(program["id"])}]})
    ro.ok("tool_muprog_get_program_allocations", {"programid": program["id"]})
    courseid = mock.admin.records("courses")[0]["id"]
    before = mock.admin.snapshot()
    refused = ro.call(
        "core_group_create_groups", {"groups": [{"courseid": courseid, "name": "ro", "description": "x"}]}
    )
    # without moodle/course:managegroups: nopermissions, or the course context refused
    assert isinstance(refused, dict) and refused.get("errorcode") in (
        "nopermissions",
        "errorcoursecontextnotvalid",
    ), refused
    ro.error(
        "tool_muprog_source_manual_allocate_users",
        {"programid": program["id"], "userids": [u]},
        "nopermissions",
        exception=NO_PERMS[0],
    )
    assert mock.admin.snapshot() == before


def test_unknown_function_and_function_outside_the_service(mock: Mock) -> None:
    ws = mock.ws
    response = ws.raw("tool_muprog_no_such_function")
    assert response.json() == {
        "exception": "dml_missing_record_exception",
        "errorcode": "invalidrecordunknown",
        "message": "Can't find data record in database.",
    }
    response = ws.raw("core_user_get_users_by_field", {"field": "id", "values": [4]})
    assert response.json() == {
        "exception": "webservice_access_exception",
        "errorcode": "accessexception",
        "message": "Access control exception",
    }


# ---- core_group ----------------------------------------------------------------------------


def test_groups_create_members_delete(mock: Mock) -> None:
    ws, nx = mock.ws, mock.nx
    nx.put_course("WSGC", fullname="WS groups", shortname="WSGC")
    courseid = mock.admin.internal_id("courses", "WSGC")
    u = new_user(mock, "WSG1")
    created = ws.ok(
        "core_group_create_groups",
        {
            "groups": [
                {"courseid": courseid, "name": "WS Group X", "description": "Created via REST"},
                {
                    "courseid": courseid,
                    "name": "WS Group Y",
                    "description": "",
                    "idnumber": "WSY",
                    "descriptionformat": 1,
                },
            ]
        },
    )
    assert [(g["name"], g["idnumber"], g["visibility"], g["participation"]) for g in created] == [
        ("WS Group X", "", 0, True),
        ("WS Group Y", "WSY", 0, True),
    ]
    gx = created[0]["id"]
    # duplicate name in the course
    ws.error(
        "core_group_create_groups",
        {"groups": [{"courseid": courseid, "name": "WS Group X", "description": ""}]},
        "invalidparameter",
    )
    # member must be enrolled
    ws.error("core_group_add_group_members", {"members": [{"groupid": gx, "userid": u}]}, "invalidparameter")
    nx.enrol("WSG1", "WSGC", roleid="student")
    assert ws.call("core_group_add_group_members", {"members": [{"groupid": gx, "userid": u}]}) is None
    assert ws.call("core_group_add_group_members", {"members": [{"groupid": gx, "userid": u}]}) is None
    group = next(g for g in mock.admin.records("groups") if g["id"] == gx)
    assert group["members"] == [u]
    assert ws.call("core_group_delete_group_members", {"members": [{"groupid": gx, "userid": u}]}) is None
    assert ws.call("core_group_delete_group_members", {"members": [{"groupid": gx, "userid": u}]}) is None
    assert ws.call("core_group_delete_groups", {"groupids": [gx, created[1]["id"]]}) is None
    assert ws.call("core_group_delete_groups", {"groupids": [999999]}) is None
    assert not [g for g in mock.admin.records("groups") if g["id"] in (gx, created[1]["id"])]


def test_create_group_in_unknown_course(mock: Mock) -> None:
    body = mock.ws.error(
        "core_group_create_groups",
        {"groups": [{"courseid": 999999, "name": "nowhere", "description": "x"}]},
        "errorcoursecontextnotvalid",
        exception="core\\exception\\moodle_exception",
    )
    assert "course id:999999" in body["message"]


@pytest.mark.parametrize(
    "value,accepted", [("0", False), ("1", True), ("true", None), ("false", None), ("yes", None)]
)
def test_param_bool_accepts_only_0_and_1(mock: Mock, value: str, accepted: bool | None) -> None:
    mock.nx.put_course("PBC", fullname="bool", shortname="PBC")
    courseid = mock.admin.internal_id("courses", "PBC")
    params = {
        "groups": [
            {"courseid": courseid, "name": f"Quirk {value}", "description": "d", "participation": value}
        ]
    }
    if accepted is None:
        mock.ws.error("core_group_create_groups", params, "invalidparameter")
    else:
        assert mock.ws.ok("core_group_create_groups", params)[0]["participation"] is accepted


def test_query_string_that_decodes_to_a_list_is_answered_not_a_500(mock: Mock) -> None:
    """PHP merges the query into the parameters: `?0=` is one more (unknown) parameter."""
    response = mock.http.post(
        "/webservice/rest/server.php?0=",
        content=encode_call(mock, "core_group_delete_groups", {"groupids": [999999]}),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, (response.status_code, response.text[:200])
    assert response.json()["errorcode"] == "invalidparameter", response.text


def encode_call(mock: Mock, wsfunction: str, params: dict) -> str:
    from nexsis_openapi.codec import encode

    return encode(
        {"wstoken": mock.tokens.ws_admin, "wsfunction": wsfunction, "moodlewsrestformat": "json", **params}
    )
