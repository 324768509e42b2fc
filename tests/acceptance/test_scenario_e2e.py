"""A scripted SIS day against `nexsis mock` run as a real process on its default fixtures.

This is the README's first command as an integrator would use it: start the mock, then drive
both APIs. Each step checks the answer it got, not just the status.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from .admin import Admin
from .clients import MoodleWS, Nexsis
from .conftest import Tokens, resolve_tokens
from .servers import CliServer


@pytest.fixture(scope="module")
def cli_mock(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CliServer, Tokens]]:
    log = Path(tmp_path_factory.mktemp("e2e")) / "mock.log"
    server = CliServer(log=log)
    with server:
        yield server, resolve_tokens(server.tokens)


def test_sis_scenario_end_to_end(cli_mock: tuple[CliServer, Tokens]) -> None:
    server, tokens = cli_mock
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        nx, ws, admin = Nexsis(http, tokens.nexsis), MoodleWS(http, tokens.ws_admin), Admin(http)

        # 0. the API is up
        assert nx.call("ping", "GET", "/ping").body == {"message": "pong"}

        # 1. the SIS pushes two students and a course
        for uid, first in (("SIS-S1", "Ann"), ("SIS-S2", "Bob")):
            reply = nx.put_user(
                uid,
                username=uid.lower(),
                firstname=first,
                lastname="Student",
                email=f"{uid.lower()}@sis.test",
            )
            assert reply.status == 200 and reply.body["userid"] == uid and reply.body["firstname"] == first, (
                reply
            )
        course = nx.put_course(
            "SIS-C1",
            fullname="Contract Testing 101",
            shortname="CT101",
            startdate="2026-09-01T00:00:00+00:00",
            categorypath="/SIS/Autumn",
        )
        assert course.status == 200 and course.body["courseid"] == "SIS-C1", course
        assert course.body["categorypath"] == "/SIS/Autumn"
        course_internal = admin.internal_id("courses", "SIS-C1")
        s1, s2 = admin.internal_id("users", "SIS-S1"), admin.internal_id("users", "SIS-S2")

        # 2. enrol both
        for uid in ("SIS-S1", "SIS-S2"):
            assert nx.enrol(uid, "SIS-C1", roleid="student").status == 200
        enrolled = {e["idnumber"]: e for e in nx.course_enrolments("SIS-C1").body}
        assert set(enrolled) >= {"SIS-S1", "SIS-S2"}
        assert [e["courseid"] for e in nx.user_enrolments("SIS-S1").body] == ["SIS-C1"]

        # 3. groups: one through NexSIS, one through WS; members through both
        assert nx.put_group("SIS-C1", "SIS-G1", name="Morning", description="AM").status == 200
        assert nx.add_member("SIS-C1", "SIS-G1", "SIS-S1").status == 200
        created = ws.ok(
            "core_group_create_groups",
            {
                "groups": [
                    {
                        "courseid": course_internal,
                        "name": "Evening",
                        "description": "PM",
                        "idnumber": "SIS-G2",
                    }
                ]
            },
        )
        assert created[0]["courseid"] == course_internal and created[0]["idnumber"] == "SIS-G2"
        assert (
            ws.call(
                "core_group_add_group_members", {"members": [{"groupid": created[0]["id"], "userid": s2}]}
            )
            is None
        )
        groups = {g["groupid"]: g["name"] for g in nx.groups("SIS-C1").body}
        assert groups.get("SIS-G1") == "Morning" and groups.get("SIS-G2") == "Evening", groups
        members = {
            g["idnumber"]: sorted(g["members"])
            for g in admin.records("groups")
            if g.get("idnumber") in ("SIS-G1", "SIS-G2")
        }
        assert members == {"SIS-G1": [s1], "SIS-G2": [s2]}

        # 4. allocate S1 to a program through WS; NexSIS sees the allocation
        programs = ws.ok("tool_muprog_get_programs", {"fieldvalues": [{"field": "archived", "value": "0"}]})
        program = next(p for p in programs if "manual" in p["sources"])
        assert ws.ok(
            "tool_muprog_source_manual_allocate_users", {"programid": program["id"], "userids": [s1]}
        ) == [s1]
        assert (
            ws.ok("tool_muprog_source_manual_allocate_users", {"programid": program["id"], "userids": [s1]})
            == []
        )
        alloc = nx.get_program(program["idnumber"], "SIS-S1")
        assert alloc.status == 200 and int(alloc.body["userid"]) == s1, alloc

        # 5. complete the course for S1 (second POST does not overwrite)
        assert nx.add_completion("SIS-C1", "SIS-S1", "2026-11-01T08:00:00.000Z").status == 200
        assert nx.add_completion("SIS-C1", "SIS-S1", "2026-12-01T08:00:00.000Z").status in (200, 409)
        completion = nx.get_completion("SIS-C1", "SIS-S1").body
        assert int(completion["timecompleted"]) == 1793520000 and int(completion["userid"]) == s1

        # 6. grade: override S1's grade in a grade category and read it back. NexSIS cannot create
        # grade categories and a course it creates has none, so S1 is also enrolled in a fixture
        # course that has one.
        cat = admin.records("grade_categories")[0]
        graded = next(c for c in admin.records("courses") if c["id"] == cat["course"])["idnumber"]
        assert nx.enrol("SIS-S1", graded, roleid="student").status == 200
        catid = str(cat["id"])
        override = nx.call(
            "overrideCategoryGrade", "PUT", f"/course/{graded}/categorygrade/{catid}/SIS-S1/80"
        )
        assert override.status == 200, override
        assert float(override.body["finalgrade"]) == 80.0 and int(override.body["overridden"]) > 0
        assert override.body["user_idnumber"] == "SIS-S1"
        grades = nx.call(
            "getCategoryGrades",
            "GET",
            f"/course/{graded}/categorygrade/{catid}",
            params=[("userid[]", "SIS-S1")],
        ).body
        assert [(g["user_idnumber"], float(g["finalgrade"])) for g in grades] == [("SIS-S1", 80.0)]
        user_grades = nx.call("getUserGrades", "GET", "/user/SIS-S1/grade")
        assert user_grades.status == 200 and all(g["userid"] == "SIS-S1" for g in user_grades.body)
        assert {g["courseid"] for g in user_grades.body} <= {"SIS-C1", graded}
        course_grades = nx.call("getCourseGrades", "GET", f"/course/{graded}/grade")
        assert course_grades.status == 200 and course_grades.body, course_grades
        assert {g["courseid"] for g in course_grades.body} == {graded}

        # 7. the log has the day's calls, filterable
        logs = nx.logs(limit=500).body
        logs = logs if isinstance(logs, list) else [logs]
        seen = {
            (e["request_method"], (e["request_url"] or "").split("?")[0].rsplit("index.php", 1)[-1])
            for e in logs
        }
        for step in [
            ("PUT", "/user/SIS-S1"),
            ("PUT", "/course/SIS-C1"),
            ("PUT", "/user/SIS-S1/enrol/SIS-C1"),
            ("POST", "/course/SIS-C1/user/SIS-S1/completion/2026-11-01T08:00:00.000Z"),
        ]:
            assert step in seen or any(m == step[0] and u.endswith(step[1]) for m, u in seen), (step, seen)
        assert all(
            e["level"] == "info"
            for e in (lambda b: b if isinstance(b, list) else [b])(nx.logs(level="info", limit=50).body)
        )

        # 8. unenrol S2: gone from the course and its group
        assert nx.unenrol("SIS-S2", "SIS-C1").status == 200
        assert "SIS-S2" not in {e["idnumber"] for e in nx.course_enrolments("SIS-C1").body}
        assert [g["members"] for g in admin.records("groups") if g.get("idnumber") == "SIS-G2"] == [[]]

        # 9. delete S1: user, enrolments, memberships, allocation and completion go
        assert nx.delete_user("SIS-S1").status == 200
        assert nx.get_user("SIS-S1").status == 404
        assert nx.get_program(program["idnumber"], "SIS-S1").status == 404
        assert (
            ws.ok("tool_muprog_get_program_allocations", {"programid": program["id"], "userids": [s1]}) == []
        )
        assert [g["members"] for g in admin.records("groups") if g.get("idnumber") == "SIS-G1"] == [[]]
        assert "SIS-S1" not in {e["idnumber"] for e in nx.course_enrolments("SIS-C1").body}

        # 10. delete the course
        assert nx.delete_course("SIS-C1").status == 200
        assert nx.get_course("SIS-C1").status == 404
        assert nx.user_enrolments("SIS-S2").body == []
