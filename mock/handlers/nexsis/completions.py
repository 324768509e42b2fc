"""Course completions: read one, add one only when none exists (an existing one is kept)."""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, nexsis_op
from nexsis_mock.handlers.nexsis import find_course, find_user, ident, not_found, parse_time, s, shorten
from nexsis_mock.store.records import Completion


def completion_row(comp: Completion) -> dict[str, Any]:
    return {
        "id": str(comp.id),
        "userid": str(comp.userid),
        "course": str(comp.courseid),
        "timeenrolled": str(comp.timeenrolled),
        "timestarted": str(comp.timestarted),
        "timecompleted": s(comp.timecompleted),
        "reaggregate": str(comp.reaggregate),
    }


@nexsis_op("getCourseCompletion")
def get_course_completion(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    course = find_course(ctx, params)
    user = find_user(ctx, params)
    comp = ctx.state.completion(course.id, user.id)
    if comp is None:
        raise not_found(
            f"No completion of course {shorten(course.idnumber)!r} for user {shorten(user.idnumber)!r}"
        )
    return completion_row(comp)


@nexsis_op("addCourseCompletion", write=True)
def add_course_completion(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    course = find_course(ctx, params)
    user = find_user(ctx, params)
    timecompleted = parse_time(ident(params, "timecompleted", create=True), "timecompleted")
    existing = state.completion(course.id, user.id)
    if existing is not None:
        ctx.log(
            "info",
            "Course completion already exists",
            f"Time completed for course {course.id} already exists for student {user.id}",
        )
        return completion_row(existing)
    enrolments = state.enrolments(user.id, course.id)
    timeenrolled = min((e.timestart or e.timecreated for e in enrolments), default=0)
    comp = Completion(
        id=state.next_id("completion"),
        userid=user.id,
        courseid=course.id,
        timeenrolled=timeenrolled,
        timestarted=0,
        timecompleted=timecompleted,
    )
    state.add_completion(comp)
    return completion_row(comp)
