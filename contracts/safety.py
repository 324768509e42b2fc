"""The staging-safety rules: which ids a run owns, and the guard that every request must pass.

The guard sits where requests leave the process (`transport.GuardedSession.send`), so generated
cases, schemathesis' own probes (ignored_auth), scenarios and cleanup are all held to the same rule:
in `safe` mode a write may only name ids this run created (its id prefix, or ids a server returned
to one of its creations) or sandbox ids from the config. Anything else is refused and recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from nexsis_contracts.catalog import NEXSIS_ID_KINDS, WS_ID_KINDS, Catalog, OperationInfo
from nexsis_contracts.config import Settings
from nexsis_openapi import codec
from nexsis_openapi.moodle import SERVER_FIELDS


class RefusedRequest(Exception):
    """The guard refused to send a request; the case is skipped and the refusal reported."""

    def __init__(self, method: str, url: str, reason: str) -> None:
        super().__init__(f"refused {method} {url}: {reason}")
        self.method, self.url, self.reason = method, url, reason


@dataclass
class Cleanup:
    """One request that undoes something the run created."""

    api: str
    description: str
    method: str
    path: str  # NexSIS: full path; WS: the server.php path
    form: dict[str, Any] | None = None  # WS parameters (wsfunction included)
    done: bool = False
    error: str | None = None


@dataclass
class Ledger:
    """What this run owns and how to remove it; shared by every worker thread."""

    prefix: str
    ws_owned: dict[str, set[int]] = field(default_factory=dict)
    cleanups: list[Cleanup] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def owns_nexsis(self, value: str) -> bool:
        return str(value).startswith(self.prefix)

    def owns_ws(self, kind: str, value: Any) -> bool:
        with self._lock:
            return _as_int(value) in self.ws_owned.get(kind, set())

    def add_ws(self, kind: str, value: int) -> None:
        with self._lock:
            self.ws_owned.setdefault(kind, set()).add(int(value))

    def ws_ids(self, kind: str) -> list[int]:
        with self._lock:
            return sorted(self.ws_owned.get(kind, set()))

    def register(self, cleanup: Cleanup) -> None:
        with self._lock:
            key = (cleanup.method, cleanup.path, repr(sorted((cleanup.form or {}).items())))
            for existing in self.cleanups:
                if (
                    not existing.done
                    and (existing.method, existing.path, repr(sorted((existing.form or {}).items()))) == key
                ):
                    return
            self.cleanups.append(cleanup)

    def pending(self) -> list[Cleanup]:
        with self._lock:
            return [c for c in reversed(self.cleanups) if not c.done]


def _as_int(value: Any) -> int | None:
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        return None


def iter_ws_ids(data: Any, key: str | None = None) -> Iterator[tuple[str, Any]]:
    """(kind, value) for every id-bearing parameter at any depth of a decoded WS form."""
    if isinstance(data, dict):
        for k, v in data.items():
            yield from iter_ws_ids(v, k)
    elif isinstance(data, list):
        for item in data:
            yield from iter_ws_ids(item, key)
    elif key in WS_ID_KINDS:
        yield WS_ID_KINDS[key], data


def decode_form(body: bytes | str | None) -> dict[str, Any]:
    if not body:
        return {}
    try:
        data = codec.decode(body)
    except codec.CodecError:
        return {}
    return data if isinstance(data, dict) else {}


@dataclass
class Decision:
    api: str | None
    operation: OperationInfo | None
    is_write: bool
    ids: dict[str, Any]


class Guard:
    """Decides, per outgoing request, whether the run's mode and ownership rules allow it."""

    def __init__(self, settings: Settings, catalog: Catalog, ledger: Ledger) -> None:
        self.settings = settings
        self.catalog = catalog
        self.ledger = ledger
        self.refusals: list[RefusedRequest] = []
        self._lock = threading.Lock()

    def classify(self, method: str, url: str, body: bytes | str | None) -> Decision:
        path = urlsplit(url).path
        query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        if self.catalog.is_ws_path(path):
            form = {**query, **decode_form(body)}
            function = str(form.get("wsfunction", ""))
            op = self.catalog.ws_functions.get(function)
            # An unknown function name is treated as a write: the guard cannot know what it does.
            is_write = op.is_write if op else True
            return Decision("moodle-ws", op, is_write, form)
        hit = self.catalog.match_nexsis(method, path)
        if hit is None:
            return Decision(None, None, method.upper() not in ("GET", "HEAD", "OPTIONS"), {})
        op, params = hit
        ids = dict(params)
        if op.is_write:
            # Ids can ride in the body too (metalink group, job assignment department/position).
            body_fields = (_json_fields(body) or decode_form(body)) if body else {}
            if not isinstance(body_fields, dict):
                body_fields = {}
            for key, value in body_fields.items():
                if key in NEXSIS_ID_KINDS and isinstance(value, str | int) and not isinstance(value, bool):
                    ids.setdefault(key, str(value))
        return Decision("nexsis", op, op.is_write, ids)

    def check(self, method: str, url: str, body: bytes | str | None) -> Decision:
        """Return the decision for an allowed request; raise RefusedRequest (and record it) otherwise."""
        try:
            decision = self.classify(method, url, body)
            reason = self._refusal(decision, method)
        except Exception as exc:
            decision, reason = Decision(None, None, True, {}), f"unreadable request ({type(exc).__name__})"
            if self.settings.mode == "full":
                reason = None
        if reason:
            refused = RefusedRequest(method, url, reason)
            with self._lock:
                self.refusals.append(refused)
            raise refused
        return decision

    def _refusal(self, d: Decision, method: str) -> str | None:
        mode = self.settings.mode
        if not d.is_write or mode == "full":
            return None
        if mode == "read-only":
            return "read-only mode sends no writes"
        if d.api is None:
            return "write to a path outside both specs"
        if d.api == "nexsis":
            assert d.operation is not None
            for name, value in d.ids.items():
                kind = NEXSIS_ID_KINDS.get(name)
                if kind is None:
                    continue
                if self.ledger.owns_nexsis(value) or str(value) in self.settings.sandbox_ids("nexsis", kind):
                    continue
                return f"{name}={value!r} is neither created by this run nor a sandbox {kind}"
            return None
        # Moodle WS
        if d.operation is None:
            return f"unknown wsfunction {d.ids.get('wsfunction')!r}"
        seen = False
        for kind, value in iter_ws_ids(
            {k: v for k, v in d.ids.items() if k not in SERVER_FIELDS}
        ):
            seen = True
            number = _as_int(value)
            if number is not None and (
                self.ledger.owns_ws(kind, number) or number in self.settings.sandbox_ids("moodle-ws", kind)
            ):
                continue
            return f"{kind} id {value!r} is neither created by this run nor a sandbox {kind}"
        if not seen:
            return "a write that names no id cannot be confined to owned records"
        return None


def _json_fields(body: bytes | str) -> dict[str, Any]:
    import json

    try:
        data = json.loads(body)
    except (ValueError, TypeError):
        return {}
    return data if isinstance(data, dict) else {}


def observe(
    ledger: Ledger, catalog: Catalog, decision: Decision, status: int, body: Any, nexsis_path: str = ""
) -> None:
    """Learn from a successful write what the run now owns and how to undo it."""
    if not decision.is_write or decision.operation is None or not 200 <= status < 300:
        return
    op = decision.operation
    if decision.api == "nexsis":
        owned = any(
            NEXSIS_ID_KINDS.get(k) and ledger.owns_nexsis(v)
            for k, v in decision.ids.items()
            if k in op.path_params
        )
        if op.method in ("PUT", "POST") and owned:
            undo = next(
                (
                    o
                    for o in catalog.operations
                    if o.api == "nexsis" and o.method == "DELETE" and o.path == op.path
                ),
                None,
            )
            if undo is not None:
                ledger.register(
                    Cleanup("nexsis", f"{undo.operation_id} {nexsis_path}", "DELETE", nexsis_path)
                )
        elif op.method == "DELETE":
            with ledger._lock:
                for c in ledger.cleanups:
                    if c.method == "DELETE" and c.path == nexsis_path:
                        c.done = True
        return
    function = op.operation_id
    if isinstance(body, dict) and "exception" in body:
        return
    if function == "core_group_create_groups" and isinstance(body, list):
        for group in body:
            if isinstance(group, dict) and isinstance(group.get("id"), int):
                ledger.add_ws("group", group["id"])
                ledger.register(
                    Cleanup(
                        "moodle-ws",
                        f"core_group_delete_groups {group['id']}",
                        "POST",
                        "",
                        {"wsfunction": "core_group_delete_groups", "groupids": [group["id"]]},
                    )
                )
    elif function == "core_group_delete_groups":
        gone = {_as_int(g) for g in decision.ids.get("groupids") or []}
        with ledger._lock:
            for c in ledger.cleanups:
                if (
                    c.form
                    and c.form.get("wsfunction") == "core_group_delete_groups"
                    and set(c.form.get("groupids", [])) <= gone
                ):
                    c.done = True
    elif function == "tool_muprog_source_manual_allocate_users" and isinstance(body, list) and body:
        program = _as_int(decision.ids.get("programid"))
        users = [u for u in body if isinstance(u, int)]
        if program is not None and users:
            ledger.register(
                Cleanup(
                    "moodle-ws",
                    f"tool_muprog_delete_program_allocations {program} {users}",
                    "POST",
                    "",
                    {
                        "wsfunction": "tool_muprog_delete_program_allocations",
                        "programid": program,
                        "userids": users,
                    },
                )
            )
    elif (
        function == "tool_muprog_source_cohort_add_cohort"
        and decision.ids.get("_cohort_was_attached") is False
    ):
        program, cohort = _as_int(decision.ids.get("programid")), _as_int(decision.ids.get("cohortid"))
        ledger.register(
            Cleanup(
                "moodle-ws",
                f"tool_muprog_source_cohort_delete_cohort {program} {cohort}",
                "POST",
                "",
                {
                    "wsfunction": "tool_muprog_source_cohort_delete_cohort",
                    "programid": program,
                    "cohortid": cohort,
                },
            )
        )
