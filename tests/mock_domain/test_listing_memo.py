"""A course's enrolment listing is reused between reads and never outlives a change of the state."""

from __future__ import annotations

import pytest

from nexsis_mock.handlers.nexsis.enrolments import _course_rows
from nexsis_mock.store.state import State


def _fresh(svc, courseid: str) -> list[dict]:
    """The listing built from the state now, bypassing the memo."""

    class _Ctx:
        state = svc.state

    return _course_rows(_Ctx(), svc.state.course_by_idnumber[courseid])


def _course_with_enrolments(svc) -> str:
    courseid = max(svc.state.enrol_by_course, key=lambda c: len(svc.state.enrol_by_course[c]))
    return svc.state.courses[courseid].idnumber


def test_reads_reuse_the_rows_and_logging_does_not_invalidate(nx, svc) -> None:
    course = _course_with_enrolments(svc)
    first = nx("listCourseEnrolments", courseid=course).body
    second = nx("listCourseEnrolments", courseid=course).body
    assert first == second == _fresh(svc, course) and first
    assert first is not second  # callers get their own list...
    assert all(a is b for a, b in zip(first, second, strict=True))  # ...of the same, reused rows


def test_every_kind_of_change_is_seen(nx, svc) -> None:
    course = _course_with_enrolments(svc)
    before = nx("listCourseEnrolments", courseid=course).body
    member = before[0]["idnumber"]
    # a user's name (another table than the enrolments)
    assert nx("putUser", userid=member, firstname="Renamed").status == 200
    after = nx("listCourseEnrolments", courseid=course).body
    assert [r["firstname"] for r in after if r["idnumber"] == member] == ["Renamed"]
    assert after == _fresh(svc, course)
    # an enrolment added and removed
    outsider = next(u.idnumber for u in svc.state.users.values()
                    if u.idnumber and u.idnumber not in {r["idnumber"] for r in after})
    assert nx("enrolUser", courseid=course, userid=outsider).status == 200
    enrolled = nx("listCourseEnrolments", courseid=course).body
    assert outsider in {r["idnumber"] for r in enrolled} and enrolled == _fresh(svc, course)
    assert nx("unenrolUser", courseid=course, userid=outsider).status == 200
    assert nx("listCourseEnrolments", courseid=course).body == _fresh(svc, course)
    assert outsider not in {r["idnumber"] for r in nx("listCourseEnrolments", courseid=course).body}


def test_a_rolled_back_change_leaves_no_stale_rows() -> None:
    state = State()
    rows = {"n": 0}

    def build() -> list[int]:
        return [rows["n"]]

    bucket: dict[str, int] = {}
    assert state.memo("k", build) == [0]
    with pytest.raises(RuntimeError), state.transaction():
        state._put(bucket, "x", 1)
        rows["n"] = 1  # what build() sees while the change is pending
        assert state.memo("k", build) == [1]  # built from the pending change, not kept
        raise RuntimeError("fail the write")
    rows["n"] = 2
    assert bucket == {} and state.memo("k", build) == [2]  # rollback invalidated the old value


def test_memory_is_bounded(monkeypatch) -> None:
    state = State()
    monkeypatch.setattr(State, "MEMO_MAX_ROWS", 10)
    for key in range(5):
        state.memo(key, lambda: list(range(4)))
    assert state._memo_size <= 10 and len(state._memo) <= 2


def test_program_allocations_follow_allocations_and_archiving(ws, svc) -> None:
    programid = max(svc.state.alloc_by_program, key=lambda p: len(svc.state.alloc_by_program[p]))
    first = ws("tool_muprog_get_program_allocations", programid=programid).body
    again = ws("tool_muprog_get_program_allocations", programid=programid).body
    assert first == again and first and all(a is b for a, b in zip(first, again, strict=True))
    target = next(row for row in first if row["archivepossible"])
    archived = ws("tool_muprog_archive_program_allocation", programid=programid,
                  userid=target["userid"])
    assert "exception" not in archived.body, archived.body
    after = ws("tool_muprog_get_program_allocations", programid=programid).body
    row = next(r for r in after if r["id"] == target["id"])
    assert row["archived"] is True and row["restorepossible"] and not row["archivepossible"]
