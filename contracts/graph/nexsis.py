"""NexSIS records of the graph: the run's courses, users, groups, completions, links and allocations."""

from __future__ import annotations

from typing import Any

import requests

from nexsis_contracts.graph.base import COMPLETION_TIME, START, GraphBase, as_int, json_of, succeeded


class NexsisRecords(GraphBase):
    """Records made through NexSIS, each built once (memoised) and only when an operation needs it."""

    # -- NexSIS entities ----------------------------------------------------------------------------
    def _put_course(self, cid: str) -> str | None:
        body = {
            "fullname": f"Contract course {cid}",
            "shortname": cid,
            "startdate": START,
            "categorypath": "/Contract tests",
        }
        return cid if succeeded(self.call("PUT", f"/course/{cid}", body)) else None

    def _put_user(self, uid: str) -> str | None:
        body = {
            "username": uid.lower(),
            "firstname": "Contract",
            "lastname": uid,
            "email": f"{uid.lower()}@example.invalid",
        }
        return uid if succeeded(self.call("PUT", f"/user/{uid}", body)) else None

    def course(self) -> str | None:
        """C0: the run's main course (users U0 and U1 are enrolled in it)."""
        if not self.writes:
            return next(iter(self.sandbox("nexsis", "course")), None)
        return self._memoize("course", lambda: self._pooled("course", self._put_course(f"{self.prefix}C0")))

    def course2(self) -> str | None:
        """C1: a second owned course, the child of the graph's metalink."""
        if not self.writes:
            return None
        return self._memoize("course2", lambda: self._pooled("course", self._put_course(f"{self.prefix}C1")))

    def user(self) -> str | None:
        """U0: enrolled in C0 as a student."""
        if not self.writes:
            return next(iter(self.sandbox("nexsis", "user")), None)

        def build() -> str | None:
            uid = self._put_user(f"{self.prefix}U0")
            course = self.course()
            if uid and course:
                self.call("PUT", f"/user/{uid}/enrol/{course}", {"roleid": "student"})
            return self._pooled("user", uid)

        return self._memoize("user", build)

    def user2(self) -> str | None:
        """U1: enrolled in C0 too; U0's manager."""
        if not self.writes:
            return None

        def build() -> str | None:
            uid = self._put_user(f"{self.prefix}U1")
            course = self.course()
            if uid and course:
                self.call("PUT", f"/user/{uid}/enrol/{course}", {"roleid": "student"})
            return self._pooled("user", uid)

        return self._memoize("user2", build)

    def group(self) -> str | None:
        """G0 in C0, with U0 as a member."""
        if not self.writes:
            return None

        def build() -> str | None:
            course, user = self.course(), self.user()
            if not course:
                return None
            gid = f"{self.prefix}G0"
            if not succeeded(
                self.call("PUT", f"/course/{course}/group/{gid}", {"name": gid, "description": "x"})
            ):
                return None
            if user:
                self.call("PUT", f"/course/{course}/group/{gid}/user/{user}")
            return self._pooled("group", gid)

        return self._memoize("group", build)

    def completion(self) -> dict[str, Any] | None:
        """U0's completion of C0; its row names C0's and U0's internal ids."""
        if not self.writes:
            return None

        def build() -> dict[str, Any] | None:
            course, user = self.course(), self.user()
            if not (course and user):
                return None
            resp = self.call("POST", f"/course/{course}/user/{user}/completion/{COMPLETION_TIME}")
            row = json_of(resp) if succeeded(resp) else None
            if not isinstance(row, dict):
                return None
            self._learn_ws("course", row.get("course"))
            self._learn_ws("user", row.get("userid"))
            return row

        return self._memoize("completion", build)

    def metalink(self) -> tuple[str, str] | None:
        """C1 metalinked into C0."""
        if not self.writes:
            return None

        def build() -> tuple[str, str] | None:
            parent, child = self.course(), self.course2()
            if not (parent and child):
                return None
            resp = self.call("PUT", f"/course/{parent}/metalink/{child}", {})
            if not succeeded(resp):
                return None
            row = json_of(resp)
            if isinstance(row, dict):
                self._learn_ws("course", row.get("customint1"))
            return parent, child

        return self._memoize("metalink", build)

    def org(self) -> tuple[str, str] | None:
        """A (department, position) pair: sandbox ids, or (full mode) one seen in a sandbox user's jobs."""

        def build() -> tuple[str, str] | None:
            depts, positions = self.sandbox("nexsis", "department"), self.sandbox("nexsis", "position")
            if depts and positions:
                return depts[0], positions[0]
            if self.mode != "full":
                return None
            for user in self.sandbox("nexsis", "user"):
                rows = json_of(self.call("GET", f"/organisation/user/{user}/job"))
                for row in rows if isinstance(rows, list) else []:
                    if isinstance(row, dict) and row.get("departmentid") and row.get("positionid"):
                        return str(row["departmentid"]), str(row["positionid"])
            return None

        return self._memoize("org", build)

    def job(self) -> tuple[str, str, str] | None:
        """U0 holds the job (department, position)."""
        if not self.writes:
            return None

        def build() -> tuple[str, str, str] | None:
            user, org = self.user(), self.org()
            if not (user and org):
                return None
            return (user, *org) if succeeded(self._put_job(user, org)) else None

        return self._memoize("job", build)

    def _put_job(self, user: str, org: tuple[str, str]) -> requests.Response | None:
        body = {"departmentid": org[0], "positionid": org[1], "startdate": START}
        return self.call("PUT", f"/organisation/user/{user}", body)

    def manager(self) -> tuple[str, str] | None:
        """U1 manages U0."""
        if not self.writes:
            return None

        def build() -> tuple[str, str] | None:
            user, boss = self.user(), self.user2()
            if not (user and boss):
                return None
            resp = self.call("PUT", f"/organisation/user/{user}/manager/{boss}", self._manager_body())
            return (user, boss) if succeeded(resp) else None

        return self._memoize("manager", build)

    @staticmethod
    def _manager_body() -> dict[str, Any]:
        return {"keepexisting": True, "perm_be_notified": True}

    def programs(self) -> list[dict[str, Any]]:
        """Programs a full-mode loopback run may use, discovered with tool_muprog_get_programs."""

        def build() -> list[dict[str, Any]]:
            if self.mode != "full" or not self.ws:
                return []
            _resp, rows = self.ws_call(
                "tool_muprog_get_programs", fieldvalues=[{"field": "archived", "value": "0"}]
            )
            return [r for r in rows if isinstance(r, dict)] if isinstance(rows, list) else []

        return self._memoize("programs", build)

    def program(self) -> str | None:
        """A NexSIS program id (idnumber): the sandbox's, or a discovered one in full mode."""
        sandbox = self.sandbox("nexsis", "program")
        if sandbox:
            return sandbox[0]
        for row in self.programs():
            if row.get("idnumber"):
                return str(row["idnumber"])
        return None

    def program_allocation(self) -> tuple[str, str] | None:
        """U0 allocated to the program; the row names the program's and U0's internal ids."""
        if not self.writes:
            return None

        def build() -> tuple[str, str] | None:
            program, user = self.program(), self.user()
            if not (program and user):
                return None
            resp = self.call("PUT", f"/program/{program}/user/{user}", {"startdate": START})
            if not succeeded(resp):
                return None
            row = json_of(resp)
            if isinstance(row, dict):
                self._learn_ws("user", row.get("userid"))
                with self._lock:
                    self._memo.setdefault("nexsis_program_internal", as_int(row.get("programid")))
            return program, user

        return self._memoize("program_allocation", build)

    def certification(self) -> str | None:
        return next(iter(self.sandbox("nexsis", "certification")), None)

    def certification_allocation(self) -> tuple[str, str] | None:
        if not self.writes:
            return None

        def build() -> tuple[str, str] | None:
            cert, user = self.certification(), self.user()
            if not (cert and user):
                return None
            ok = succeeded(self.call("PUT", f"/certification/{cert}/user/{user}", {"startdate": START}))
            return (cert, user) if ok else None

        return self._memoize("certification_allocation", build)

    def category(self) -> tuple[str, str, float, str | None] | None:
        """(course, catid, a valid grade, a user whose grade may be overridden) from the sandbox."""

        def build() -> tuple[str, str, float, str | None] | None:
            for course in self.sandbox("nexsis", "course"):
                for cat in self.sandbox("nexsis", "category"):
                    resp = self.call("GET", f"/course/{course}/categorygrade/{cat}")
                    if not succeeded(resp):
                        continue
                    rows = json_of(resp) if isinstance(json_of(resp), list) else []
                    top = 100.0
                    for row in rows:
                        try:
                            top = float(row.get("rawgrademax"))
                            break
                        except (AttributeError, TypeError, ValueError):
                            continue
                    grade = round(min(50.0, top / 2), 2)
                    user = None
                    if self.writes:
                        user = self.user()
                        if user and not succeeded(
                            self.call("PUT", f"/user/{user}/enrol/{course}", {"roleid": "student"})
                        ):
                            user = None
                    return course, cat, grade, user
            return None

        return self._memoize("category", build)
