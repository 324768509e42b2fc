"""tool_muprog cohort allocation source: list, add and remove synchronised cohorts.

Adding a cohort allocates its members who have no allocation yet (and restores cohort-sourced
allocations archived earlier); removing one archives the cohort-sourced allocations of users no
remaining cohort covers, as the plugin's cohort sync does; nothing is deleted.
"""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, ws_function
from nexsis_mock.handlers.ws import missing_record, require_capability
from nexsis_mock.handlers.ws.muprog_allocations import create_allocation, get_program
from nexsis_mock.store.records import Program, Source


def cohort_rows(ctx: Ctx, source: Source) -> list[dict[str, Any]]:
    rows = []
    for cid in sorted(source.cohortids, key=lambda c: (ctx.state.cohorts[c].name, c)):
        cohort = ctx.state.cohorts[cid]
        rows.append(
            {"id": cohort.id, "contextid": cohort.contextid, "name": cohort.name, "idnumber": cohort.idnumber}
        )
    return rows


def _cohort_source(ctx: Ctx, program: Program) -> Source:
    sid = program.sources.get("cohort")
    if sid is None:
        raise missing_record()
    return ctx.state.sources[sid]


def sync_cohort_source(ctx: Ctx, program: Program, source: Source) -> None:
    """tool_muprog cohort::fix_allocations for one program."""
    state = ctx.state
    wanted: dict[int, None] = {}
    for cid in source.cohortids:
        cohort = state.cohorts.get(cid)
        if cohort is not None:
            for uid in cohort.members:
                wanted[uid] = None
    allocations = state.alloc_by_program.get(program.id, {})
    for uid in wanted:
        alloc = allocations.get(uid)
        if alloc is None:
            create_allocation(ctx, program, source.id, uid)
        elif alloc.sourceid == source.id and alloc.archived:
            state.set_allocation_archived(alloc, False, ctx.now)
    for uid, alloc in list(allocations.items()):
        if alloc.sourceid == source.id and not alloc.archived and uid not in wanted:
            state.set_allocation_archived(alloc, True, ctx.now)


@ws_function("tool_muprog_source_cohort_get_cohorts")
def source_cohort_get_cohorts(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    program = get_program(ctx, params["programid"])
    require_capability(ctx, "tool/muprog:view")
    sid = program.sources.get("cohort")
    return cohort_rows(ctx, ctx.state.sources[sid]) if sid is not None else []


@ws_function("tool_muprog_source_cohort_add_cohort", write=True)
def source_cohort_add_cohort(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    program = get_program(ctx, params["programid"])
    source = _cohort_source(ctx, program)
    cohort = ctx.state.cohorts.get(params["cohortid"])
    if cohort is None:
        raise missing_record()
    require_capability(ctx, "tool/muprog:edit")
    require_capability(ctx, "moodle/cohort:view")
    if cohort.id not in source.cohortids:
        ctx.state.append_to(source.cohortids, cohort.id)
        sync_cohort_source(ctx, program, source)
    return cohort_rows(ctx, source)


@ws_function("tool_muprog_source_cohort_delete_cohort", write=True)
def source_cohort_delete_cohort(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    program = get_program(ctx, params["programid"])
    source = _cohort_source(ctx, program)
    require_capability(ctx, "tool/muprog:edit")
    if params["cohortid"] in source.cohortids:
        ctx.state.remove_from(source.cohortids, params["cohortid"])
        sync_cohort_source(ctx, program, source)
    return cohort_rows(ctx, source)
