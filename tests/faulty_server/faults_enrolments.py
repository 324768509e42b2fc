"""Enrolment writes checked as the mock checks them, and the faults the enrolment effect rules exist for.

`links.py` enrols and unenrols (it answers like a NexSIS site); this module runs before it: the
body of `PUT /user/{id}/enrol/{id}` is checked against the spec's `EnrolInput` (`bodies.read`: a
malformed one is 400, as on the mock), and each fault makes a write answer 200 while its effect
is missing, which only reading the enrolment lists back shows (`enrol_takes_effect`, `unenrol_takes_effect`,
`delete_user_removes_enrolments` in contracts/effects/nexsis.py). The lists are `faults_rules.py`'s.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from tests.faulty_server import bodies

FAULTS_ENROLMENTS = {
    # class 2: a write that does not take effect
    "enrol_not_in_user_list": "PUT /user/{id}/enrol/{id} shows in the course's list, never in the user's",
    "unenrol_ignored": "DELETE /user/{id}/enrol/{id} answers 200 but the enrolment stays",
    "user_delete_keeps_enrolments": "DELETE /user/{id} answers 200 but its enrolments stay listed",
}
_SEGMENT = "[^/]+"


def stale(st: Any) -> dict[tuple[str, str], tuple[int, dict[str, Any]]]:
    """Enrolments of users deleted while `user_delete_keeps_enrolments` was on: (user, course) ->
    (time, the user's record), still listed by the course."""
    kept: dict[tuple[str, str], tuple[int, dict[str, Any]]] = vars(st).setdefault("stale_enrolments", {})
    return kept


async def nexsis(st: Any, request: Request, path: str) -> Response | None:
    """A refusal or a faulty answer before `links.py` answers, else None."""
    m = re.fullmatch(f"/user/({_SEGMENT})/enrol/({_SEGMENT})", path)
    if m and request.method == "PUT":
        body = await bodies.read(request, "EnrolInput")
        return body if isinstance(body, Response) else None
    if m and request.method == "DELETE" and "unenrol_ignored" in st.faults:
        key = (unquote(m.group(1)), unquote(m.group(2)))
        return Response(b"", media_type="application/json") if key in st.enrolments else None
    m = re.fullmatch(f"/user/({_SEGMENT})", path)
    if m and request.method == "DELETE" and "user_delete_keeps_enrolments" in st.faults:
        user = unquote(m.group(1))
        record = dict(st.users.get(user) or {})
        stale(st).update({k: (when, record) for k, when in st.enrolments.items() if k[0] == user})
    return None
