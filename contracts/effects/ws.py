"""Moodle web-service writes read back, batches of three checked item by item, answers naming what was asked.

Reads: allocations through `tool_muprog_get_program_allocations`, cohorts through
`tool_muprog_source_cohort_get_cohorts`, groups through the NexSIS group list of the same course
(`effects.cross`). Documented semantics (moodle-ws-facts.md): allocating an allocated user is
skipped and only new users are returned; deallocation returns only the users it removed.
Users are made for the rule (NexSIS users whose internal id a completion reveals) or taken from the
sandbox and deallocated first, so the rules never depend on what the operation tests left.
"""

from __future__ import annotations

from typing import Any

from nexsis_contracts.effects.registry import Probe, effect
from nexsis_contracts.graph.base import as_int

ALLOCATE = "tool_muprog_source_manual_allocate_users"
DEALLOCATE = "tool_muprog_delete_program_allocations"
ALLOCATIONS = "tool_muprog_get_program_allocations"


def _program(p: Probe) -> int:
    program = p.graph.ws_program()
    p.need(program, "no program (sandbox moodle-ws program, or a NexSIS sandbox program)")
    assert program is not None
    return program


def _users(p: Probe, program: int, count: int, *, unallocated: bool = True) -> list[int]:
    """`count` distinct users without a manual allocation to `program` (fresh ones, else the sandbox's).

    With `unallocated=False` users may keep an allocation (a rule that allocates them all first).
    """
    users: list[int] = []
    for _attempt in range(count * 3):
        user = p.graph.fresh_ws_user()
        if user is None:
            break
        if user not in users:
            users.append(user)
        if len(users) == count:
            break
    p.need(
        len(users) == count, f"{count} distinct users (fresh ones need NexSIS, else sandbox moodle-ws users)"
    )
    # Sandbox users may hold an allocation from the operation tests: take it away first.
    if not unallocated:
        return users
    p.ws(DEALLOCATE, programid=program, userids=users)
    held = _allocated(p, program, users)
    p.need(not held, f"users {sorted(held)} keep an allocation that cannot be removed (cohort source?)")
    return users


def _allocated(p: Probe, program: int, users: list[int]) -> set[int]:
    _resp, rows = p.ws(ALLOCATIONS, programid=program, userids=users)
    p.need(isinstance(rows, list), f"{ALLOCATIONS} answered {rows!r}")
    return {as_int(r.get("userid")) or 0 for r in rows if isinstance(r, dict)} & set(users)


def _row(p: Probe, program: int, user: int) -> dict[str, Any] | None:
    """The user's allocation to `program` as `tool_muprog_get_program_allocations` lists it."""
    _resp, rows = p.ws(ALLOCATIONS, programid=program, userids=[user])
    return next((r for r in rows if isinstance(r, dict)), None) if isinstance(rows, list) else None


def _one_allocated(p: Probe) -> tuple[int, int]:
    """A user the rule allocated to the program itself, for the rules that change one allocation."""
    program = _program(p)
    (user,) = _users(p, program, 1)
    p.ok(p.ws(ALLOCATE, programid=program, userids=[user])[0], ALLOCATE)
    return program, user


@effect("batch_allocates_every_user", ALLOCATE, api="moodle-ws", needs=(DEALLOCATE, ALLOCATIONS))
def allocate_batch(p: Probe) -> None:
    program = _program(p)
    users = _users(p, program, 3)
    _resp, answer = p.ws(ALLOCATE, programid=program, userids=users)
    p.need(isinstance(answer, list), f"{ALLOCATE} answered {answer!r}")
    p.check(
        sorted(answer) == sorted(users),
        f"{ALLOCATE} of users {users} to program {program} answered {answer!r}; "
        "it returns the users it allocated, which must be all three",
    )
    missing = set(users) - _allocated(p, program, users)
    p.check(
        not missing,
        f"{ALLOCATE} of users {users} answered success but {ALLOCATIONS} lacks users {sorted(missing)}",
    )


@effect("allocation_returns_only_new", ALLOCATE, api="moodle-ws", needs=(DEALLOCATE, ALLOCATIONS))
def allocate_skips(p: Probe) -> None:
    program = _program(p)
    users = _users(p, program, 3)
    old, new = users[:2], users[2:]
    p.ok(p.ws(ALLOCATE, programid=program, userids=old)[0], ALLOCATE)
    _resp, answer = p.ws(ALLOCATE, programid=program, userids=users)
    p.check(
        answer == new,
        f"{ALLOCATE} of users {users}, of whom {old} were already allocated, answered {answer!r}; "
        f"allocated users are skipped and only the new ones returned ({new})",
    )
    _resp, rows = p.ws(ALLOCATIONS, programid=program, userids=users)
    count: dict[Any, int] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict):
            count[row.get("userid")] = count.get(row.get("userid"), 0) + 1
    twice = sorted(u for u, n in count.items() if n > 1)
    p.check(not twice, f"after allocating {users} twice over, users {twice} hold more than one allocation")


@effect("deallocate_reports_only_removed", DEALLOCATE, api="moodle-ws", needs=(ALLOCATE, ALLOCATIONS))
def deallocate_reports(p: Probe) -> None:
    program = _program(p)
    users = _users(p, program, 4)
    held, spare = users[:3], users[3]
    p.ok(p.ws(ALLOCATE, programid=program, userids=held)[0], ALLOCATE)
    _resp, answer = p.ws(DEALLOCATE, programid=program, userids=users)
    p.need(isinstance(answer, list), f"{DEALLOCATE} answered {answer!r}")
    p.check(
        sorted(answer) == sorted(held),
        f"{DEALLOCATE} of users {users} (only {held} allocated) answered {answer!r}; "
        f"it returns only the users it deallocated ({held}), never {spare}",
    )


@effect("deallocate_takes_effect", DEALLOCATE, api="moodle-ws", needs=(ALLOCATE, ALLOCATIONS))
def deallocate_batch(p: Probe) -> None:
    program = _program(p)
    users = _users(p, program, 3, unallocated=False)
    p.ok(p.ws(ALLOCATE, programid=program, userids=users)[0], ALLOCATE)
    p.need(_allocated(p, program, users) == set(users), f"users {users} could not all be allocated")
    p.ok(p.ws(DEALLOCATE, programid=program, userids=users)[0], DEALLOCATE)
    left = _allocated(p, program, users)
    p.check(
        not left,
        f"{DEALLOCATE} of users {users} answered success but {ALLOCATIONS} still lists {sorted(left)}",
    )


@effect(
    "update_takes_effect",
    "tool_muprog_update_program_allocation",
    api="moodle-ws",
    needs=(ALLOCATE, DEALLOCATE, ALLOCATIONS),
)
def update_allocation(p: Probe) -> None:
    program, user = _one_allocated(p)
    due = 1798761600
    resp, row = p.ws(
        "tool_muprog_update_program_allocation",
        programid=program,
        userid=user,
        allocationdates={"timedue": due},
    )
    p.ok(resp, "tool_muprog_update_program_allocation")
    p.check(
        isinstance(row, dict) and row.get("userid") == user and row.get("programid") == program,
        f"tool_muprog_update_program_allocation({program}, {user}) answered an allocation of {row!r}",
    )
    got = (_row(p, program, user) or {}).get("timedue")
    p.check(
        got == due,
        f"tool_muprog_update_program_allocation set timedue={due} but {ALLOCATIONS} shows timedue={got!r}",
    )


def _flags(p: Probe, program: int, user: int, archived: bool, step: str) -> None:
    row = _row(p, program, user)
    p.check(
        isinstance(row, dict)
        and row.get("archived") is archived
        and row.get("archivepossible") is (not archived)
        and row.get("restorepossible") is archived,
        f"after {step}, {ALLOCATIONS} shows archived={row.get('archived') if row else None!r}, "
        f"archivepossible={row.get('archivepossible') if row else None!r}, "
        f"restorepossible={row.get('restorepossible') if row else None!r}",
    )


@effect(
    "archive_takes_effect",
    "tool_muprog_archive_program_allocation",
    api="moodle-ws",
    needs=(ALLOCATE, DEALLOCATE, ALLOCATIONS),
)
def archive(p: Probe) -> None:
    program, user = _one_allocated(p)
    p.ok(p.ws("tool_muprog_archive_program_allocation", programid=program, userid=user)[0], "archive")
    _flags(p, program, user, True, f"tool_muprog_archive_program_allocation({program}, {user})")


@effect(
    "restore_takes_effect",
    "tool_muprog_restore_program_allocation",
    api="moodle-ws",
    needs=(ALLOCATE, DEALLOCATE, ALLOCATIONS, "tool_muprog_archive_program_allocation"),
)
def restore(p: Probe) -> None:
    program, user = _one_allocated(p)
    p.ok(p.ws("tool_muprog_archive_program_allocation", programid=program, userid=user)[0], "archive")
    p.ok(p.ws("tool_muprog_restore_program_allocation", programid=program, userid=user)[0], "restore")
    _flags(p, program, user, False, f"tool_muprog_restore_program_allocation({program}, {user})")


@effect(
    "cohort_add_then_delete",
    "tool_muprog_source_cohort_add_cohort",
    api="moodle-ws",
    needs=("tool_muprog_source_cohort_get_cohorts", "tool_muprog_source_cohort_delete_cohort"),
)
def cohort(p: Probe) -> None:
    program = _program(p)
    cohort_id = p.graph.ws_cohort(program)
    p.need(cohort_id, "a sandbox moodle-ws cohort not attached to the program")

    def attached() -> bool:
        _resp, rows = p.ws("tool_muprog_source_cohort_get_cohorts", programid=program)
        return isinstance(rows, list) and any(isinstance(c, dict) and c.get("id") == cohort_id for c in rows)

    p.ok(p.ws("tool_muprog_source_cohort_add_cohort", programid=program, cohortid=cohort_id)[0], "add_cohort")
    p.check(
        attached(),
        f"tool_muprog_source_cohort_add_cohort({program}, {cohort_id}) answered success but "
        "get_cohorts does not list it",
    )
    p.ok(
        p.ws("tool_muprog_source_cohort_delete_cohort", programid=program, cohortid=cohort_id)[0],
        "delete_cohort",
    )
    p.check(
        not attached(),
        f"tool_muprog_source_cohort_delete_cohort({program}, {cohort_id}) answered success but "
        "get_cohorts still lists it",
    )
