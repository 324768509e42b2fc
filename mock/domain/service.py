"""One simulated site: ``Service.call(api, operation_id, params, token) -> Result``.

This is the seam between the HTTP layer and the simulated Moodle (see docs/CONVENTIONS.md): the
server decodes requests and hands over plain parameters; the domain applies one operation
atomically to the state, logs NexSIS calls, persists writes, and answers a JSON-able body.
Nothing raises out of `call`: client errors are answers, and an unexpected exception (a bug)
becomes a 500 `internal_error` answer with nothing changed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nexsis_mock import fixtures, heap
from nexsis_mock.handlers import NEXSIS, WS, load_all
from nexsis_mock.result import Result
from nexsis_mock.store.persistence import Journal, damaged, load_snapshot
from nexsis_mock.store.state import State
from nexsis_openapi.moodle import CODING_ERROR

from .dispatch import API_NEXSIS, API_WS, run_operation, ws_token_problem
from .functions import SERVICE_FUNCTIONS
from .request_log import RequestLog, build_deferred, log_entry, plain

__all__ = ["API_NEXSIS", "API_WS", "MAX_LOGS", "Service"]

log = logging.getLogger("nexsis_mock.domain")

MAX_LOGS = 20_000
_FLUSH_AFTER_S = 1.0
_FLUSH_AFTER_N = 200


class Service:
    """One simulated site. Thread-safe; with a state file, shared by every process using it."""

    def __init__(
        self,
        fixture_paths: list[Path] | None,
        state_file: Path | None,
        clock: Callable[[], float] | None = None,
        max_logs: int = MAX_LOGS,
    ) -> None:
        load_all()
        self._fixture_paths = [Path(p) for p in fixture_paths] if fixture_paths else None
        self._clock = clock or time.time
        self._max_logs = max_logs
        self._lock = threading.RLock()
        self._pending_logs: list[dict[str, Any]] = []
        self._pending_since = 0.0
        self._journal: Journal | None = None
        self._secrets: tuple[State | None, tuple[str, ...]] = (None, ())
        self.state: State
        if state_file is None:
            self.state = self._fixture_state()
            return
        self._journal = journal = Journal(Path(state_file))
        try:
            journal.begin()
            snapshot = journal.start()  # None: a new file; a damaged one raises StateFileError
            if snapshot is None:
                self.state = self._fixture_state()
                journal.new_epoch(fixtures.export(self.state))
            else:
                self.state = load_snapshot(journal, snapshot)
                self._replay()
            journal.mark_open()
            journal.commit()
        except BaseException as exc:
            journal.rollback()
            journal.close()
            raise damaged(journal.path, exc) from None
        journal.checkpoint()
        journal.changed()

    @classmethod
    def create(
        cls,
        fixtures: list[Path] | None = None,
        state_file: Path | None = None,
        *,
        clock: Callable[[], float] | None = None,
        max_logs: int = MAX_LOGS,
    ) -> Service:
        """A service loaded from fixture files (default: the embedded site), optionally persistent.

        Raises `nexsis_mock.fixtures.FixtureError` (bad fixture) or
        `nexsis_mock.store.persistence.StateFileError` (unusable state file).
        """
        return cls(fixtures, state_file, clock, max_logs)

    def _fixture_state(self) -> State:
        state = fixtures.load(self._fixture_paths)
        state.site.setdefault("service_functions", list(SERVICE_FUNCTIONS))
        return state

    def close(self) -> None:
        with self._lock:
            if self._journal is not None:
                self._flush_logs(force=True)
                self._journal.close()
                self._journal = None

    # ------------------------------------------------------------------ tokens
    def check_nexsis_token(self, token: str | None) -> bool:
        with self._lock:
            self._catch_up()
            return bool(token) and token in self.state.nexsis_keys

    def ws_token_problem(self, token: str | None) -> str | None:
        """``dispatch.ws_token_problem`` on the current state: for answers that skip ``call``."""
        with self._lock:
            self._catch_up()
            return ws_token_problem(self.state, token)

    def secrets(self) -> tuple[str, ...]:
        """Every token the site accepts: what no answer header or journal may quote.

        Tokens change only with the whole state (reset, import, another process's epoch), so the
        tuple is kept per state object: the journal asks once per entry it shows.
        """
        with self._lock:
            self._catch_up()
            state = self.state
            if self._secrets[0] is not state:
                self._secrets = (state, (*state.nexsis_keys, *state.ws_tokens))
            return self._secrets[1]

    def tokens(self) -> dict[str, Any]:
        with self._lock:
            self._catch_up()
            ws = {}
            for t in self.state.ws_tokens.values():
                user = self.state.users.get(t.userid)
                ws[t.token] = {
                    "user": user.username if user else t.userid,
                    "userid": t.userid,
                    "name": t.name,
                    "capabilities": "all" if t.capabilities is None else sorted(t.capabilities),
                    "functions": "all" if t.functions is None else sorted(t.functions),
                }
            return {"nexsis": list(self.state.nexsis_keys), "moodle-ws": ws}

    # ------------------------------------------------------------------ the seam
    def call(
        self,
        api: str,
        operation_id: str,
        params: dict[str, Any] | None,
        token: str | None,
        request: dict[str, Any] | None = None,
    ) -> Result:
        """Run one operation. `request` (optional) may carry `ip`, `user_agent`, `method`, `url`,
        `body` for the NexSIS log entry, and `base_url` (the site's root URL as the client reached
        it, for `siteurl`); the domain fills sensible values otherwise."""
        try:
            with self._lock:
                return self._call(
                    api, operation_id, params if isinstance(params, dict) else {}, token, request or {}
                )
        except Exception:  # a bug: report it, keep serving
            log.exception("internal error in %s %s", api, operation_id)
            if api == API_WS:
                return Result(200, dict(CODING_ERROR))
            return Result(500, {"error": "internal_error", "message": "The mock hit an internal error"})

    def _call(
        self, api: str, operation_id: str, params: dict[str, Any], token: str | None, request: dict[str, Any]
    ) -> Result:
        if api == API_NEXSIS:
            op = NEXSIS.get(operation_id)
            if op is None:
                return Result(
                    404, {"error": "not_found", "message": f"Unknown operation {operation_id[:80]!r}"}
                )
            write = op.write or operation_id == "getLogs"
        elif api == API_WS:
            op = WS.get(operation_id) if isinstance(operation_id, str) else None
            write = op.write if op else False
        else:
            return Result(400, {"error": "invalid_parameter", "message": f"Unknown api {str(api)[:40]!r}"})
        journal = self._journal
        if journal is None or not write:
            if journal is not None:
                self._catch_up()
            now = int(self._clock())
            result, changed, logs = run_operation(self.state, api, operation_id, params, token, request, now,
                                                  write)
            if journal is None:
                if logs:
                    self._add_logs(logs)
            else:
                self._pending_logs.extend(plain(logs))
                if logs and not self._pending_since:
                    self._pending_since = time.monotonic()
                self._flush_logs()
            return result
        journal.begin()
        try:
            self._catch_up(in_transaction=True)
            self._write_pending_logs()
            now = int(self._clock())
            result, changed, logs = run_operation(self.state, api, operation_id, params, token, request, now)
            logs = plain(logs)
            if changed:
                journal.append(
                    {
                        "api": api,
                        "op": operation_id,
                        "params": params,
                        "token": token,
                        "now": now,
                        "logs": logs,
                    }
                )
                self._add_logs(logs)
            elif logs:
                journal.append({"logs": logs})
                self._add_logs(logs)
            self._compact_if_due()
            journal.commit()
        except BaseException:
            journal.rollback()
            self._reload()  # memory may be ahead of the database now: rebuild from it
            raise
        journal.changed()
        self.state.trim_logs(self._max_logs)
        return result

    # ------------------------------------------------------------------ logs and persistence
    def _add_logs(self, logs: list[Any]) -> None:
        state = self.state
        for entry in logs:
            if isinstance(entry, RequestLog):
                # built when read (State.log_entries): the same fields as a LogEntry
                state.add_request_log(entry.inputs(), build_deferred)
            else:
                state.add_log(log_entry(state.next_id("log"), entry))
        state.trim_logs(self._max_logs)

    def _write_pending_logs(self) -> None:
        """Inside a write transaction: persist and apply log entries of earlier reads."""
        if self._pending_logs and self._journal is not None:
            logs, self._pending_logs, self._pending_since = self._pending_logs, [], 0.0
            self._journal.append({"logs": logs})
            self._add_logs(logs)

    def _flush_logs(self, force: bool = False) -> None:
        journal = self._journal
        if journal is None or not self._pending_logs:
            return
        if (
            not force
            and len(self._pending_logs) < _FLUSH_AFTER_N
            and time.monotonic() - self._pending_since < _FLUSH_AFTER_S
        ):
            return
        journal.begin()
        try:
            self._catch_up(in_transaction=True)
            self._write_pending_logs()
            self._compact_if_due()
            journal.commit()
        except BaseException:
            journal.rollback()
            self._reload()
            raise
        journal.changed()

    def _catch_up(self, in_transaction: bool = False) -> None:
        journal = self._journal
        if journal is None:
            return
        if not in_transaction and not journal.changed():
            return
        if journal.needs_reload():
            self._reload()
            return
        self._replay()

    def _compact_if_due(self) -> None:
        """Inside a write transaction, memory current: rewrite the snapshot (store/persistence.py)."""
        journal = self._journal
        if journal is not None and journal.compact_due():
            journal.compact(fixtures.export(self.state))

    def _replay(self) -> None:
        journal = self._journal
        assert journal is not None
        for seq, payload in journal.ops_after(journal.last_seq):
            if "api" in payload:
                run_operation(self.state, payload["api"], payload["op"], payload["params"], payload["token"],
                              {}, payload["now"])
            self._add_logs(payload.get("logs") or [])
            journal.last_seq = seq

    def _reload(self) -> None:
        journal = self._journal
        if journal is None:
            return
        epoch = journal.current_epoch()
        snapshot = journal.snapshot(epoch) if epoch else None
        journal.epoch = epoch
        journal.last_seq = journal.snapshot_seq()
        self.state = (
            fixtures.from_dict(snapshot, "state file") if snapshot is not None else self._fixture_state()
        )
        self._replay()

    def _new_epoch(self, state: State) -> None:
        """Replace the whole state (reset/import), durably when persistent."""
        state.site.setdefault("service_functions", list(SERVICE_FUNCTIONS))
        journal = self._journal
        self._pending_logs, self._pending_since = [], 0.0
        if journal is not None:
            journal.begin()
            try:
                journal.new_epoch(fixtures.export(state))
                journal.commit()
            except BaseException:
                journal.rollback()
                raise
            journal.changed()
        self.state = state

    # ------------------------------------------------------------------ admin
    @staticmethod
    def settle_heap() -> None:
        """Move the loaded site out of the cyclic GC's reach (``nexsis_mock.heap``).

        The state's objects live as long as the process; every full collection otherwise walks all
        of them. Unfreezing first lets a replaced state be freed.
        """
        heap.settle()

    def reset(self) -> None:
        """Back to the fixtures (and persist that)."""
        with self._lock:
            self._new_epoch(self._fixture_state())
        self.settle_heap()

    def export_state(self) -> dict[str, Any]:
        with self._lock:
            self._flush_logs(force=True)
            self._catch_up()
            return fixtures.export(self.state)

    def import_state(self, data: dict[str, Any]) -> None:
        """Replace the state; raises FixtureError (nothing changed) if `data` is invalid."""
        with self._lock:
            if not isinstance(data, dict):
                raise fixtures.FixtureError("state: must be a mapping of sections")
            self._new_epoch(fixtures.from_dict(data, "state"))
        self.settle_heap()

    def stats(self) -> dict[str, Any]:
        with self._lock:
            self._catch_up()
            s = self.state
            return {
                "users": len(s.users),
                "courses": len(s.courses),
                "enrolments": s.enrol_count,
                "groups": len(s.groups),
                "cohorts": len(s.cohorts),
                "programs": len(s.programs),
                "allocations": len(s.allocations),
                "certifications": len(s.certifications),
                "logs": len(s.logs) + len(self._pending_logs),
                "persistent": self._journal is not None,
                "state_file": str(self._journal.path) if self._journal else None,
            }

