"""NexSIS links and allocations read back: metalinks, program and certification allocations, jobs, managers.

Each rule PUTs, reads back, DELETEs and reads again. A program allocation made through NexSIS is also
looked up through `tool_muprog_get_program_allocations` when the run tests the web services too (the
NexSIS answer names the program's and user's internal ids, as in the document).
"""

from __future__ import annotations

from typing import Any

from nexsis_contracts.effects.nexsis import deleted, make_course, make_user, present
from nexsis_contracts.effects.registry import Probe, effect
from nexsis_contracts.graph.base import START, as_int, json_of


@effect("create_then_delete", "putMetalink", needs=("putCourse", "getMetalink", "deleteMetalink"))
def metalink(p: Probe) -> None:
    parent, _a = make_course(p)
    child, _b = make_course(p)
    path = f"/course/{parent}/metalink/{child}"
    p.ok(p.nexsis("PUT", path, {}), "putMetalink")
    present(p, path, f"PUT {path}")
    deleted(p, path, "deleteMetalink")


def _allocation(p: Probe, kind: str, target: str | None) -> None:
    p.need(target, f"no sandbox {kind}")
    uid, _u = make_user(p)
    path = f"/{kind}/{target}/user/{uid}"
    p.ok(p.nexsis("PUT", path, {"startdate": START}), f"PUT {path}")
    present(p, path, f"PUT {path}")
    deleted(p, path)


@effect(
    "allocation_seen_by_ws",
    "putProgramAllocation",
    needs=("putUser", "deleteProgramAllocation", "tool_muprog_get_program_allocations"),
)
def program_allocation_cross_api(p: Probe) -> None:
    """The same allocation through the web services: listed after the PUT, gone after the DELETE."""
    program = p.graph.program()
    p.need(program, "no sandbox program")
    uid, _u = make_user(p)
    path = f"/program/{program}/user/{uid}"
    row = p.ok(p.nexsis("PUT", path, {"startdate": START}), f"PUT {path}")
    ids = (as_int(row.get("programid")), as_int(row.get("userid"))) if isinstance(row, dict) else (None, None)
    p.need(all(ids), f"PUT {path} named no internal program and user ids")
    internal_program, internal_user = ids

    def listed() -> bool | None:
        _resp, rows = p.ws(
            "tool_muprog_get_program_allocations", programid=internal_program, userids=[internal_user]
        )
        if not isinstance(rows, list):
            return None  # an exception: not this rule's to judge
        return any(isinstance(r, dict) and r.get("userid") == internal_user for r in rows)

    seen = listed()
    p.need(seen is not None, "tool_muprog_get_program_allocations refused the ids the NexSIS answer named")
    p.check(
        seen,
        f"PUT {path} answered 200 (program {internal_program}, user {internal_user}) but "
        f"tool_muprog_get_program_allocations does not list user {internal_user}",
    )
    p.ok(p.nexsis("DELETE", path), f"DELETE {path}")
    p.check(
        listed() is False,
        f"DELETE {path} answered 200 but tool_muprog_get_program_allocations still lists "
        f"user {internal_user}",
    )


@effect(
    "create_then_delete",
    "putProgramAllocation",
    needs=("putUser", "getProgramAllocation", "deleteProgramAllocation"),
)
def program_allocation(p: Probe) -> None:
    _allocation(p, "program", p.graph.program())


@effect(
    "create_then_delete",
    "putCertificationAllocation",
    needs=("putUser", "getCertificationAllocation", "deleteCertificationAllocation"),
)
def certification_allocation(p: Probe) -> None:
    _allocation(p, "certification", p.graph.certification())


@effect(
    "create_then_delete", "putJobAssignment", needs=("putUser", "listJobAssignments", "deleteJobAssignment")
)
def job(p: Probe) -> None:
    org = p.graph.org()
    p.need(org, "no sandbox department and position")
    assert org is not None
    dept, pos = org
    uid, _u = make_user(p)
    p.ok(
        p.nexsis(
            "PUT", f"/organisation/user/{uid}", {"departmentid": dept, "positionid": pos, "startdate": START}
        ),
        "putJobAssignment",
    )

    def held() -> list[Any]:
        rows = json_of(p.nexsis("GET", f"/organisation/user/{uid}/job"))
        return (
            [
                r
                for r in rows
                if isinstance(r, dict) and r.get("departmentid") == dept and r.get("positionid") == pos
            ]
            if isinstance(rows, list)
            else []
        )

    jobs = held()
    p.check(jobs, f"PUT /organisation/user/{uid} answered 200 but GET .../job lists no job in {dept}/{pos}")
    p.check(
        all(r.get("userid") == uid for r in jobs),
        f"GET /organisation/user/{uid}/job names the user {jobs[0].get('userid')!r}, not {uid!r}",
    )
    p.ok(
        p.nexsis("DELETE", f"/organisation/user/{uid}/department/{dept}/position/{pos}"),
        "deleteJobAssignment",
    )
    p.check(
        not held(),
        f"DELETE /organisation/user/{uid}/department/{dept}/position/{pos} answered 200 but the job "
        "is still listed",
    )


@effect("create_then_delete", "putManager", needs=("putUser", "listManagers", "deleteManager"))
def manager(p: Probe) -> None:
    uid, _u = make_user(p)
    boss, _b = make_user(p)
    p.ok(
        p.nexsis(
            "PUT",
            f"/organisation/user/{uid}/manager/{boss}",
            {"keepexisting": True, "perm_be_notified": True},
        ),
        "putManager",
    )

    def managers() -> list[Any]:
        rows = json_of(p.nexsis("GET", f"/organisation/user/{uid}/manager"))
        return (
            [r for r in rows if isinstance(r, dict) and r.get("managerid") == boss]
            if isinstance(rows, list)
            else []
        )

    p.check(
        managers(),
        f"PUT /organisation/user/{uid}/manager/{boss} answered 200 but GET .../manager does not "
        f"name {boss!r}",
    )
    p.ok(p.nexsis("DELETE", f"/organisation/user/{uid}/manager/{boss}"), "deleteManager")
    p.check(
        not managers(),
        f"DELETE /organisation/user/{uid}/manager/{boss} answered 200 but the manager is still listed",
    )
