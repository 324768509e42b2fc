"""Enrolments, completions and the internal ids they reveal, as a NexSIS site has them.

A client (the suite's fixture graph, `nexsis diff`) enrols its own user in its own course and
records a completion, whose row names the two records' internal Moodle ids; the web-service
functions then take those ids (allocate that user, create a group in that course). Without this the
faulty server could only be compared with the mock on sandbox users, and every client path through
a completion would differ for a reason no fault planted.

Answers follow the NexSIS document as the mock does: enrol and unenrol answer 200 without a body,
a completion row is all strings, a second completion keeps the first.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import unquote

from starlette.responses import JSONResponse, Response

_SEGMENT = "[^/]+"
#: The sandbox records of the web services (fixed internal ids of the faulty site).
WS_USERS = frozenset(range(4, 9))
WS_COURSES = frozenset({2, 3})


def _err(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _done() -> Response:
    return Response(b"", media_type="application/json")


def internal_id(st: Any, kind: str, ident: str) -> int:
    """The record's internal id, given on first need (users and courses of NexSIS)."""
    key = (kind, ident)
    if key not in st.internal:
        st.next_id += 1
        st.internal[key] = st.next_id
    return int(st.internal[key])


def ws_users(st: Any) -> set[int]:
    """Users the web services know: the sandbox's and every NexSIS user's internal id."""
    return set(WS_USERS) | {i for (k, e), i in st.internal.items() if k == "user" and e in st.users}


def ws_courses(st: Any) -> set[int]:
    return set(WS_COURSES) | {i for (k, e), i in st.internal.items() if k == "course" and e in st.courses}


def forget(st: Any, kind: str, ident: str) -> None:
    """A deleted user or course takes its enrolments and completions with it."""
    st.internal.pop((kind, ident), None)
    index = 0 if kind == "user" else 1
    for store in (st.enrolments, st.completions):
        for key in [k for k in store if k[index] == ident]:
            del store[key]


def nexsis(st: Any, method: str, path: str) -> Response | None:
    """The answer to an enrolment or completion request, else None (not such a path)."""
    m = re.fullmatch(f"/user/({_SEGMENT})/enrol/({_SEGMENT})", path)
    if m and method in ("PUT", "DELETE"):
        user, course = unquote(m.group(1)), unquote(m.group(2))
        missing = _missing(st, user, course)
        if missing is not None:
            return missing
        if method == "PUT":
            st.enrolments.setdefault((user, course), int(time.time()))
            return _done()
        if st.enrolments.pop((user, course), None) is None:
            return _err(404, "not_found", f"User {user!r} is not enrolled in course {course!r}")
        return _done()
    m = re.fullmatch(f"/course/({_SEGMENT})/user/({_SEGMENT})/completion/({_SEGMENT})", path)
    if m and method == "POST":
        course, user, when = unquote(m.group(1)), unquote(m.group(2)), unquote(m.group(3))
        missing = _missing(st, user, course)
        if missing is not None:
            return missing
        if not when.isdigit():
            return _err(400, "invalid_field", "timecompleted must be a timestamp.")
        row = st.completions.get((user, course))
        if row is None:
            st.next_id += 1
            row = {
                "id": str(st.next_id),
                "userid": str(internal_id(st, "user", user)),
                "course": str(internal_id(st, "course", course)),
                "timeenrolled": str(st.enrolments.get((user, course), 0)),
                "timestarted": "0",
                "timecompleted": str(int(when)),
                "reaggregate": "0",
            }
            st.completions[(user, course)] = row
        return JSONResponse(row)
    return None


def _missing(st: Any, user: str, course: str) -> Response | None:
    if user not in st.users:
        return _err(404, "not_found", f"No user {user}.")
    if course not in st.courses:
        return _err(404, "not_found", f"No course {course}.")
    return None
