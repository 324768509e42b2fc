"""NexSIS course groups (`PUT`/`GET`/`DELETE /course/{id}/group/{id}`), one table with core_group_*'s.

A group made here is a Moodle group of the course (internal course id, idnumber = the NexSIS
group id), so `core_group_*` and `GET /course/{id}/group` (faults_rules.py) see it too. Answers
follow the mock (`mock/handlers/nexsis/groups.py`): a group named by its idnumber, a missing name
taken from the id on creation, fields left out kept on update, DELETE answered 200 without a body.
Each fault makes a write answer 200 while its effect is missing (`create_reads_back` on
putCourseGroup, `delete_removes` on deleteCourseGroup in contracts/effects/nexsis.py).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.faulty_server import bodies, links

FAULTS_GROUPS = {
    # class 2: a write that does not take effect
    "group_update_ignored": "PUT /course/{id}/group/{id} (an update) answers the new values, keeps the old",
    "group_delete_ignored": "DELETE /course/{id}/group/{id} answers 200 but the group stays",
}
_SEGMENT = "[^/]+"


def _err(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def made_here(st: Any) -> set[int]:
    """Ids of the groups made through NexSIS (not core_group_create_groups)."""
    ids: set[int] = vars(st).setdefault("nexsis_made_groups", set())
    return ids


def _row(group: dict[str, Any]) -> dict[str, Any]:
    return {"groupid": group["idnumber"], "name": group["name"], "description": group["description"]}


async def nexsis(st: Any, request: Request, path: str) -> Response | None:
    m = re.fullmatch(f"/course/({_SEGMENT})/group/({_SEGMENT})", path)
    if not m or request.method not in ("GET", "PUT", "DELETE"):
        return None
    course, gid = unquote(m.group(1)), unquote(m.group(2))
    if course not in st.courses:
        return _err(404, "not_found", f"No course {course}.")
    internal = links.internal_id(st, "course", course)
    found = next(
        (k for k, g in st.groups.items() if g["courseid"] == internal and g["idnumber"] == gid), None
    )
    if request.method == "GET":
        if found is None:
            return _err(404, "not_found", f"Group {gid!r} not found in course {course!r}")
        return JSONResponse(_row(st.groups[found]))
    if request.method == "DELETE":
        if found is None:
            return _err(404, "not_found", f"Group {gid!r} not found in course {course!r}")
        if "group_delete_ignored" not in st.faults:
            st.groups.pop(found, None)
        return Response(b"", media_type="application/json")
    body = await bodies.read(request, "GroupInput")
    if isinstance(body, Response):
        return body
    fields = {k: body[k] for k in ("name", "description") if k in body}
    with st.lock:
        if found is None:
            group = st.new_group({"courseid": internal, "name": gid, "idnumber": gid, **fields})
            made_here(st).add(group["id"])
            return JSONResponse(_row(group))
        answer = {**st.groups[found], **fields}
        if "group_update_ignored" not in st.faults:
            st.groups[found] = answer
        return JSONResponse(_row(answer))
