"""Faults of classes 2 (a write that does not take effect), 3 (part of a batch), 4 (identity), 6 (semantics).

Each answer still looks well formed and schema-valid: only reading the effect back (or comparing
the answer with what was asked) shows the fault. `app.py` calls the hooks below at the matching
step; with no fault on they change nothing.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from starlette.responses import JSONResponse, Response

from tests.faulty_server import links

FAULTS_EFFECTS = {
    # class 2: a write that does not take effect
    "course_update_ignored": "PUT /course/{id} of an existing course answers the new values, keeps the old",
    "course_create_lost": "PUT /course/{id} of a new course answers 200 but stores nothing",
    "course_delete_ignored": "DELETE /course/{id} answers 200 but the course stays",
    "user_delete_ignored": "DELETE /user/{id} answers 200 but the user stays",
    "deallocation_ignored": "tool_muprog_delete_program_allocations answers the users but removes none",
    # class 3: part of a batch
    "allocation_batch_first_only": "tool_muprog_source_manual_allocate_users stores only the first new user",
    "groups_batch_first_only": "core_group_create_groups creates and answers only the first group",
    # class 4: identity
    "user_answer_internal_id": "putUser and getUser name the user by an internal number, not the external id",
    # class 6: documented semantics
    "allocation_returns_skipped": "allocating returns the already-allocated users too",
    "deallocation_reports_unremoved": "deallocating returns every user asked, allocated or not",
    "course_startdate_unix": "getCourse answers startdate as Unix seconds (the document shows ISO 8601)",
}


def stores(faults: set[str], kind: str, existed: bool) -> bool:
    """Whether a PUT's new values are stored."""
    if kind == "course" and existed and "course_update_ignored" in faults:
        return False
    return not (kind == "course" and not existed and "course_create_lost" in faults)


def deletes(faults: set[str], kind: str) -> bool:
    """Whether a DELETE removes the record (it answers 200 either way)."""
    return f"{kind}_delete_ignored" not in faults


def answer(faults: set[str], kind: str, method: str, record: dict[str, Any]) -> dict[str, Any]:
    """The NexSIS answer of a GET or PUT of `record`."""
    out = dict(record)
    if kind == "user" and "user_answer_internal_id" in faults:
        out["userid"] = str(1000 + sum(map(ord, str(record.get("userid", "")))))
    start = out.get("startdate")
    if kind == "course" and method == "GET" and "course_startdate_unix" in faults and isinstance(start, str):
        with contextlib.suppress(ValueError):
            out["startdate"] = int(datetime.fromisoformat(start.replace("Z", "+00:00")).timestamp())
    return out


def ws_call(st: Any, function: str, p: dict[str, Any]) -> Response | None:
    """A faulty take on one function (with its fault on), else None: `app._ws_call` answers."""
    faults: set[str] = st.faults
    program = p.get("programid")

    def allocated(user: int) -> bool:
        return any(a["programid"] == program and a["userid"] == user for a in st.allocations)

    if function == "tool_muprog_source_manual_allocate_users" and program in (1, 2):
        users = p.get("userids") or []
        if not faults & {"allocation_batch_first_only", "allocation_returns_skipped"}:
            return None
        if any(u not in links.ws_users(st) for u in users):
            return None  # the normal path answers the missing record
        new = [u for u in users if not allocated(u)]
        for user in new[:1] if "allocation_batch_first_only" in faults else new:
            st.next_id += 1
            st.allocations.append(st._alloc(st.next_id, program, user))
        return JSONResponse(users if "allocation_returns_skipped" in faults else new)
    if function == "tool_muprog_delete_program_allocations" and program in (1, 2):
        if not faults & {"deallocation_ignored", "deallocation_reports_unremoved"}:
            return None
        users = p.get("userids") or []
        gone = [u for u in users if allocated(u)]
        if "deallocation_ignored" not in faults:
            st.allocations = [
                a for a in st.allocations if not (a["programid"] == program and a["userid"] in gone)
            ]
        return JSONResponse(users if "deallocation_reports_unremoved" in faults else gone)
    if (
        function == "core_group_create_groups"
        and "groups_batch_first_only" in faults
        and len(p["groups"]) > 1
    ):
        return None if p["groups"][0]["courseid"] not in links.ws_courses(st) else _first_group_only(st, p)
    return None


def _first_group_only(st: Any, p: dict[str, Any]) -> Response:
    """The batch's first group is created (as a correct site would), the others dropped."""
    return JSONResponse([st.new_group(p["groups"][0])])
