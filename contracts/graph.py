"""The run-owned fixture graph: records built through the API itself so that success paths are reachable.

A conformance suite that only ever sees 400/404 never checks a success schema. Before an operation is
fuzzed, the graph gives it an *anchor*: one request whose ids name records that exist in a coherent
way (a group in its course, a completion of an enrolled user, an allocation of an owned user to a
sandbox program), so a correct deployment answers it with success. The same bindings are used for a
share of the generated positive cases (see `rewrite.Rewriter`).

Rules it keeps:
- Every record it creates carries the run's id prefix (NexSIS) or was returned to one of its own
  creations (Moodle ids), so the guard's ownership rules hold in `safe` mode; foreign records are
  only named when the config's sandbox lists them, or in `full` mode on loopback after discovery.
- Entities are built lazily (only what the selected operations need), in dependency order, once;
  the guard's observer registers each creation's undo, and cleanup runs them in reverse.
- Destructive operations never touch the shared graph: each gets its own *victim*, created right
  before the request that removes it, so fuzzing a delete cannot take away what a later read needs.
- In `read-only` mode nothing is created: anchors use sandbox ids from the config only.

Internal Moodle ids of owned NexSIS records are learned from answers that carry them: a completion
row names the course and user ids, a program allocation row the program and user ids, a metalink
row the child course id. Those ids are then owned for the web-service guard too.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar
from urllib.parse import quote

import requests

from nexsis_contracts.catalog import OperationInfo
from nexsis_contracts.safety import RefusedRequest

#: A completion time (2026-01-01) inside every range a deployment accepts.
COMPLETION_TIME = 1767225600
START = "2026-01-05T08:00:00+00:00"


@dataclass
class Anchor:
    """One request expected to succeed: path/query/body for the operation, ids already prepared."""

    path_parameters: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] | None = None
    body: Any = None
    media_type: str | None = None


def _json(resp: requests.Response | None) -> Any:
    if resp is None:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def _ok(resp: requests.Response | None) -> bool:
    if resp is None or not 200 <= resp.status_code < 300:
        return False
    body = _json(resp)
    return not (isinstance(body, dict) and "exception" in body)


def _int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


class FixtureGraph:
    """Lazily built, memoized records of the run, and the anchors/victims derived from them."""

    def __init__(self, run: Any) -> None:
        self.run = run
        self.settings = run.settings
        self.prefix = run.settings.id_prefix
        self.mode = run.settings.mode
        self.nexsis = "nexsis" in run.settings.specs and bool(run.settings.tokens.get("nexsis"))
        self.ws = "moodle-ws" in run.settings.specs and bool(run.settings.tokens.get("moodle-ws"))
        self._memo: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._counter = itertools.count(1)
        self.base = run.settings.target("nexsis") + run.catalog.prefixes.get("nexsis", "")

    # -- plumbing ---------------------------------------------------------------------------------
    @property
    def writes(self) -> bool:
        return self.mode != "read-only"

    def fresh(self, letter: str) -> str:
        return f"{self.prefix}{letter}{next(self._counter)}x"

    def call(self, method: str, path: str, json: Any = None) -> requests.Response | None:
        """A NexSIS request through the guarded session; None if refused or unsendable."""
        if not self.nexsis:
            return None
        url = self.base + "/".join(quote(p, safe="") if i else p for i, p in enumerate(path.split("/")))
        try:
            return self.run.session.request(method, url, json=json, **self.run.auth_kwargs("nexsis"))
        except (RefusedRequest, requests.RequestException):
            return None

    def ws_call(self, function: str, **params: Any) -> tuple[requests.Response | None, Any]:
        if not self.ws:
            return None, None
        from nexsis_openapi import codec

        url = self.settings.target("moodle-ws") + "/webservice/rest/server.php"
        form = {"wsfunction": function, "moodlewsrestformat": "json", **params}
        try:
            resp = self.run.session.post(
                url,
                params=self.run.auth_kwargs("moodle-ws")["params"],
                data=codec.encode(form).encode(),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
        except (RefusedRequest, requests.RequestException):
            return None, None
        return resp, _json(resp)

    def _memoize(self, key: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]

    def _pooled(self, kind: str, value: str | None) -> str | None:
        """Offer a shared (never deleted) record to the rewriter's random picks."""
        if value:
            self.run.rewriter.add_pool(kind, value)
        return value

    def sandbox(self, api: str, kind: str) -> list[Any]:
        return self.settings.sandbox_ids(api, kind)

    def _learn_ws(self, kind: str, value: Any) -> int | None:
        number = _int(value)
        if number is not None and number > 0:
            self.run.ledger.add_ws(kind, number)
        return number

    # -- NexSIS entities ----------------------------------------------------------------------------
    def _put_course(self, cid: str) -> str | None:
        body = {
            "fullname": f"Contract course {cid}",
            "shortname": cid,
            "startdate": START,
            "categorypath": "/Contract tests",
        }
        return cid if _ok(self.call("PUT", f"/course/{cid}", body)) else None

    def _put_user(self, uid: str) -> str | None:
        body = {
            "username": uid.lower(),
            "firstname": "Contract",
            "lastname": uid,
            "email": f"{uid.lower()}@example.invalid",
        }
        return uid if _ok(self.call("PUT", f"/user/{uid}", body)) else None

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
            if not _ok(self.call("PUT", f"/course/{course}/group/{gid}", {"name": gid, "description": "x"})):
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
            row = _json(resp) if _ok(resp) else None
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
            if not _ok(resp):
                return None
            row = _json(resp)
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
                rows = _json(self.call("GET", f"/organisation/user/{user}/job"))
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
            return (user, *org) if _ok(self._put_job(user, org)) else None

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
            return (user, boss) if _ok(resp) else None

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
            if not _ok(resp):
                return None
            row = _json(resp)
            if isinstance(row, dict):
                self._learn_ws("user", row.get("userid"))
                with self._lock:
                    self._memo.setdefault("nexsis_program_internal", _int(row.get("programid")))
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
            ok = _ok(self.call("PUT", f"/certification/{cert}/user/{user}", {"startdate": START}))
            return (cert, user) if ok else None

        return self._memoize("certification_allocation", build)

    def category(self) -> tuple[str, str, float, str | None] | None:
        """(course, catid, a valid grade, a user whose grade may be overridden) from the sandbox."""

        def build() -> tuple[str, str, float, str | None] | None:
            for course in self.sandbox("nexsis", "course"):
                for cat in self.sandbox("nexsis", "category"):
                    resp = self.call("GET", f"/course/{course}/categorygrade/{cat}")
                    if not _ok(resp):
                        continue
                    rows = _json(resp) if isinstance(_json(resp), list) else []
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
                        if user and not _ok(
                            self.call("PUT", f"/user/{user}/enrol/{course}", {"roleid": "student"})
                        ):
                            user = None
                    return course, cat, grade, user
            return None

        return self._memoize("category", build)

    # -- Moodle WS entities ---------------------------------------------------------------------------
    def ws_user(self) -> int | None:
        """U0's internal id (enrolled in C0), else a sandbox user."""
        row = self.completion() if self.nexsis else None
        if row and _int(row.get("userid")):
            return _int(row.get("userid"))
        return next(iter(self.sandbox("moodle-ws", "user")), None)

    def ws_course(self) -> int | None:
        row = self.completion() if self.nexsis else None
        if row and _int(row.get("course")):
            return _int(row.get("course"))
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
            if _int(row.get("id")):
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
            return _int(rows[0].get("id"))
        return None

    def ws_cohort(self, program: int) -> int | None:
        """A cohort not yet attached to `program` (so attaching it is the run's to undo)."""

        def build() -> int | None:
            _resp, attached = self.ws_call("tool_muprog_source_cohort_get_cohorts", programid=program)
            taken = (
                {_int(c.get("id")) for c in attached if isinstance(c, dict)}
                if isinstance(attached, list)
                else set()
            )
            candidates = list(self.sandbox("moodle-ws", "cohort"))
            if not candidates and self.mode == "full":
                for row in self.programs():
                    if _int(row.get("id")) == program:
                        continue
                    _r, other = self.ws_call("tool_muprog_source_cohort_get_cohorts", programid=row["id"])
                    for c in other if isinstance(other, list) else []:
                        if isinstance(c, dict) and _int(c.get("id")):
                            candidates.append(_int(c["id"]))
            return next((c for c in candidates if c not in taken), None)

        return self._memoize(f"ws_cohort:{program}", build)

    def shared_ws(self) -> dict[str, set[int]]:
        """WS ids other operations' anchors rely on: destructive cases must not pick them."""
        with self._lock:
            row = self._memo.get("completion") or {}
            users = {u for u in (_int(row.get("userid")),) if u}
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
                row = _json(resp) if _ok(resp) else None
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

    # -- what an operation needs, for the report when its anchor could not be prepared --------------
    NEEDS: ClassVar[dict[str, str]] = {
        "getCategoryGrades": "a sandbox nexsis course and category (grade category id) in --config",
        "overrideCategoryGrade": "a sandbox nexsis course and category in --config, and a mode that writes",
        "getCertificationAllocation": "a sandbox nexsis certification in --config",
        "putCertificationAllocation": "a sandbox nexsis certification in --config",
        "deleteCertificationAllocation": "a sandbox nexsis certification in --config",
        "putJobAssignment": "sandbox nexsis departments and positions in --config",
        "deleteJobAssignment": "sandbox nexsis departments and positions in --config",
        "getProgramAllocation": "a sandbox nexsis program in --config (full mode: a discoverable program)",
        "putProgramAllocation": "a sandbox nexsis program in --config (full mode: a discoverable program)",
        "deleteProgramAllocation": "a sandbox nexsis program in --config (full mode: a discoverable program)",
        "tool_muprog_source_cohort_add_cohort": "a sandbox moodle-ws cohort not attached to the program",
        "tool_muprog_source_cohort_delete_cohort": "a sandbox moodle-ws cohort not attached to the program",
    }

    def needs(self, info: OperationInfo) -> str:
        if not self.writes and info.is_write:
            return "a mode that writes (read-only mode sends none)"
        if info.operation_id in self.NEEDS:
            return self.NEEDS[info.operation_id]
        if info.operation_id.startswith("tool_muprog_"):
            return "a sandbox moodle-ws program (or a NexSIS program allocation) and users the run owns"
        if info.api == "moodle-ws":
            return "a course the run owns (through NexSIS) or sandbox moodle-ws courses and users"
        if not self.writes:
            return "sandbox ids of existing, related records in --config (read-only mode creates none)"
        return "the records it needs could not be created (see the setup requests in the report)"

    # -- anchors ------------------------------------------------------------------------------------------
    def anchor(self, info: OperationInfo) -> Anchor | None:
        """The operation's success request, with whatever it needs created right before it."""
        build = getattr(self, f"_anchor_{info.operation_id}", None)
        if build is None:
            return None
        try:
            return build()
        except (RefusedRequest, requests.RequestException):
            return None

    # Victim-based operations also serve the fuzz share of destructive cases.
    DESTRUCTIVE: ClassVar[frozenset[str]] = frozenset(
        {
            "deleteCourse",
            "deleteUser",
            "unenrolUser",
            "deleteCourseGroup",
            "removeGroupMember",
            "deleteMetalink",
            "deleteProgramAllocation",
            "deleteCertificationAllocation",
            "deleteJobAssignment",
            "deleteManager",
            "tool_muprog_delete_program_allocations",
            "tool_muprog_update_program_allocation",
            "tool_muprog_archive_program_allocation",
            "tool_muprog_restore_program_allocation",
            "tool_muprog_source_cohort_delete_cohort",
            "core_group_delete_groups",
            "core_group_delete_group_members",
        }
    )

    @staticmethod
    def _a(
        path: dict[str, Any] | None = None, body: Any = None, query: dict[str, Any] | None = None
    ) -> Anchor:
        return Anchor(path or {}, query, body, "application/json" if body is not None else None)

    @staticmethod
    def _w(**body: Any) -> Anchor:
        return Anchor({}, None, body, "application/x-www-form-urlencoded")

    # NexSIS
    def _anchor_ping(self) -> Anchor:
        return self._a()

    def _anchor_getLogs(self) -> Anchor:
        return self._a(query={"limit": 5})

    def _anchor_getCourse(self) -> Anchor | None:
        c = self.course()
        return self._a({"courseid": c}) if c else None

    def _anchor_putCourse(self) -> Anchor | None:
        c = self.course()
        return (
            self._a({"courseid": c}, {"fullname": f"Contract course {c} (updated)"})
            if c and self.writes
            else None
        )

    def _anchor_deleteCourse(self) -> Anchor | None:
        c = self._put_course(self.fresh("D")) if self.writes else None
        return self._a({"courseid": c}) if c else None

    def _anchor_listCourseEnrolments(self) -> Anchor | None:
        c = self.course()
        if c and self.writes:
            self.user()
        return self._a({"courseid": c}) if c else None

    def _anchor_getCategoryGrades(self) -> Anchor | None:
        cat = self.category()
        return self._a({"courseid": cat[0], "catid": cat[1]}) if cat else None

    def _anchor_overrideCategoryGrade(self) -> Anchor | None:
        cat = self.category()
        if not cat or not cat[3]:
            return None
        course, catid, grade, user = cat
        return self._a({"courseid": course, "catid": catid, "userid": user, "grade": grade})

    def _anchor_getUser(self) -> Anchor | None:
        u = self.user()
        return self._a({"userid": u}) if u else None

    def _anchor_putUser(self) -> Anchor | None:
        u = self.user()
        return self._a({"userid": u}, {"firstname": "Contract-updated"}) if u and self.writes else None

    def _anchor_deleteUser(self) -> Anchor | None:
        u = self.fresh_user()
        return self._a({"userid": u}) if u else None

    def _anchor_listUserEnrolments(self) -> Anchor | None:
        u = self.user()
        return self._a({"userid": u}) if u else None

    def _anchor_enrolUser(self) -> Anchor | None:
        u, c = self.user(), self.course()
        return (
            self._a({"userid": u, "courseid": c}, {"roleid": "student"}) if u and c and self.writes else None
        )

    def _anchor_unenrolUser(self) -> Anchor | None:
        u, c = self.fresh_user(), self.course()
        if not (u and c) or not _ok(self.call("PUT", f"/user/{u}/enrol/{c}", {"roleid": "student"})):
            return None
        return self._a({"userid": u, "courseid": c})

    def _anchor_listCourseGroups(self) -> Anchor | None:
        c = self.course()
        if c and self.writes:
            self.group()
        return self._a({"courseid": c}) if c else None

    def _anchor_getCourseGroup(self) -> Anchor | None:
        g = self.group()
        return self._a({"courseid": self.course(), "groupid": g}) if g else None

    def _anchor_putCourseGroup(self) -> Anchor | None:
        g = self.group()
        return self._a({"courseid": self.course(), "groupid": g}, {"description": "updated"}) if g else None

    def _victim_group(self, member: str | None = None) -> str | None:
        c = self.course()
        if not c or not self.writes:
            return None
        gid = self.fresh("H")
        if not _ok(self.call("PUT", f"/course/{c}/group/{gid}", {"name": gid, "description": "victim"})):
            return None
        if member and not _ok(self.call("PUT", f"/course/{c}/group/{gid}/user/{member}")):
            return None
        return gid

    def _anchor_deleteCourseGroup(self) -> Anchor | None:
        g = self._victim_group()
        return self._a({"courseid": self.course(), "groupid": g}) if g else None

    def _anchor_addGroupMember(self) -> Anchor | None:
        g, u = self.group(), self.user()
        return self._a({"courseid": self.course(), "groupid": g, "userid": u}) if g and u else None

    def _anchor_removeGroupMember(self) -> Anchor | None:
        u = self.user()
        g = self._victim_group(u) if u else None
        return self._a({"courseid": self.course(), "groupid": g, "userid": u}) if g else None

    def _anchor_getCourseCompletion(self) -> Anchor | None:
        if not self.completion():
            return None
        return self._a({"courseid": self.course(), "userid": self.user()})

    def _anchor_addCourseCompletion(self) -> Anchor | None:
        c, u = self.course(), self.user()
        if not (c and u and self.writes):
            return None
        return self._a({"courseid": c, "userid": u, "timecompleted": COMPLETION_TIME})

    def _anchor_getUserGrades(self) -> Anchor | None:
        u = self.user()
        return self._a({"userid": u}) if u else None

    def _anchor_getCourseGrades(self) -> Anchor | None:
        c = self.course()
        return self._a({"courseid": c}) if c else None

    def _anchor_getMetalink(self) -> Anchor | None:
        link = self.metalink()
        return self._a({"parentid": link[0], "childid": link[1]}) if link else None

    def _anchor_putMetalink(self) -> Anchor | None:
        link = self.metalink()
        return self._a({"parentid": link[0], "childid": link[1]}, {}) if link else None

    def _anchor_deleteMetalink(self) -> Anchor | None:
        parent = self.course2()
        child = self._put_course(self.fresh("D")) if parent else None
        if not child or not _ok(self.call("PUT", f"/course/{parent}/metalink/{child}", {})):
            return None
        return self._a({"parentid": parent, "childid": child})

    def _anchor_getProgramAllocation(self) -> Anchor | None:
        pa = self.program_allocation()
        return self._a({"programid": pa[0], "userid": pa[1]}) if pa else None

    def _anchor_putProgramAllocation(self) -> Anchor | None:
        pa = self.program_allocation()
        return self._a({"programid": pa[0], "userid": pa[1]}, {"status": "0"}) if pa else None

    def _anchor_deleteProgramAllocation(self) -> Anchor | None:
        p, u = self.program(), self.fresh_user()
        if not (p and u) or not _ok(self.call("PUT", f"/program/{p}/user/{u}", {})):
            return None
        return self._a({"programid": p, "userid": u})

    def _anchor_getCertificationAllocation(self) -> Anchor | None:
        ca = self.certification_allocation()
        return self._a({"certificationid": ca[0], "userid": ca[1]}) if ca else None

    def _anchor_putCertificationAllocation(self) -> Anchor | None:
        ca = self.certification_allocation()
        return self._a({"certificationid": ca[0], "userid": ca[1]}, {"suspendstatus": "0"}) if ca else None

    def _anchor_deleteCertificationAllocation(self) -> Anchor | None:
        cert, u = self.certification(), self.fresh_user()
        if not (cert and u) or not _ok(self.call("PUT", f"/certification/{cert}/user/{u}", {})):
            return None
        return self._a({"certificationid": cert, "userid": u})

    def _anchor_listJobAssignments(self) -> Anchor | None:
        u = self.user()
        if u and self.writes:
            self.job()
        return self._a({"userid": u}) if u else None

    def _anchor_putJobAssignment(self) -> Anchor | None:
        u, org = self.user(), self.org()
        if not (u and org and self.writes):
            return None
        return self._a({"userid": u}, {"departmentid": org[0], "positionid": org[1], "startdate": START})

    def _anchor_deleteJobAssignment(self) -> Anchor | None:
        org, u = self.org(), None
        if org:
            u = self.fresh_user()
        if not (org and u) or not _ok(self._put_job(u, org)):
            return None
        return self._a({"userid": u, "departmentid": org[0], "positionid": org[1]})

    def _anchor_listManagers(self) -> Anchor | None:
        u = self.user()
        if u and self.writes:
            self.manager()
        return self._a({"userid": u}) if u else None

    def _anchor_putManager(self) -> Anchor | None:
        m = self.manager()
        return self._a({"userid": m[0], "managerid": m[1]}, self._manager_body()) if m else None

    def _anchor_deleteManager(self) -> Anchor | None:
        boss, u = self.user2(), self.fresh_user()
        if not (boss and u) or not _ok(
            self.call("PUT", f"/organisation/user/{u}/manager/{boss}", self._manager_body())
        ):
            return None
        return self._a({"userid": u, "managerid": boss})

    # Moodle WS
    def _anchor_core_webservice_get_site_info(self) -> Anchor:
        return self._w()

    def _anchor_tool_muprog_get_programs(self) -> Anchor:
        p = self.ws_program()
        field_value = {"field": "id", "value": str(p)} if p else {"field": "archived", "value": "0"}
        return self._w(fieldvalues=[field_value])

    def _anchor_tool_muprog_get_program_allocations(self) -> Anchor | None:
        p = self.ws_program()
        return self._w(programid=p) if p else None

    def _anchor_tool_muprog_source_manual_allocate_users(self) -> Anchor | None:
        p = self.ws_program()
        u = self.fresh_ws_user() if p and self.writes else None
        return self._w(programid=p, userids=[u]) if u else None

    def _anchor_tool_muprog_delete_program_allocations(self) -> Anchor | None:
        p = self.ws_program()
        u = self.ws_allocated_victim(p) if p and self.writes else None
        return self._w(programid=p, userids=[u]) if u else None

    def _anchor_tool_muprog_update_program_allocation(self) -> Anchor | None:
        p = self.ws_program()
        u = self.ws_allocated_victim(p) if p and self.writes else None
        return self._w(programid=p, userid=u, allocationdates={"timedue": 1798761600}) if u else None

    def _anchor_tool_muprog_archive_program_allocation(self) -> Anchor | None:
        p = self.ws_program()
        u = self.ws_allocated_victim(p) if p and self.writes else None
        return self._w(programid=p, userid=u) if u else None

    def _anchor_tool_muprog_restore_program_allocation(self) -> Anchor | None:
        p = self.ws_program()
        u = self.ws_allocated_victim(p, archived=True) if p and self.writes else None
        return self._w(programid=p, userid=u) if u else None

    def _anchor_tool_muprog_source_cohort_get_cohorts(self) -> Anchor | None:
        p = self.ws_program()
        return self._w(programid=p) if p else None

    def _anchor_tool_muprog_source_cohort_add_cohort(self) -> Anchor | None:
        p = self.ws_program()
        c = self.ws_cohort(p) if p and self.writes else None
        return self._w(programid=p, cohortid=c) if c else None

    def _anchor_tool_muprog_source_cohort_delete_cohort(self) -> Anchor | None:
        p = self.ws_program()
        c = self.ws_cohort(p) if p and self.writes else None
        if not c:
            return None
        # Attached through the guarded session, so cleanup detaches it if the delete does not.
        resp, _body = self.ws_call("tool_muprog_source_cohort_add_cohort", programid=p, cohortid=c)
        return self._w(programid=p, cohortid=c) if _ok(resp) else None

    def _anchor_core_group_create_groups(self) -> Anchor | None:
        c = self.ws_course()
        if c is None or not self.writes:
            return None
        name = f"{self.prefix} group {next(self._counter)}"
        return self._w(groups=[{"courseid": c, "name": name, "description": "contract test"}])

    def _anchor_core_group_delete_groups(self) -> Anchor | None:
        g = self._create_ws_group() if self.writes else None
        return self._w(groupids=[g]) if g else None

    def _anchor_core_group_add_group_members(self) -> Anchor | None:
        g, u = self.ws_group(), self.ws_user()
        return self._w(members=[{"groupid": g, "userid": u}]) if g and u and self.writes else None

    def _anchor_core_group_delete_group_members(self) -> Anchor | None:
        g = self._create_ws_group() if self.writes else None
        u = self.ws_user()
        if not (g and u):
            return None
        self.ws_call("core_group_add_group_members", members=[{"groupid": g, "userid": u}])
        return self._w(members=[{"groupid": g, "userid": u}])
