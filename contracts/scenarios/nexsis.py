"""The NexSIS scenario: a hypothesis state machine over users, courses, enrolments, groups, completions.

A model of what was written is kept; invariants are checked after every step. Every id it touches
carries the run prefix, so it is safe on staging.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from nexsis_contracts.run_context import RunContext
from nexsis_contracts.safety import RefusedRequest
from nexsis_contracts.scenarios.common import (
    Client,
    StepFailed,
    course_body,
    judge,
    scenario_result,
    user_body,
)


def run_machine(run: RunContext) -> None:
    from hypothesis import HealthCheck, Phase, seed, settings
    from hypothesis import strategies as st
    from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, precondition, rule

    result = scenario_result(
        run,
        "nexsis",
        "scenario_nexsis_lifecycle",
        "users, courses, enrolments, groups, completions (stateful)",
    )
    selected = {
        o
        for o in ("putUser", "getUser", "putCourse")
        if (i := run.catalog.find("nexsis", o)) and i.matches(run.settings.operations)
    }
    if not ({"putUser", "getUser"} <= selected or "putCourse" in selected):
        # No rule could start (hypothesis would raise InvalidDefinition): nothing to run.
        result.skipped["no operation of the scenario is selected (putUser+getUser or putCourse)"] += 1
        return
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
        judge(run, result, "nexsis", op, resp)
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
            body = {**user_body(uid), "firstname": first}
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
            resp = call("putCourse", "PUT", f"/course/{cid}", course_body(cid))
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
