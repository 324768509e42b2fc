"""Moodle web-service records of the graph: internal ids learned from NexSIS answers, or made by WS calls."""

from __future__ import annotations

from nexsis_contracts.graph.base import COMPLETION_TIME, as_int, json_of, succeeded
from nexsis_contracts.graph.nexsis import NexsisRecords


class WsRecords(NexsisRecords):
    """Ids the web-service functions need, and victims that destructive functions may remove."""

    # -- Moodle WS entities ---------------------------------------------------------------------------
    def ws_user(self) -> int | None:
        """U0's internal id (enrolled in C0), else a sandbox user."""
        row = self.completion() if self.nexsis else None
        if row and as_int(row.get("userid")):
            return as_int(row.get("userid"))
        return next(iter(self.sandbox("moodle-ws", "user")), None)

    def ws_course(self) -> int | None:
        row = self.completion() if self.nexsis else None
        if row and as_int(row.get("course")):
            return as_int(row.get("course"))
        return next(iter(self.sandbox("moodle-ws", "course")), None)

    def ws_program(self) -> int | None:
        """A program the run may allocate its own users to: the sandbox's, or the NexSIS one's id."""
        sandbox = self.sandbox("moodle-ws", "program")
        if sandbox:
            return sandbox[0]
        if self.program_allocation() if self.nexsis else None:
            internal = self._memo.get("nexsis_program_internal")
            if internal:
                # The WS face of a NexSIS sandbox (or, in full mode, discovered) program.
                return self._learn_ws("program", internal)
        for row in self.programs():
            if as_int(row.get("id")):
                return self._learn_ws("program", row["id"])
        return None

    def ws_group(self) -> int | None:
        """A group created with core_group_create_groups in the run's course; U0 is a member."""
        if not self.writes:
            return next(iter(self.sandbox("moodle-ws", "group")), None)

        def build() -> int | None:
            gid = self._create_ws_group()
            user = self.ws_user()
            if gid and user:
                self.ws_call("core_group_add_group_members", members=[{"groupid": gid, "userid": user}])
            return gid

        return self._memoize("ws_group", build)

    def _create_ws_group(self) -> int | None:
        course = self.ws_course()
        if course is None:
            return None
        name = f"{self.prefix} group {next(self._counter)}"
        _resp, rows = self.ws_call(
            "core_group_create_groups",
            groups=[{"courseid": course, "name": name, "description": "contract test"}],
        )
        if isinstance(rows, list) and rows and isinstance(rows[0], dict):
            return as_int(rows[0].get("id"))
        return None

    def ws_cohort(self, program: int) -> int | None:
        """A cohort not yet attached to `program` (so attaching it is the run's to undo)."""

        def build() -> int | None:
            _resp, attached = self.ws_call("tool_muprog_source_cohort_get_cohorts", programid=program)
            taken = (
                {as_int(c.get("id")) for c in attached if isinstance(c, dict)}
                if isinstance(attached, list)
                else set()
            )
            candidates = list(self.sandbox("moodle-ws", "cohort"))
            if not candidates and self.mode == "full":
                for row in self.programs():
                    if as_int(row.get("id")) == program:
                        continue
                    _r, other = self.ws_call("tool_muprog_source_cohort_get_cohorts", programid=row["id"])
                    for c in other if isinstance(other, list) else []:
                        if isinstance(c, dict) and as_int(c.get("id")):
                            candidates.append(as_int(c["id"]))
            return next((c for c in candidates if c not in taken), None)

        return self._memoize(f"ws_cohort:{program}", build)

    def shared_ws(self) -> dict[str, set[int]]:
        """WS ids other operations' anchors rely on: destructive cases must not pick them."""
        with self._lock:
            row = self._memo.get("completion") or {}
            users = {u for u in (as_int(row.get("userid")),) if u}
            groups = {g for g in (self._memo.get("ws_group"),) if g}
        return {"user": users, "group": groups}

    # -- victims ----------------------------------------------------------------------------------------
    def fresh_user(self) -> str | None:
        return self._put_user(self.fresh("V")) if self.writes else None

    def fresh_ws_user(self) -> int | None:
        """A new owned user whose internal id is known (learned from its completion of C0).

        Without NexSIS (or where its completions do not answer) the sandbox's WS users stand in.
        """
        if self.writes and self.nexsis and not self._memo.get("no_fresh_ws_user"):
            course = self.course()
            user = self.fresh_user() if course else None
            if user and course:
                resp = self.call("POST", f"/course/{course}/user/{user}/completion/{COMPLETION_TIME}")
                row = json_of(resp) if succeeded(resp) else None
                learned = self._learn_ws("user", row.get("userid")) if isinstance(row, dict) else None
                if learned:
                    return learned
            with self._lock:
                self._memo["no_fresh_ws_user"] = True
        users = self.sandbox("moodle-ws", "user")
        return users[next(self._counter) % len(users)] if users else None

    def ws_allocated_victim(self, program: int, archived: bool = False) -> int | None:
        """A user of the run allocated (manually) to `program`, archived if asked."""
        user = self.fresh_ws_user()
        if user is None:
            return None
        self.ws_call("tool_muprog_delete_program_allocations", programid=program, userids=[user])
        self.ws_call("tool_muprog_source_manual_allocate_users", programid=program, userids=[user])
        if archived:
            self.ws_call("tool_muprog_archive_program_allocation", programid=program, userid=user)
        return user
