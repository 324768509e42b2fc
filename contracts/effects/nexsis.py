"""NexSIS writes read back: created with the values written, updated in place, gone after delete.

Each rule makes its own records (run-prefixed ids, removed by the cleanup), so it never depends on
what the operation tests left behind. Identity: the document shows users, courses, groups,
enrolments, jobs and managers named by the external ids the request used; allocation and completion
rows carry Moodle's internal ids in the document, so they are not held to it.
"""

from __future__ import annotations

import re
from typing import Any

from nexsis_contracts.effects.registry import Probe, effect
from nexsis_contracts.graph.base import START, json_of
from nexsis_contracts.scenarios.common import course_body, user_body

#: ISO 8601 date-time as the document shows it (`2017-08-16T21:09:30+00:00`, fractions and Z allowed).
ISO_8601 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


def make_course(p: Probe) -> tuple[str, dict[str, Any]]:
    cid = p.fresh("course")
    body = course_body(cid)
    p.ok(p.nexsis("PUT", f"/course/{cid}", body), f"PUT /course/{cid}")
    return cid, body


def make_user(p: Probe) -> tuple[str, dict[str, Any]]:
    uid = p.fresh("user")
    body = user_body(uid)
    p.ok(p.nexsis("PUT", f"/user/{uid}", body), f"PUT /user/{uid}")
    return uid, body


def make_enrolment(p: Probe) -> tuple[str, str]:
    """A new user enrolled as a student in a new course: (course id, user id)."""
    cid, _c = make_course(p)
    uid, _u = make_user(p)
    p.ok(p.nexsis("PUT", f"/user/{uid}/enrol/{cid}", {"roleid": "student"}), "enrolUser")
    return cid, uid


def _differs(written: dict[str, Any], read: Any) -> list[str]:
    """Fields read back with another value of the written type: the write did not take effect.

    A field missing from the read, or of another type, is the read's fault, which its own
    `response_schema_conformance` reports; blaming the write too would point at the wrong problem.
    """
    if not isinstance(read, dict):
        return []
    return [
        f"{k}={read[k]!r} (wrote {v!r})"
        for k, v in written.items()
        if k != "startdate" and k in read and type(read[k]) is type(v) and read[k] != v
    ]


def _shows(p: Probe, written: dict[str, Any], read: Any, what: str) -> None:
    """The read shows what `what` (the write, in words) wrote: else the write did not take effect."""
    wrong = _differs(written, read)
    p.check(not wrong, f"{what} answered 200 but a following GET shows {', '.join(wrong)}")


def present(p: Probe, path: str, write: str) -> Any:
    """GET `path` after `write` (in words) made it: it must read as 200; its body is returned."""
    got = p.nexsis("GET", path)
    p.check(got.status_code == 200, f"{write} answered 200 but a following GET answered {got.status_code}")
    return json_of(got)


def deleted(p: Probe, path: str, what: str | None = None) -> None:
    """DELETE `path`, then GET it: a record the delete answered 200 for must read as 404."""
    p.ok(p.nexsis("DELETE", path), what or f"DELETE {path}")
    got = p.nexsis("GET", path)
    p.check(
        got.status_code == 404,
        f"DELETE {path} answered 200 but a following GET answered {got.status_code}",
    )


# -- courses --------------------------------------------------------------------------------------------
@effect("create_reads_back", "putCourse", needs=("getCourse",))
def course_created(p: Probe) -> None:
    cid, body = make_course(p)
    _shows(p, body, present(p, f"/course/{cid}", f"PUT /course/{cid}"), f"PUT /course/{cid}")


@effect("update_changes_existing", "putCourse", needs=("getCourse",))
def course_updated(p: Probe) -> None:
    cid, body = make_course(p)
    p.ok(p.nexsis("GET", f"/course/{cid}"), f"GET /course/{cid}")
    # The category stays: a new path could make a category on a real site that no cleanup removes.
    new = {**body, "fullname": f"{body['fullname']} (renamed)"}
    p.ok(p.nexsis("PUT", f"/course/{cid}", new), f"second PUT /course/{cid}")
    read = json_of(p.nexsis("GET", f"/course/{cid}"))
    if isinstance(read, dict) and read.get("fullname") == body["fullname"]:
        p.fail(
            f"PUT /course/{cid} answered 200 but a following GET still shows the old fullname "
            f"{body['fullname']!r}"
        )
    _shows(p, new, read, f"updating course {cid} with PUT")


@effect("course_startdate_iso8601", "getCourse", needs=("putCourse",))
def course_startdate_format(p: Probe) -> None:
    """The document shows a course's startdate only as ISO 8601 text, in GET and PUT answers alike."""
    cid, _body = make_course(p)
    read = json_of(p.nexsis("GET", f"/course/{cid}"))
    p.need(isinstance(read, dict) and "startdate" in read, f"GET /course/{cid} gave no startdate")
    value = read["startdate"]
    p.check(
        isinstance(value, str) and ISO_8601.match(value),
        f"GET /course/{cid} answered startdate={value!r}; the document shows it as ISO 8601 text "
        f"(like {START!r})",
    )


@effect("delete_removes", "deleteCourse", needs=("putCourse", "getCourse"))
def course_deleted(p: Probe) -> None:
    cid, _body = make_course(p)
    deleted(p, f"/course/{cid}")


# -- users ----------------------------------------------------------------------------------------------
@effect("answer_names_external_id", "putUser", needs=("getUser",))
def user_identity(p: Probe) -> None:
    uid, _body = make_user(p)
    for what, resp in (
        (f"PUT /user/{uid}", p.nexsis("PUT", f"/user/{uid}", user_body(uid))),
        (f"GET /user/{uid}", p.nexsis("GET", f"/user/{uid}")),
    ):
        row = json_of(resp)
        named = row.get("userid") if isinstance(row, dict) else None
        p.check(
            named == uid,
            f"{what} answered userid={named!r}; NexSIS names a user by the external id the request "
            f"used ({uid!r})",
        )


@effect("update_changes_existing", "putUser", needs=("getUser",))
def user_updated(p: Probe) -> None:
    uid, body = make_user(p)
    new = {**body, "firstname": "Renamed", "email": f"renamed.{uid.lower()}@example.invalid"}
    p.ok(p.nexsis("PUT", f"/user/{uid}", new), f"second PUT /user/{uid}")
    _shows(p, new, json_of(p.nexsis("GET", f"/user/{uid}")), f"PUT /user/{uid} (an update)")


@effect("delete_removes", "deleteUser", needs=("putUser", "getUser"))
def user_deleted(p: Probe) -> None:
    uid, _body = make_user(p)
    deleted(p, f"/user/{uid}")


@effect(
    "delete_user_removes_enrolments",
    "deleteUser",
    needs=("putUser", "putCourse", "enrolUser", "listCourseEnrolments"),
)
def user_delete_unenrols(p: Probe) -> None:
    cid, uid = make_enrolment(p)
    p.ok(p.nexsis("DELETE", f"/user/{uid}"), f"DELETE /user/{uid}")
    rows = json_of(p.nexsis("GET", f"/course/{cid}/enrol"))
    listed = (
        [r for r in rows if isinstance(r, dict) and r.get("idnumber") == uid]
        if isinstance(rows, list)
        else []
    )
    p.check(not listed, f"DELETE /user/{uid} answered 200 but course {cid} still lists the user's enrolment")


# -- enrolments -----------------------------------------------------------------------------------------
def _enrolled(p: Probe, uid: str, cid: str) -> tuple[bool, bool]:
    mine = json_of(p.nexsis("GET", f"/user/{uid}/enrol"))
    theirs = json_of(p.nexsis("GET", f"/course/{cid}/enrol"))
    in_mine = isinstance(mine, list) and any(isinstance(e, dict) and e.get("courseid") == cid for e in mine)
    in_theirs = isinstance(theirs, list) and any(
        isinstance(e, dict) and e.get("idnumber") == uid for e in theirs
    )
    return in_mine, in_theirs


@effect(
    "enrol_takes_effect",
    "enrolUser",
    needs=("putUser", "putCourse", "listUserEnrolments", "listCourseEnrolments"),
)
def enrolled(p: Probe) -> None:
    cid, uid = make_enrolment(p)
    mine, theirs = _enrolled(p, uid, cid)
    p.check(
        mine,
        f"PUT /user/{uid}/enrol/{cid} answered 200 but GET /user/{uid}/enrol has no row with "
        f"courseid {cid!r}",
    )
    p.check(
        theirs,
        f"PUT /user/{uid}/enrol/{cid} answered 200 but GET /course/{cid}/enrol has no row with "
        f"idnumber {uid!r}",
    )


@effect(
    "unenrol_takes_effect",
    "unenrolUser",
    needs=("putUser", "putCourse", "enrolUser", "listUserEnrolments", "listCourseEnrolments"),
)
def unenrolled(p: Probe) -> None:
    cid, uid = make_enrolment(p)
    p.ok(p.nexsis("DELETE", f"/user/{uid}/enrol/{cid}"), "unenrolUser")
    mine, theirs = _enrolled(p, uid, cid)
    p.check(
        not (mine or theirs), f"DELETE /user/{uid}/enrol/{cid} answered 200 but the enrolment is still listed"
    )


# -- groups ---------------------------------------------------------------------------------------------
@effect("create_reads_back", "putCourseGroup", needs=("putCourse", "getCourseGroup", "listCourseGroups"))
def group_created_and_updated(p: Probe) -> None:
    cid, _c = make_course(p)
    gid = p.fresh("group")
    p.ok(
        p.nexsis("PUT", f"/course/{cid}/group/{gid}", {"name": gid, "description": "first"}), "putCourseGroup"
    )
    p.ok(
        p.nexsis("PUT", f"/course/{cid}/group/{gid}", {"name": f"{gid} renamed", "description": "second"}),
        "putCourseGroup",
    )
    row = json_of(p.nexsis("GET", f"/course/{cid}/group/{gid}"))
    p.check(
        isinstance(row, dict) and row.get("groupid") == gid and row.get("name") == f"{gid} renamed",
        f"PUT /course/{cid}/group/{gid} (an update) answered 200 but GET shows {row!r}",
    )
    rows = json_of(p.nexsis("GET", f"/course/{cid}/group"))
    p.check(
        isinstance(rows, list) and any(isinstance(r, dict) and r.get("groupid") == gid for r in rows),
        f"PUT /course/{cid}/group/{gid} answered 200 but GET /course/{cid}/group does not list it",
    )


@effect("delete_removes", "deleteCourseGroup", needs=("putCourse", "putCourseGroup", "getCourseGroup"))
def group_deleted(p: Probe) -> None:
    cid, _c = make_course(p)
    gid = p.fresh("group")
    p.ok(p.nexsis("PUT", f"/course/{cid}/group/{gid}", {"name": gid, "description": "x"}), "putCourseGroup")
    deleted(p, f"/course/{cid}/group/{gid}", "deleteCourseGroup")


# -- completions ----------------------------------------------------------------------------------------
@effect(
    "completion_keeps_first",
    "addCourseCompletion",
    needs=("putUser", "putCourse", "enrolUser", "getCourseCompletion"),
)
def completion_first(p: Probe) -> None:
    cid, uid = make_enrolment(p)
    first, later = 1767225600, 1767312000
    p.ok(p.nexsis("POST", f"/course/{cid}/user/{uid}/completion/{first}"), "addCourseCompletion")
    p.nexsis("POST", f"/course/{cid}/user/{uid}/completion/{later}")
    row = json_of(p.nexsis("GET", f"/course/{cid}/user/{uid}/completion"))
    value = row.get("timecompleted") if isinstance(row, dict) else None
    p.check(
        str(value) == str(first),
        f"a second completion POST for user {uid} in {cid} changed timecompleted to {value!r}; "
        f"the first POST set {first} and a completion is only added if none exists",
    )
