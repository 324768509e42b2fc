"""NexSIS program allocations, the same rows the web services list: the cross-API rule's operations.

`allocation_seen_by_ws` (contracts/effects/links.py) allocates a user to a program through NexSIS
(`PUT /program/{id}/user/{id}`), looks for the allocation with `tool_muprog_get_program_allocations`
by the internal ids the answer names, deletes it through NexSIS and looks again. Here both APIs
share `State.allocations`, as one Moodle site does; the fault keeps NexSIS's allocations apart.
Answers follow the mock (`mock/handlers/nexsis/programs.py`): the program by its idnumber, the
row with Moodle's internal ids, DELETE answered 200 without a body.
"""

from __future__ import annotations

import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.faulty_server import bodies, links

FAULTS_PROGRAMS = {
    # class 2: a write that does not take effect (seen through the other API)
    "nexsis_allocation_not_in_ws": "PUT /program/{id}/user/{id} keeps its allocations apart from Moodle's",
}
#: The faulty site's programs by NexSIS idnumber -> internal id (`app._ws_call` knows 1 and 2).
PROGRAMS = {"PRG-1": 1, "PRG-2": 2}
_SEGMENT = "[^/]+"


def _err(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def _seconds(value: Any, default: int) -> int:
    """A TimeValue as Unix seconds (what Moodle stores); one it cannot read keeps the default."""
    if value is None:
        return default
    text = str(value).strip()
    if re.fullmatch(r"-?[0-9]+", text):
        return int(text)
    try:
        return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp())
    except ValueError:
        return default


def _own(st: Any) -> dict[tuple[int, int], dict[str, Any]]:
    """NexSIS's view of the allocations (program, user) -> row: the shared rows, or its own table
    with `nexsis_allocation_not_in_ws` on."""
    own: dict[tuple[int, int], dict[str, Any]] = vars(st).setdefault("nexsis_allocations", {})
    return own


async def nexsis(st: Any, request: Request, path: str) -> Response | None:
    m = re.fullmatch(f"/program/({_SEGMENT})/user/({_SEGMENT})", path)
    if not m or request.method not in ("PUT", "DELETE"):
        return None
    program, user = PROGRAMS.get(unquote(m.group(1))), unquote(m.group(2))
    if program is None:
        return _err(404, "not_found", f"No program {unquote(m.group(1))}.")
    if user not in st.users:
        return _err(404, "not_found", f"No user {user}.")
    internal = links.internal_id(st, "user", user)
    key = (program, internal)
    if request.method == "DELETE":
        row = _own(st).pop(key, None)
        if row is None:
            return _err(404, "not_found", f"User {user!r} is not allocated to program {m.group(1)!r}")
        st.allocations = [a for a in st.allocations if (a["programid"], a["userid"]) != key]
        return Response(b"", media_type="application/json")
    body = await bodies.read(request, "ProgramAllocationInput")
    if isinstance(body, Response):
        return body
    status = body.get("status")
    if status is not None and str(status).strip() not in ("0", "1"):
        return _err(400, "invalid_field", "status must be 0 (active) or 1 (suspended)")
    with st.lock:
        return JSONResponse(_allocate(st, key, body))


def _allocate(st: Any, key: tuple[int, int], body: dict[str, Any]) -> dict[str, Any]:
    now = int(time.time())
    own = _own(st)
    row = own.get(key)
    if row is None:
        st.next_id += 1
        row = own[key] = {"id": st.next_id, "timecreated": now, "startdate": now, "duedate": 0, "enddate": 0}
        shared = any((a["programid"], a["userid"]) == key for a in st.allocations)
        if "nexsis_allocation_not_in_ws" not in st.faults and not shared:
            st.allocations.append(st._alloc(row["id"], key[0], key[1], when=now))
    for name in ("startdate", "duedate", "enddate"):
        row[name] = _seconds(body.get(name), row[name])
    row["status"] = str(body.get("status", row.get("status", "0"))).strip()
    return {
        "programid": str(key[0]),
        "userid": str(key[1]),
        "certificationid": "0",
        "startdate": row["startdate"],
        "startdatelocked": 1,
        "duedate": row["duedate"],
        "duedatelocked": 1,
        "enddate": row["enddate"],
        "enddatelocked": 1,
        "status": row["status"],
        "timesuspended": "0",
        "allocationtype": "0",
        "id": str(row["id"]),
        "timecreated": str(row["timecreated"]),
        "timemodified": now,
        "usermodified": "2",
    }
