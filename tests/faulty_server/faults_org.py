"""NexSIS metalinks and managers: PUT, read back, DELETE, read again, as the mock answers them.

`create_then_delete` (contracts/effects/links.py) is registered for putMetalink and putManager;
here each has a planted fault that answers its DELETE with 200 while the link stays. Answers follow
the mock (`mock/handlers/nexsis/metalinks.py`, `managers.py`): a metalink as the parent course's
`meta` enrolment instance (internal course ids), a manager relationship named by external user
ids, a course not linked to itself, a user not their own manager, `keepexisting` off replacing
the user's other managers.
"""

from __future__ import annotations

import re
import time
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.faulty_server import bodies, links

FAULTS_ORG = {
    # class 2: a write that does not take effect
    "metalink_delete_ignored": "DELETE /course/{id}/metalink/{id} answers 200 but the metalink stays",
    "manager_delete_ignored": "DELETE /organisation/user/{id}/manager/{id} answers 200 but the manager stays",
}
_SEGMENT = "[^/]+"
#: ManagerInput's flags -> their bit in `permissions`.
_PERMISSIONS = {"perm_allocate_programs": 1, "perm_view_reports": 2, "perm_be_notified": 4}


def _err(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _done() -> Response:
    return Response(b"", media_type="application/json")


def _on(value: Any) -> bool:
    """BoolLike: true, 1, "1", "true"."""
    return value is True or value == 1 or value in ("1", "true")


def _store(st: Any, name: str) -> dict[Any, Any]:
    table: dict[Any, Any] = vars(st).setdefault(name, {})
    return table


async def nexsis(st: Any, request: Request, path: str) -> Response | None:
    m = re.fullmatch(f"/course/({_SEGMENT})/metalink/({_SEGMENT})", path)
    if m and request.method in ("GET", "PUT", "DELETE"):
        return await _metalink(st, request, unquote(m.group(1)), unquote(m.group(2)))
    m = re.fullmatch(f"/organisation/user/({_SEGMENT})/manager", path)
    if m and request.method == "GET":
        user = unquote(m.group(1))
        if user not in st.users:
            return _err(404, "not_found", f"No user {user}.")
        return JSONResponse(list(_store(st, "managers").get(user, {}).values()))
    m = re.fullmatch(f"/organisation/user/({_SEGMENT})/manager/({_SEGMENT})", path)
    if m and request.method in ("PUT", "DELETE"):
        return await _manager(st, request, unquote(m.group(1)), unquote(m.group(2)))
    return None


async def _metalink(st: Any, request: Request, parent: str, child: str) -> Response:
    for course in (parent, child):
        if course not in st.courses:
            return _err(404, "not_found", f"No course {course}.")
    links_ = _store(st, "metalinks")
    key = (parent, child)
    if request.method == "GET":
        row = links_.get(key)
        return JSONResponse(row) if row else _err(404, "not_found", f"No metalink {parent} <- {child}.")
    if request.method == "DELETE":
        if key not in links_:
            return _err(404, "not_found", f"No metalink {parent} <- {child}.")
        if "metalink_delete_ignored" not in st.faults:
            del links_[key]
        return _done()
    body = await bodies.read(request, "MetalinkInput")
    if isinstance(body, Response):
        return body
    if parent == child:
        return _err(400, "invalid_parameter", "A course cannot be metalinked to itself")
    with st.lock:
        if key not in links_:
            st.next_id += 1
            links_[key] = {
                "id": str(st.next_id),
                "enrol": "meta",
                "status": "0",
                "courseid": str(links.internal_id(st, "course", parent)),
                "customint1": str(links.internal_id(st, "course", child)),
            }
        return JSONResponse(links_[key])


async def _manager(st: Any, request: Request, user: str, boss: str) -> Response:
    for who in (user, boss):
        if who not in st.users:
            return _err(404, "not_found", f"No user {who}.")
    managers = _store(st, "managers").setdefault(user, {})
    if request.method == "DELETE":
        if boss not in managers:
            return _err(404, "not_found", f"User {boss!r} is not a manager of {user!r}")
        if "manager_delete_ignored" not in st.faults:
            del managers[boss]
        return _done()
    body = await bodies.read(request, "ManagerInput")
    if isinstance(body, Response):
        return body
    if user == boss:
        return _err(400, "invalid_parameter", "A user cannot be their own manager")
    now = int(time.time())
    with st.lock:
        if not _on(body.get("keepexisting")):
            for other in [m for m in managers if m != boss]:
                del managers[other]
        row = managers.get(boss)
        if row is None:
            st.next_id += 1
            row = {"id": str(st.next_id), "userid": user, "managerid": boss, "tenantid": "0"}
            row["timecreated"] = now
        row.update(
            permissions=str(sum(bit for flag, bit in _PERMISSIONS.items() if _on(body.get(flag)))),
            timemodified=now,
            usermodified="2",
        )
        managers[boss] = row
        return JSONResponse(row)
