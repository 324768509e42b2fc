"""tool_muprog allocation functions: list, manual allocate, delete, update dates, archive, restore.

The order of checks follows the plugin's external classes (program record, then user, then
capability, then allocation), because that order decides which error a caller sees.
The *possible flags follow tool_muprog's source classes: the manual source may always delete, the
cohort source may neither archive nor restore and deletes only archived allocations.
"""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, ws_function
from nexsis_mock.handlers.ws import invalid_parameter, missing_record, require_capability
from nexsis_mock.store.records import Allocation, Program


def _flags(live: bool, archived: bool, stype: str) -> tuple[bool, bool, bool, bool]:
    """(delete, archive, restore, edit) possible, from the program, the allocation and its source."""
    edit = archive = live and not archived
    restore = delete = live and archived
    if stype == "manual":
        delete = live
    elif stype in ("cohort", "mucertify"):
        archive = restore = False
    return delete, archive, restore, edit


def flags(ctx: Ctx, program: Program, alloc: Allocation) -> dict[str, bool]:
    source = ctx.state.sources.get(alloc.sourceid)
    delete, archive, restore, edit = _flags(not program.archived, bool(alloc.archived),
                                            source.type if source else "")
    return {
        "deletepossible": delete,
        "archivepossible": archive,
        "restorepossible": restore,
        "editpossible": edit,
    }


def allocation_row(ctx: Ctx, program: Program, alloc: Allocation) -> dict[str, Any]:
    # One source lookup per row: listing a program's allocations builds one row per allocation.
    source = ctx.state.sources.get(alloc.sourceid)
    stype = source.type if source else ""
    archived = bool(alloc.archived)
    delete, archive, restore, edit = _flags(not program.archived, archived, stype)
    return {
        "id": alloc.id,
        "programid": alloc.programid,
        "userid": alloc.userid,
        "sourceid": alloc.sourceid,
        "sourcetype": stype,
        "archived": archived,
        "timeallocated": alloc.timeallocated,
        "timestart": alloc.timestart,
        "timedue": alloc.timedue,
        "timeend": alloc.timeend,
        "timecompleted": alloc.timecompleted,
        "timecreated": alloc.timecreated,
        "deletepossible": delete,
        "archivepossible": archive,
        "restorepossible": restore,
        "editpossible": edit,
    }


def get_program(ctx: Ctx, programid: int) -> Program:
    program = ctx.state.programs.get(programid)
    if program is None:
        raise missing_record()
    return program


def dates_valid(timestart: int | None, timedue: int | None, timeend: int | None) -> bool:
    """tool_muprog\\local\\allocation::validate_allocation_dates."""
    if not timestart:
        return False
    if timedue and timedue <= timestart:
        return False
    if timeend and timeend <= timestart:
        return False
    return not (timedue and timeend and timedue > timeend)


def create_allocation(
    ctx: Ctx, program: Program, sourceid: int, userid: int, overrides: dict[str, Any] | None = None
) -> Allocation:
    """tool_muprog source base::allocation_create with the program's default dates."""
    state = ctx.state
    if userid not in state.users:
        raise missing_record()
    overrides = overrides or {}
    now = ctx.now
    timestart = overrides.get("timestart") or now
    timedue = overrides.get("timedue") or None
    timeend = overrides.get("timeend") or None
    if timeend and timeend <= timestart:
        timeend = timestart + 1
    if timedue and timedue <= timestart:
        timedue = timestart + 1
    if timedue and timeend and timedue > timeend:
        timedue = timeend
    alloc = Allocation(
        id=state.next_id("allocation"),
        programid=program.id,
        userid=userid,
        sourceid=sourceid,
        timeallocated=now,
        timestart=timestart,
        timedue=timedue,
        timeend=timeend,
        timecreated=now,
        timemodified=now,
        usermodified=ctx.ws.userid if ctx.ws else 0,
    )
    state.add_allocation(alloc, now)
    return alloc


@ws_function("tool_muprog_get_program_allocations")
def get_program_allocations(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    program = get_program(ctx, params["programid"])
    require_capability(ctx, "tool/muprog:view")
    allocations = ctx.state.alloc_by_program.get(program.id, {})
    if params.get("userids"):
        found = {a.id: a for uid in params["userids"] if (a := allocations.get(uid)) is not None}
        chosen = [found[k] for k in sorted(found)]
        return [allocation_row(ctx, program, a) for a in chosen if a.sourceid in ctx.state.sources]
    # The whole program's list is what clients poll: rebuilt only after the state changes.
    return ctx.state.memo(("tool_muprog_get_program_allocations", program.id), lambda: [
        allocation_row(ctx, program, a) for a in sorted(allocations.values(), key=lambda a: a.id)
        if a.sourceid in ctx.state.sources])


@ws_function("tool_muprog_source_manual_allocate_users", write=True)
def source_manual_allocate_users(ctx: Ctx, params: dict[str, Any]) -> list[int]:
    state = ctx.state
    program = get_program(ctx, params["programid"])
    sourceid = program.sources.get("manual")
    if sourceid is None:
        raise missing_record()
    require_capability(ctx, "tool/muprog:allocate")
    if program.archived:
        raise invalid_parameter()
    overrides = params.get("dateoverrides") or {}
    timestart = overrides.get("timestart") or ctx.now
    if not dates_valid(timestart, overrides.get("timedue"), overrides.get("timeend")):
        raise invalid_parameter()
    allocated = state.alloc_by_program.get(program.id, {})
    chosen: dict[int, None] = {}
    for userid in params.get("userids") or []:
        if userid not in allocated:
            chosen[userid] = None
    for cohortid in params.get("cohortids") or []:
        cohort = state.cohorts.get(cohortid)
        if cohort is None:
            raise missing_record()
        require_capability(ctx, "moodle/cohort:view")
        for userid in cohort.members:
            if userid not in allocated:
                chosen[userid] = None
    for userid in chosen:
        create_allocation(ctx, program, sourceid, userid, overrides)
    return list(chosen)


@ws_function("tool_muprog_delete_program_allocations", write=True)
def delete_program_allocations(ctx: Ctx, params: dict[str, Any]) -> list[int]:
    state = ctx.state
    program = get_program(ctx, params["programid"])
    require_capability(ctx, "tool/muprog:deallocate")
    allocations = state.alloc_by_program.get(program.id, {})
    chosen: dict[int, Allocation] = {}
    for userid in params["userids"]:
        alloc = allocations.get(userid)
        if alloc is None:
            continue
        if alloc.sourceid not in state.sources or not flags(ctx, program, alloc)["deletepossible"]:
            raise invalid_parameter()
        chosen[userid] = alloc
    for alloc in chosen.values():
        state.delete_allocation(alloc)
    return list(chosen)


def _user_allocation(ctx: Ctx, params: dict[str, Any], capability: str) -> tuple[Program, Allocation]:
    program = get_program(ctx, params["programid"])
    if params["userid"] not in ctx.state.users:
        raise missing_record()
    require_capability(ctx, capability)
    alloc = ctx.state.allocation(program.id, params["userid"])
    if alloc is None or alloc.sourceid not in ctx.state.sources:
        raise missing_record()
    return program, alloc


@ws_function("tool_muprog_update_program_allocation", write=True)
def update_program_allocation(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    program, alloc = _user_allocation(ctx, params, "tool/muprog:admin")
    if not flags(ctx, program, alloc)["editpossible"]:
        raise invalid_parameter()
    dates = params.get("allocationdates") or {}
    values = {"timestart": alloc.timestart, "timedue": alloc.timedue, "timeend": alloc.timeend}
    for name, value in dates.items():
        values[name] = value if value or name == "timestart" else None
    if not dates_valid(values["timestart"], values["timedue"], values["timeend"]):
        raise invalid_parameter()
    state = ctx.state
    for name, value in values.items():
        state.update(alloc, **{name: value})
    if dates:
        state.update(alloc, timemodified=ctx.now)
    return allocation_row(ctx, program, alloc)


@ws_function("tool_muprog_archive_program_allocation", write=True)
def archive_program_allocation(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    program, alloc = _user_allocation(ctx, params, "tool/muprog:deallocate")
    if not flags(ctx, program, alloc)["archivepossible"]:
        raise invalid_parameter()
    ctx.state.set_allocation_archived(alloc, True, ctx.now)
    return allocation_row(ctx, program, alloc)


@ws_function("tool_muprog_restore_program_allocation", write=True)
def restore_program_allocation(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    program, alloc = _user_allocation(ctx, params, "tool/muprog:allocate")
    if not flags(ctx, program, alloc)["restorepossible"]:
        raise invalid_parameter()
    ctx.state.set_allocation_archived(alloc, False, ctx.now)
    return allocation_row(ctx, program, alloc)
