"""NexSIS semantics over real HTTP: what each operation does to the state, as the vendor documents it.

Every answer is validated against openapi/nexsis.yaml by the client (tests/acceptance/clients.py).
"""

from __future__ import annotations

import pytest

from .clients import Nexsis, seg
from .conftest import Mock

USER = {"username": "accept.smith", "firstname": "Ada", "lastname": "Smith", "email": "ada@inst.edu"}
COURSE = {
    "fullname": "Principles of API Design",
    "shortname": "ACC-231",
    "startdate": "2017-08-16T21:09:30+00:00",
    "categorypath": "/Technology/Design",
}


def without_clock(value: object) -> object:
    """The state without `timemodified` stamps."""
    if isinstance(value, dict):
        return {k: without_clock(v) for k, v in value.items() if k != "timemodified"}
    if isinstance(value, list):
        return [without_clock(v) for v in value]
    return value


def make_user(nx: Nexsis, uid: str, **over: str) -> dict:
    fields = {**USER, "username": f"u.{uid.lower()}", **over}
    reply = nx.put_user(uid, **fields)
    assert reply.status == 200, reply
    return reply.body


def make_course(nx: Nexsis, cid: str, **over: str) -> dict:
    fields = {**COURSE, "shortname": f"S-{cid}", **over}
    reply = nx.put_course(cid, **fields)
    assert reply.status == 200, reply
    return reply.body


# ---- health and auth ---------------------------------------------------------------------


def test_ping_answers_pong_with_the_token_in_either_position(mock: Mock) -> None:
    for token_in in ("header", "query"):
        reply = mock.nexsis_as(mock.tokens.nexsis, token_in).call("ping", "GET", "/ping")
        assert (reply.status, reply.body) == (200, {"message": "pong"}), reply


@pytest.mark.parametrize("token", [None, "", "not-a-token"])
@pytest.mark.parametrize("token_in", ["header", "query"])
def test_missing_or_wrong_token_is_401_and_changes_nothing(
    mock: Mock, token: str | None, token_in: str
) -> None:
    bad = mock.nexsis_as(token, token_in)
    assert bad.call("ping", "GET", "/ping").status == 401
    reply = bad.put_user("NOAUTH1", **USER)
    assert reply.status == 401, reply
    assert set(reply.body) >= {"error", "message"}, reply
    assert mock.nx.get_user("NOAUTH1").status == 404


# ---- PUT semantics: create, update, idempotence, both encodings ------------------------------


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_put_user_creates_updates_and_is_idempotent(mock: Mock, encoding: str) -> None:
    nx = mock.nx
    uid = f"S-{encoding}-1"
    assert nx.get_user(uid).status == 404

    def put(fields: dict) -> dict:
        kw = {"json": fields} if encoding == "json" else {"form": fields}
        reply = nx.call("putUser", "PUT", f"/user/{seg(uid)}", **kw)
        assert reply.status == 200, reply
        return reply.body

    first = put(USER)
    assert {k: first[k] for k in ("userid", *USER)} == {"userid": uid, **USER}, first
    state_after_first = without_clock(mock.admin.snapshot())
    second = put(USER)
    assert second == first
    # `timemodified` is the clock, not the data: an identical PUT may touch it as Moodle does
    assert without_clock(mock.admin.snapshot()) == state_after_first, (
        "a second identical PUT changed the state"
    )
    assert nx.get_user(uid).body == first

    changed = put({**USER, "lastname": "Jones", "email": "jones@inst.edu"})
    assert (changed["lastname"], changed["email"]) == ("Jones", "jones@inst.edu")
    got = nx.get_user(uid).body
    assert (got["lastname"], got["email"], got["firstname"]) == ("Jones", "jones@inst.edu", "Ada")
    matches = [u for u in mock.admin.records("users") if u.get("idnumber") == uid]
    assert len(matches) == 1, "updating created a second user"


@pytest.mark.parametrize("encoding", ["json", "form"])
def test_put_course_creates_updates_and_is_idempotent(mock: Mock, encoding: str) -> None:
    nx = mock.nx
    cid = f"C-{encoding}-1"
    assert nx.get_course(cid).status == 404
    fields = {**COURSE, "shortname": f"SN-{encoding}"}

    def put(body: dict) -> dict:
        kw = {"json": body} if encoding == "json" else {"form": body}
        reply = nx.call("putCourse", "PUT", f"/course/{seg(cid)}", **kw)
        assert reply.status == 200, reply
        return reply.body

    first = put(fields)
    assert first["courseid"] == cid
    assert (first["fullname"], first["shortname"], first["categorypath"]) == (
        fields["fullname"],
        fields["shortname"],
        fields["categorypath"],
    )
    assert put(fields) == first
    assert nx.get_course(cid).body == first
    put({**fields, "fullname": "Renamed"})
    got = nx.get_course(cid).body
    assert (got["fullname"], got["shortname"]) == ("Renamed", fields["shortname"])
    assert len([c for c in mock.admin.records("courses") if c.get("idnumber") == cid]) == 1


def test_put_group_creates_updates_and_is_idempotent(mock: Mock) -> None:
    nx = mock.nx
    make_course(nx, "CG1")
    first = nx.put_group("CG1", "G1", name="Group 1", description="Group 1...")
    assert first.status == 200, first
    assert first.body == {"groupid": "G1", "name": "Group 1", "description": "Group 1..."} or (
        {k: first.body[k] for k in ("groupid", "name", "description")}
        == {"groupid": "G1", "name": "Group 1", "description": "Group 1..."}
    )
    assert nx.put_group("CG1", "G1", name="Group 1", description="Group 1...").body == first.body
    nx.put_group("CG1", "G1", name="Group One", description="d")
    assert nx.get_group("CG1", "G1").body["name"] == "Group One"
    listed = nx.groups("CG1").body
    assert [g["groupid"] for g in listed].count("G1") == 1


def test_get_and_delete_of_unknown_ids_are_404(mock: Mock) -> None:
    nx = mock.nx
    for reply in (
        nx.get_user("NOPE"),
        nx.get_course("NOPE"),
        nx.delete_user("NOPE"),
        nx.delete_course("NOPE"),
        nx.user_enrolments("NOPE"),
        nx.groups("NOPE"),
    ):
        assert reply.status == 404, reply
        assert isinstance(reply.body.get("message"), str), reply


# ---- enrolments and groups -----------------------------------------------------------------


def test_enrolment_needs_an_existing_user_and_course(mock: Mock) -> None:
    nx = mock.nx
    make_user(nx, "E1")
    make_course(nx, "EC1")
    before = mock.admin.snapshot()
    assert nx.enrol("NOUSER", "EC1", roleid="student").status == 404
    assert nx.enrol("E1", "NOCOURSE", roleid="student").status == 404
    assert mock.admin.snapshot() == before, "a refused enrolment changed the state"

    assert nx.enrol("E1", "EC1", roleid="student").status == 200
    assert nx.enrol("E1", "EC1", roleid="student").status == 200  # PUT again: still one enrolment
    mine = nx.user_enrolments("E1").body
    assert [e["courseid"] for e in mine] == ["EC1"]
    assert "student" in mine[0]["roles"]
    in_course = [e for e in nx.course_enrolments("EC1").body if e["idnumber"] == "E1"]
    assert len(in_course) == 1, in_course
    assert (in_course[0]["email"], in_course[0]["firstname"]) == (USER["email"], USER["firstname"])

    assert nx.unenrol("E1", "EC1").status == 200
    assert nx.user_enrolments("E1").body == []
    assert not [e for e in nx.course_enrolments("EC1").body if e["idnumber"] == "E1"]


def test_group_membership_needs_an_enrolment(mock: Mock) -> None:
    nx = mock.nx
    make_user(nx, "GM1")
    make_course(nx, "GMC")
    nx.put_group("GMC", "GG", name="Group G", description="")
    before = mock.admin.snapshot()
    refused = nx.add_member("GMC", "GG", "GM1")
    assert refused.status in (400, 404, 409), refused
    assert mock.admin.snapshot() == before, "a refused membership changed the state"

    nx.enrol("GM1", "GMC", roleid="student")
    assert nx.add_member("GMC", "GG", "GM1").status == 200
    assert nx.add_member("GMC", "GG", "GM1").status == 200  # adding again is not an error
    gid = mock.admin.internal_id("groups", "GG")
    uid = mock.admin.internal_id("users", "GM1")
    group = next(g for g in mock.admin.records("groups") if g["id"] == gid)
    assert group["members"] == [uid]
    assert nx.remove_member("GMC", "GG", "GM1").status == 200
    group = next(g for g in mock.admin.records("groups") if g["id"] == gid)
    assert group["members"] == []


def test_unenrol_removes_group_memberships_in_that_course(mock: Mock) -> None:
    nx = mock.nx
    make_user(nx, "UG1")
    make_course(nx, "UGC")
    nx.put_group("UGC", "UGG", name="UGG", description="")
    nx.enrol("UG1", "UGC", roleid="student")
    assert nx.add_member("UGC", "UGG", "UG1").status == 200
    assert nx.unenrol("UG1", "UGC").status == 200
    gid = mock.admin.internal_id("groups", "UGG")
    assert next(g for g in mock.admin.records("groups") if g["id"] == gid)["members"] == []


def test_delete_user_cascades_like_moodle(mock: Mock) -> None:
    """A deleted user loses enrolments, group memberships and program allocations."""
    nx, ws = mock.nx, mock.ws
    make_user(nx, "DEL1")
    make_course(nx, "DELC")
    nx.enrol("DEL1", "DELC", roleid="student")
    nx.put_group("DELC", "DELG", name="DELG", description="")
    assert nx.add_member("DELC", "DELG", "DEL1").status == 200
    internal = mock.admin.internal_id("users", "DEL1")
    program = manual_program(mock)
    assert ws.ok(
        "tool_muprog_source_manual_allocate_users", {"programid": program["id"], "userids": [internal]}
    ) == [internal]

    assert nx.delete_user("DEL1").status == 200
    assert nx.get_user("DEL1").status == 404
    assert not [e for e in nx.course_enrolments("DELC").body if e["idnumber"] == "DEL1"]
    gid = mock.admin.internal_id("groups", "DELG")
    assert internal not in next(g for g in mock.admin.records("groups") if g["id"] == gid)["members"]
    allocs = ws.ok("tool_muprog_get_program_allocations", {"programid": program["id"]})
    assert internal not in [a["userid"] for a in allocs]
    assert nx.delete_user("DEL1").status == 404


def test_delete_course_removes_its_enrolments_and_groups(mock: Mock) -> None:
    nx = mock.nx
    make_user(nx, "DC1")
    make_course(nx, "DCC")
    nx.enrol("DC1", "DCC", roleid="student")
    nx.put_group("DCC", "DCG", name="DCG", description="")
    assert nx.delete_course("DCC").status == 200
    assert nx.get_course("DCC").status == 404
    assert nx.user_enrolments("DC1").body == []
    assert not [g for g in mock.admin.records("groups") if g.get("idnumber") == "DCG"]


# ---- completions ---------------------------------------------------------------------------


def test_completion_post_adds_only_when_none_exists(mock: Mock) -> None:
    nx = mock.nx
    make_user(nx, "CP1")
    make_course(nx, "CPC")
    nx.enrol("CP1", "CPC", roleid="student")
    first = nx.add_completion("CPC", "CP1", "2026-11-01T08:00:00.000Z")
    assert first.status == 200, first
    got = nx.get_completion("CPC", "CP1")
    assert got.status == 200, got
    assert int(got.body["timecompleted"]) == 1793520000
    assert int(got.body["userid"]) == mock.admin.internal_id("users", "CP1")

    second = nx.add_completion("CPC", "CP1", "1700000000")
    assert second.status in (200, 409), second
    assert int(nx.get_completion("CPC", "CP1").body["timecompleted"]) == 1793520000, "second POST overwrote"


def test_completion_for_unknown_user_or_course_is_404(mock: Mock) -> None:
    nx = mock.nx
    make_user(nx, "CP2")
    make_course(nx, "CPC2")
    assert nx.add_completion("CPC2", "NOUSER", "1700000000").status == 404
    assert nx.add_completion("NOCOURSE", "CP2", "1700000000").status == 404


# ---- logs ----------------------------------------------------------------------------------


def _entries(body: object) -> list[dict]:
    return body if isinstance(body, list) else [body]


def test_get_logs_records_every_call_filterable_by_level_with_paging(mock: Mock) -> None:
    nx = mock.nx
    make_user(nx, "LOG1")
    assert nx.get_user("LOG1").status == 200
    assert nx.get_user("LOGMISSING").status == 404
    everything = _entries(nx.logs(limit=1000).body)
    urls = [(e["request_method"], e["request_url"] or "") for e in everything]
    assert any(m == "PUT" and u.endswith("/user/LOG1") for m, u in urls), urls[:10]
    assert any(m == "GET" and u.endswith("/user/LOG1") for m, u in urls), urls[:10]
    missing = [e for e in everything if (e["request_url"] or "").endswith("/user/LOGMISSING")]
    assert missing and int(missing[0]["response_status_code"]) == 404, missing

    # Levels: filtering by one level gives exactly the entries of that level; a list gives the union.
    levels = {e["level"] for e in everything}
    assert missing[0]["level"] != "info" and "info" in levels, levels
    by_level = {}
    for level in sorted(levels):
        only = _entries(nx.logs(level=level, limit=1000).body)
        assert only and {e["level"] for e in only} == {level}, (level, only[:3])
        by_level[level] = {e["id"] for e in only}
    two = sorted(levels)[:2]
    union = _entries(nx.logs(level=",".join(two), limit=1000).body)
    # getLogs calls are logged too (as info), so the later list may hold newer info entries
    assert {e["id"] for e in union} >= by_level[two[0]] | by_level[two[1]]
    assert {e["level"] for e in union} == set(two)


def test_get_logs_accepts_the_vendor_documented_query(mock: Mock) -> None:
    """The document's own example: `?limit=10&offset=0&level=fatal,error,warning,info`."""
    reply = mock.nx.call("getLogs", "GET", "/logs?limit=10&offset=0&level=fatal,error,warning,info")
    assert reply.status == 200, reply
    entries = _entries(reply.body)
    assert 0 < len(entries) <= 10 and {e["level"] for e in entries} <= {"fatal", "error", "warning", "info"}


def test_get_logs_limit_and_offset_page_through_one_level(mock: Mock) -> None:
    """Paged over `warning` entries (404s), which the getLogs calls themselves do not add to."""
    nx = mock.nx
    for i in range(5):
        assert nx.get_user(f"PAGE-MISSING-{i}").status == 404
    full = _entries(nx.logs(level="warning", limit=1000).body)
    assert len(full) >= 5
    ids = [e["id"] for e in full]
    assert _ids(nx.logs(level="warning", limit=2, offset=0).body) == ids[0:2]
    assert _ids(nx.logs(level="warning", limit=2, offset=1).body) == ids[1:3]
    assert _ids(nx.logs(level="warning", limit=3, offset=2).body) == ids[2:5]
    assert _ids(nx.logs(level="warning", limit=10, offset=len(ids)).body) == []
    newest = [e for e in full if (e["request_url"] or "").endswith("/user/PAGE-MISSING-4")]
    assert newest and full.index(newest[0]) == 0, "entries are not listed newest first"


def _ids(body: object) -> list:
    return [e["id"] for e in _entries(body)] if body not in (None, []) else []


def test_logs_record_a_refused_completion(mock: Mock) -> None:
    nx = mock.nx
    make_user(nx, "LOG2")
    make_course(nx, "LOGC")
    nx.enrol("LOG2", "LOGC", roleid="student")
    nx.add_completion("LOGC", "LOG2", "1700000000")
    nx.add_completion("LOGC", "LOG2", "1700000001")
    entries = _entries(nx.logs(limit=1000).body)
    posts = [
        e for e in entries if e["request_method"] == "POST" and "/completion/" in (e["request_url"] or "")
    ]
    assert len(posts) >= 2, posts


# ---- programs through NexSIS ---------------------------------------------------------------


def manual_program(mock: Mock) -> dict:
    """A program of the default fixtures that has a manual allocation source."""
    programs = mock.ws.ok("tool_muprog_get_programs", {"fieldvalues": [{"field": "archived", "value": "0"}]})
    manual = [p for p in programs if "manual" in p.get("sources", [])]
    assert manual, f"default fixtures have no program with a manual source: {programs}"
    return manual[0]


def test_program_allocation_put_get_delete(mock: Mock) -> None:
    nx = mock.nx
    make_user(nx, "PA1")
    program = manual_program(mock)
    pid = program["idnumber"]
    assert nx.get_program(pid, "PA1").status == 404
    put = nx.put_program(pid, "PA1", startdate="2025-12-31T10:00:00", duedate="2026-12-31T10:00:00")
    assert put.status == 200, put
    assert int(put.body["userid"]) == mock.admin.internal_id("users", "PA1")
    assert int(put.body["programid"]) == program["id"]
    assert (
        nx.put_program(pid, "PA1", startdate="2025-12-31T10:00:00", duedate="2026-12-31T10:00:00").body["id"]
        == put.body["id"]
    )
    assert nx.get_program(pid, "PA1").body["id"] == put.body["id"]
    assert nx.delete_program(pid, "PA1").status == 200
    assert nx.get_program(pid, "PA1").status == 404


def test_a_form_body_that_is_not_key_value_pairs_is_not_a_500(mock: Mock) -> None:
    """`0` as a form body is the variable `0` with an empty value; the body is ignored here."""
    make_user(mock.nx, "FB1")
    make_course(mock.nx, "FBC")
    mock.nx.enrol("FB1", "FBC", roleid="student")
    response = mock.http.post(
        "/enrol/nexsis/api/index.php/course/FBC/user/FB1/completion/1700000000",
        content="0",
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Authorization": f"Bearer {mock.tokens.nexsis}",
        },
    )
    assert response.status_code in (200, 400), (response.status_code, response.text[:200])
    if response.status_code == 200:
        got = mock.nx.get_completion("FBC", "FB1").body
        assert int(got["timecompleted"]) == 1700000000
