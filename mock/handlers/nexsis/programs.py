"""Program allocations through NexSIS: the same tool_muprog allocations the web services see.

NexSIS allocates through the program's manual source (created if the program has none), so an
allocation made here is listed, archived or deleted by tool_muprog_* and vice versa. `status` 1
suspends (archives) the allocation; dates are locked because NexSIS sets them explicitly.
"""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, nexsis_op
from nexsis_mock.handlers.nexsis import bad_request, find_user, flag, ident, not_found, opt_time, shorten
from nexsis_mock.handlers.ws.muprog_allocations import dates_valid
from nexsis_mock.store.records import Allocation, Program, Source


def find_program(ctx: Ctx, params: dict[str, Any]) -> Program:
    idnumber = ident(params, "programid")
    pid = ctx.state.program_by_idnumber.get(idnumber)
    if pid is None:
        raise not_found(f"Program {shorten(idnumber)!r} not found")
    return ctx.state.programs[pid]


def _status(alloc: Allocation) -> str:
    return "1" if alloc.archived else "0"


def allocation_get_row(alloc: Allocation) -> dict[str, Any]:
    return {
        "programid": str(alloc.programid),
        "userid": str(alloc.userid),
        "certificationid": "0",
        "startdate": str(alloc.timestart or 0),
        "startdatelocked": "1",
        "duedate": str(alloc.timedue or 0),
        "duedatelocked": "1",
        "enddate": str(alloc.timeend or 0),
        "enddatelocked": "1",
        "status": _status(alloc),
        "timesuspended": str(alloc.timemodified if alloc.archived else 0),
        "allocationtype": "0",
        "id": str(alloc.id),
        "timecreated": str(alloc.timecreated),
        "timemodified": str(alloc.timemodified),
        "usermodified": 0,
    }


def allocation_put_row(alloc: Allocation) -> dict[str, Any]:
    return {
        "programid": str(alloc.programid),
        "userid": str(alloc.userid),
        "certificationid": "0",
        "startdate": alloc.timestart or 0,
        "startdatelocked": 1,
        "duedate": alloc.timedue or 0,
        "duedatelocked": 1,
        "enddate": alloc.timeend or 0,
        "enddatelocked": 1,
        "status": _status(alloc),
        "timesuspended": str(alloc.timemodified if alloc.archived else 0),
        "allocationtype": "0",
        "id": str(alloc.id),
        "timecreated": str(alloc.timecreated),
        "timemodified": alloc.timemodified,
        "usermodified": str(alloc.usermodified),
    }


def source_of(ctx: Ctx, program: Program, stype: str) -> int:
    sid = program.sources.get(stype)
    if sid is None:
        sid = ctx.state.next_id("source")
        ctx.state.add_source(Source(id=sid, programid=program.id, type=stype))
    return sid


def nexsis_actor(ctx: Ctx) -> int:
    return int(ctx.state.site.get("nexsis_userid", 2))


@nexsis_op("getProgramAllocation")
def get_program_allocation(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    program = find_program(ctx, params)
    user = find_user(ctx, params)
    alloc = ctx.state.allocation(program.id, user.id)
    if alloc is None:
        raise not_found(
            f"User {shorten(user.idnumber)!r} is not allocated to program {shorten(program.idnumber)!r}"
        )
    return allocation_get_row(alloc)


@nexsis_op("putProgramAllocation", write=True)
def put_program_allocation(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    program = find_program(ctx, params)
    user = find_user(ctx, params)
    start, due, end = (opt_time(params, n) for n in ("startdate", "duedate", "enddate"))
    status = params.get("status")
    if status is not None and str(status).strip() not in ("0", "1"):
        raise bad_request("status must be 0 (active) or 1 (suspended)")
    suspend = None if status is None else str(status).strip() == "1"
    reset = flag(params, "resetprogram")
    alloc = state.allocation(program.id, user.id)
    if alloc is None:
        if program.archived:
            raise bad_request(f"Program {shorten(program.idnumber)!r} is archived")
        timestart = start or ctx.now
        if not dates_valid(timestart, due, end):
            raise bad_request(
                "Invalid dates: duedate and enddate must be after startdate, duedate not after enddate"
            )
        alloc = Allocation(
            id=state.next_id("allocation"),
            programid=program.id,
            userid=user.id,
            sourceid=source_of(ctx, program, "manual"),
            archived=bool(suspend),
            timeallocated=ctx.now,
            timestart=timestart,
            timedue=due,
            timeend=end,
            timecreated=ctx.now,
            timemodified=ctx.now,
            usermodified=nexsis_actor(ctx),
        )
        state.add_allocation(alloc, ctx.now)
        return allocation_put_row(alloc)
    timestart = start if start is not None else alloc.timestart
    timedue = due if due is not None else alloc.timedue
    timeend = end if end is not None else alloc.timeend
    if not dates_valid(timestart, timedue, timeend):
        raise bad_request(
            "Invalid dates: duedate and enddate must be after startdate, duedate not after enddate"
        )
    for name, value in (("timestart", timestart), ("timedue", timedue), ("timeend", timeend)):
        state.update(alloc, **{name: value})
    if reset:
        state.update(alloc, timecompleted=None)
    state.update(alloc, timemodified=ctx.now)
    state.update(alloc, usermodified=nexsis_actor(ctx))
    if suspend is not None and suspend != alloc.archived:
        state.set_allocation_archived(alloc, suspend, ctx.now)
    return allocation_put_row(alloc)


@nexsis_op("deleteProgramAllocation", write=True)
def delete_program_allocation(ctx: Ctx, params: dict[str, Any]) -> None:
    program = find_program(ctx, params)
    user = find_user(ctx, params)
    alloc = ctx.state.allocation(program.id, user.id)
    if alloc is None:
        raise not_found(
            f"User {shorten(user.idnumber)!r} is not allocated to program {shorten(program.idnumber)!r}"
        )
    ctx.state.delete_allocation(alloc)
    return None
