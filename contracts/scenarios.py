"""Stateful scenarios: sequences whose invariants no single request can show.

The NexSIS scenario is a hypothesis RuleBasedStateMachine over users, courses, enrolments, groups
and completions, with a model of what was written; invariants are checked after every step. Every
id it touches carries the run prefix, so it is safe on staging. The Moodle WS scenario needs a
sandbox program and users (config) or a loopback target in full mode with known ids.
Each step's response is also judged by the operation's schemathesis checks.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import requests

from nexsis_contracts.results import OperationResult
from nexsis_contracts.run_context import RunContext
from nexsis_contracts.safety import RefusedRequest
from nexsis_openapi.moodle import WS_PATH


class StepFailed(AssertionError):
    def __init__(self, rule: str, message: str, response: Any | None) -> None:
        super().__init__(message)
        self.rule, self.response = rule, response


class Client:
    """Plain NexSIS/WS calls through the guarded session, for fixtures and scenarios."""

    def __init__(self, run: RunContext) -> None:
        self.run = run
        self.base = run.settings.target("nexsis") + run.catalog.prefixes.get("nexsis", "")

    def nexsis(self, method: str, path: str, json: Any = None) -> requests.Response:
        url = self.base + "/".join(quote(p, safe="") if i else p for i, p in enumerate(path.split("/")))
        return self.run.session.request(method, url, json=json, **self.run.auth_kwargs("nexsis"))

    def ws(self, function: str, **params: Any) -> Any:
        from nexsis_openapi import codec

        url = self.run.settings.target("moodle-ws") + WS_PATH
        form = {"wsfunction": function, "moodlewsrestformat": "json", **params}
        resp = self.run.session.post(
            url,
            params=self.run.auth_kwargs("moodle-ws")["params"],
            data=codec.encode(form).encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return resp


def _course_body(cid: str) -> dict[str, Any]:
    return {
        "fullname": f"Contract course {cid}",
        "shortname": cid,
        "startdate": "2026-01-05T08:00:00+00:00",
        "categorypath": "/Contract tests",
    }


def _user_body(uid: str) -> dict[str, Any]:
    return {
        "username": uid.lower(),
        "firstname": "Contract",
        "lastname": uid,
        "email": f"{uid.lower()}@example.invalid",
    }


def _judge(run: RunContext, result: OperationResult, api: str, operation_id: str, response: Any) -> None:
    """Run the operation's schemathesis checks on a scenario response."""
    schema = run.schemas.get(api)
    info = run.catalog.find(api, operation_id)
    if schema is None or info is None:
        return
    from urllib.parse import urlsplit

    from schemathesis.core.failures import FailureGroup

    operation = schema.find_operation_by_id(operation_id)
    params: dict[str, Any] = {}
    if api == "nexsis":
        hit = run.catalog.match_nexsis(str(response.request.method), urlsplit(str(response.request.url)).path)
        params = hit[1] if hit else {}
    case = operation.Case(path_parameters=params)
    for check in run.checks_for(case, info):
        if check.__name__ in (
            "ignored_auth",
            "negative_data_rejection",
            "form_negative_data_rejection",
            "ws_negative_data_rejection",
        ):
            continue
        try:
            case.validate_response(response, checks=[check])
        except FailureGroup as group:
            for failure in group.exceptions:
                run.record_failure(
                    result,
                    check.__name__,
                    f"{operation_id}: {failure.title}",
                    failure.message,
                    response,
                    None,
                )
        except AssertionError as exc:
            run.record_failure(result, check.__name__, str(exc), str(exc), response, None)
        except Exception as exc:
            result.errors.append(f"{check.__name__}: {type(exc).__name__}: {exc}"[:300])


def run_scenarios(run: RunContext) -> None:
    if run.settings.mode == "read-only":
        return
    if "nexsis" in run.settings.specs:
        _run_machine(run)
    if "moodle-ws" in run.settings.specs:
        _ws_allocation(run)


# -- NexSIS ----------------------------------------------------------------------------------------------
def _run_machine(run: RunContext) -> None:
    from hypothesis import HealthCheck, Phase, seed, settings
    from hypothesis import strategies as st
    from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, precondition, rule

    result = OperationResult(
        api="nexsis",
        name="scenario_nexsis_lifecycle",
        kind="scenario",
        label="users, courses, enrolments, groups, completions (stateful)",
    )
    run.result.results.append(result)
    client = Client(run)
    started = time.monotonic()
    names = (
        st.text(alphabet="abcdefghijklmnopqrstuvwxyzÄéß ", min_size=1, max_size=12)
        .map(str.strip)
        .filter(bool)
    )

    def call(op: str, method: str, path: str, json: Any = None) -> requests.Response:
        resp = client.nexsis(method, path, json)
        result.cases += 1
        result.observe(resp, validated=True)
        _judge(run, result, "nexsis", op, resp)
        return resp

    def expect(rule_name: str, ok: bool, message: str, resp: Any) -> None:
        if not ok:
            raise StepFailed(rule_name, message, resp)

    def enabled(*operation_ids: str) -> Any:
        """A rule runs only when every operation it calls is selected by --operation."""
        found = [run.catalog.find("nexsis", o) for o in operation_ids]
        ok = all(info is not None and info.matches(run.settings.operations) for info in found)
        return precondition(lambda _self: ok)

    class NexsisLifecycle(RuleBasedStateMachine):
        users = Bundle("users")
        courses = Bundle("courses")

        def __init__(self) -> None:
            super().__init__()
            self.model_users: dict[str, dict[str, Any]] = {}
            self.enrolled: set[tuple[str, str]] = set()
            self.deleted: set[str] = set()
            self.completed: dict[tuple[str, str], Any] = {}
            self.last: tuple[str, ...] = ()

        @enabled("putUser", "getUser")
        @rule(target=users, first=names)
        def put_user(self, first: str) -> str:
            uid = run.rewriter.fresh("user")
            body = {**_user_body(uid), "firstname": first}
            resp = call("putUser", "PUT", f"/user/{uid}", body)
            expect("put_user", resp.status_code == 200, f"PUT /user/{uid} answered {resp.status_code}", resp)
            # PUT is create *or* update: write once more so both paths are read back.
            body = {**body, "lastname": f"{uid}-renamed"}
            resp = call("putUser", "PUT", f"/user/{uid}", body)
            expect("put_user", resp.status_code == 200, f"PUT /user/{uid} answered {resp.status_code}", resp)
            self.model_users[uid] = body
            self.last = ("user", uid)
            return uid

        @enabled("putCourse")
        @rule(target=courses)
        def put_course(self) -> str:
            cid = run.rewriter.fresh("course")
            resp = call("putCourse", "PUT", f"/course/{cid}", _course_body(cid))
            expect(
                "put_course", resp.status_code == 200, f"PUT /course/{cid} answered {resp.status_code}", resp
            )
            return cid

        @enabled("putUser", "getUser")
        @rule(user=users, first=names)
        def update_user(self, user: str, first: str) -> None:
            if user in self.deleted:
                return
            body = {**self.model_users[user], "firstname": first}
            resp = call("putUser", "PUT", f"/user/{user}", body)
            expect(
                "update_user", resp.status_code == 200, f"PUT /user/{user} answered {resp.status_code}", resp
            )
            self.model_users[user] = body
            self.last = ("user", user)

        @enabled("enrolUser", "listUserEnrolments", "listCourseEnrolments")
        @rule(user=users, course=courses)
        def enrol(self, user: str, course: str) -> None:
            if user in self.deleted:
                return
            resp = call("enrolUser", "PUT", f"/user/{user}/enrol/{course}", {"roleid": "student"})
            expect("enrol", resp.status_code == 200, f"enrol answered {resp.status_code}", resp)
            self.enrolled.add((user, course))
            self.last = ("enrol", user, course)

        @enabled("putCourseGroup", "addGroupMember")
        @rule(user=users, course=courses)
        def group_member(self, user: str, course: str) -> None:
            if user in self.deleted:
                return
            gid = run.rewriter.fresh("group")
            resp = call(
                "putCourseGroup", "PUT", f"/course/{course}/group/{gid}", {"name": gid, "description": "x"}
            )
            expect("group_member", resp.status_code == 200, f"PUT group answered {resp.status_code}", resp)
            resp = call("addGroupMember", "PUT", f"/course/{course}/group/{gid}/user/{user}")
            if (user, course) in self.enrolled:
                expect(
                    "group_member",
                    resp.status_code == 200,
                    f"adding an enrolled user to a group answered {resp.status_code}",
                    resp,
                )
            else:
                expect(
                    "group_member_needs_enrolment",
                    400 <= resp.status_code < 500,
                    f"adding a user not enrolled in the course to a group answered {resp.status_code}, "
                    "expected a 4xx refusal (Moodle groups only hold enrolled users)",
                    resp,
                )

        @enabled("addCourseCompletion", "getCourseCompletion")
        @rule(user=users, course=courses, stamp=st.integers(1_600_000_000, 1_900_000_000))
        def complete(self, user: str, course: str, stamp: int) -> None:
            if user in self.deleted or (user, course) not in self.enrolled:
                return
            resp = call("addCourseCompletion", "POST", f"/course/{course}/user/{user}/completion/{stamp}")
            key = (user, course)
            if key not in self.completed and resp.status_code == 200:
                self.completed[key] = stamp
            got = call("getCourseCompletion", "GET", f"/course/{course}/user/{user}/completion")
            if key in self.completed and got.status_code == 200:
                value = str(got.json().get("timecompleted"))
                expect(
                    "completion_never_overwrites",
                    value == str(self.completed[key]),
                    f"completion time is {value}, but the first POST set {self.completed[key]}; a later "
                    "POST must not overwrite it",
                    got,
                )

        @enabled("deleteUser", "getUser")
        @rule(user=consumes(users))
        def delete_user(self, user: str) -> None:
            if user in self.deleted:
                return
            courses = {c for (u, c) in self.enrolled if u == user}
            resp = call("deleteUser", "DELETE", f"/user/{user}")
            expect(
                "delete_user",
                resp.status_code == 200,
                f"DELETE /user/{user} answered {resp.status_code}",
                resp,
            )
            self.deleted.add(user)
            self.enrolled = {(u, c) for (u, c) in self.enrolled if u != user}
            got = call("getUser", "GET", f"/user/{user}")
            expect(
                "delete_then_get_404",
                got.status_code == 404,
                f"GET /user/{user} after DELETE answered {got.status_code}, expected 404",
                got,
            )
            for course in courses:
                listing = call("listCourseEnrolments", "GET", f"/course/{course}/enrol")
                if listing.status_code == 200:
                    ids = {str(e.get("idnumber")) for e in listing.json() if isinstance(e, dict)}
                    expect(
                        "delete_user_removes_enrolments",
                        user not in ids,
                        f"deleted user {user} is still listed in course {course}'s enrolments",
                        listing,
                    )

        @invariant()
        def last_write_reads_back(self) -> None:
            if not self.last:
                return
            if self.last[0] == "user":
                uid = self.last[1]
                got = call("getUser", "GET", f"/user/{uid}")
                expect(
                    "put_then_get",
                    got.status_code == 200,
                    f"GET /user/{uid} after PUT answered {got.status_code}",
                    got,
                )
                body = got.json()
                for key, value in self.model_users[uid].items():
                    expect(
                        "put_then_get",
                        body.get(key) == value,
                        f"GET /user/{uid} returned {key}={body.get(key)!r}, PUT wrote {value!r}",
                        got,
                    )
            elif self.last[0] == "enrol":
                _, uid, cid = self.last
                mine = call("listUserEnrolments", "GET", f"/user/{uid}/enrol")
                expect(
                    "enrolment_in_user_list",
                    mine.status_code == 200
                    and any(isinstance(e, dict) and e.get("courseid") == cid for e in mine.json()),
                    f"course {cid} missing from user {uid}'s enrolments after enrolling",
                    mine,
                )
                theirs = call("listCourseEnrolments", "GET", f"/course/{cid}/enrol")
                expect(
                    "enrolment_in_course_list",
                    theirs.status_code == 200
                    and any(isinstance(e, dict) and e.get("idnumber") == uid for e in theirs.json()),
                    f"user {uid} missing from course {cid}'s enrolments after enrolling",
                    theirs,
                )
            self.last = ()

    NexsisLifecycle.TestCase.settings = settings(
        max_examples=max(3, run.settings.max_examples // 2),
        stateful_step_count=8,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    test = seed(run.settings.seed)(NexsisLifecycle.TestCase)
    try:
        test("runTest").runTest()
    except StepFailed as failed:
        if failed.response is not None:
            run.record_failure(result, failed.rule, str(failed), str(failed), failed.response, None)
    except (RefusedRequest, requests.RequestException) as exc:
        result.errors.append(f"{type(exc).__name__}: {exc}"[:300])
    finally:
        result.checks_run.update(
            {
                "put_then_get",
                "delete_then_get_404",
                "enrolment_in_user_list",
                "enrolment_in_course_list",
                "group_member_needs_enrolment",
                "completion_never_overwrites",
                "delete_user_removes_enrolments",
            }
        )
        result.duration = time.monotonic() - started


# -- Moodle WS --------------------------------------------------------------------------------------------
def _ws_allocation(run: RunContext) -> None:
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
    result = OperationResult(
        api="moodle-ws",
        name="scenario_muprog_allocation",
        kind="scenario",
        label="tool_muprog allocation idempotence, archive/restore flags",
    )
    run.result.results.append(result)
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
        _judge(run, result, "moodle-ws", function, resp)
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
            result.skipped["every sandbox user is already allocated"] += 1
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
        for function, step, archived_now in (("tool_muprog_archive_program_allocation", "archive", True),
                                             ("tool_muprog_restore_program_allocation", "restore", False)):
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
