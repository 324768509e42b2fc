"""The Moodle WS scenario: tool_muprog allocation idempotence and archive/restore flags."""

from __future__ import annotations

import time
from typing import Any

import requests

from nexsis_contracts.run_context import RunContext
from nexsis_contracts.safety import RefusedRequest
from nexsis_contracts.scenarios.common import Client, judge, scenario_result


def ws_allocation(run: RunContext) -> None:
    """Allocation is idempotent and skips allocated users; archive/restore flip consistent flags.

    Program: the sandbox's, else the one the fixture graph reaches (a NexSIS sandbox program's
    internal id, or one discovered in full mode). User: a fresh user of the run's own, else the
    sandbox's users (the first one not yet allocated).
    """
    graph = run.graph
    programs = list(run.settings.sandbox_ids("moodle-ws", "program"))
    if not programs and graph is not None:
        program = graph.ws_program()
        programs = [program] if program else []
    users: list[int] = []
    if programs and graph is not None and graph.nexsis and not graph._memo.get("no_fresh_ws_user"):
        fresh = graph.fresh_ws_user()
        users = [fresh] if fresh else []
    users = users + [u for u in run.settings.sandbox_ids("moodle-ws", "user") if u not in users]
    result = scenario_result(
        run,
        "moodle-ws",
        "scenario_muprog_allocation",
        "tool_muprog allocation idempotence, archive/restore flags",
    )
    if not programs or not users:
        result.skipped[
            "needs a program (sandbox moodle-ws or NexSIS program, or full mode on loopback) and users"
        ] += 1
        return
    client = Client(run)
    started = time.monotonic()

    def call(function: str, **params: Any) -> tuple[Any, Any]:
        resp = client.ws(function, **params)
        result.cases += 1
        result.observe(resp, validated=True)
        judge(run, result, "moodle-ws", function, resp)
        try:
            return resp, resp.json()
        except ValueError:
            return resp, None

    def fail(rule: str, message: str, resp: Any) -> None:
        run.record_failure(result, rule, message, message, resp, None)

    try:
        program = programs[0]
        resp, current = call("tool_muprog_get_program_allocations", programid=program)
        allocated = {a.get("userid") for a in current} if isinstance(current, list) else set()
        candidates = [u for u in users if u not in allocated]
        if not candidates:
            # The operation tests allocated every sandbox user: free one (a manual allocation the
            # source may delete) rather than skip the scenario.
            deletable: list[int] = [
                int(a["userid"])
                for a in current
                if isinstance(a, dict) and a.get("userid") in users and a.get("deletepossible") is True
            ]
            if deletable:
                client.ws("tool_muprog_delete_program_allocations", programid=program, userids=deletable[:1])
                candidates = deletable[:1]
        if not candidates:
            result.skipped["every sandbox user holds an allocation that cannot be deleted"] += 1
            return
        user = candidates[0]
        resp, first = call("tool_muprog_source_manual_allocate_users", programid=program, userids=[user])
        if first != [user]:
            fail(
                "allocation_returns_allocated",
                f"allocating user {user} returned {first!r}, expected [{user}]",
                resp,
            )
            return
        resp, again = call("tool_muprog_source_manual_allocate_users", programid=program, userids=[user])
        if again != []:
            fail(
                "allocation_idempotent",
                f"allocating already-allocated user {user} again returned {again!r}; "
                "allocated users must be skipped ([])",
                resp,
            )
        resp, listing = call("tool_muprog_get_program_allocations", programid=program, userids=[user])
        if not (isinstance(listing, list) and len(listing) == 1):
            fail(
                "allocation_idempotent",
                f"user {user} has {listing!r} allocations after two allocate calls, expected exactly one",
                resp,
            )
        # After archive: archived, restorable, not archivable; after restore the reverse.
        for function, step, archived_now in (
            ("tool_muprog_archive_program_allocation", "archive", True),
            ("tool_muprog_restore_program_allocation", "restore", False),
        ):
            resp, alloc = call(function, programid=program, userid=user)
            if (
                isinstance(alloc, dict)
                and "exception" not in alloc
                and not (
                    alloc.get("archived") is archived_now
                    and alloc.get("restorepossible") is archived_now
                    and alloc.get("archivepossible") is (not archived_now)
                )
            ):
                fail(
                    "archive_restore_flags",
                    f"after {step}: archived={alloc.get('archived')!r}, "
                    f"archivepossible={alloc.get('archivepossible')!r}, "
                    f"restorepossible={alloc.get('restorepossible')!r}",
                    resp,
                )
    except (RefusedRequest, requests.RequestException) as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}"[:300])
    finally:
        result.checks_run.update(
            {"allocation_returns_allocated", "allocation_idempotent", "archive_restore_flags"}
        )
        result.duration = time.monotonic() - started
