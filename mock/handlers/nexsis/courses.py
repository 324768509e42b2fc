"""Courses: get, create/update (category path created on demand), delete with Moodle's cascade."""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, nexsis_op, trim
from nexsis_mock.handlers.nexsis import (
    bad_request,
    conflict,
    find_course,
    ident,
    iso,
    opt_time,
    shorten,
    text,
)
from nexsis_mock.store.records import Course
from nexsis_mock.store.tables import unique_shortname


def course_row(ctx: Ctx, course: Course) -> dict[str, Any]:
    return {
        "courseid": course.idnumber,
        "fullname": course.fullname,
        "shortname": course.shortname,
        "startdate": iso(course.startdate),
        "categorypath": ctx.state.category_path(course.category),
    }


@nexsis_op("getCourse")
def get_course(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return course_row(ctx, find_course(ctx, params))


@nexsis_op("putCourse", write=True)
def put_course(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    idnumber = ident(params, "courseid", create=True)
    if len(idnumber) > 100:
        raise bad_request("courseid is too long (at most 100 characters)")
    fullname = text(params, "fullname", limit=254)
    shortname = text(params, "shortname", limit=255)
    startdate = opt_time(params, "startdate")
    path = text(params, "categorypath", limit=1000)
    cid = state.course_by_idnumber.get(idnumber)
    if shortname is not None:
        shortname = trim(shortname)
    elif cid is None:
        # Moodle's create_course needs a shortname; the plugin has the external id to give it.
        shortname = idnumber
    if cid is None and fullname is None:
        fullname = shortname
    # Empty strings are stored as sent: Moodle's create_course and update_course refuse none, and
    # check only a short name that is not PHP-empty ("" and "0" may be shared).
    if shortname is not None and unique_shortname(shortname):
        owner = state.course_by_shortname.get(shortname)
        if owner is not None and state.courses[owner].idnumber != idnumber:
            raise conflict(f"Short name {shorten(shortname)!r} is already used by another course")
    if cid is None:
        assert fullname is not None and shortname is not None
        category = state.ensure_category_path(path) if path else state.site.get("defaultcategory", 1)
        course = Course(
            id=state.next_id("course"),
            shortname=shortname,
            fullname=trim(fullname),
            idnumber=idnumber,
            category=category,
            startdate=startdate or 0,
            timecreated=ctx.now,
            timemodified=ctx.now,
        )
        state.add_course(course)
        return course_row(ctx, course)
    course = state.courses[cid]
    changes: dict[str, Any] = {}
    if fullname is not None:
        changes["fullname"] = trim(fullname)
    if shortname is not None:
        changes["shortname"] = shortname
    if startdate is not None:
        changes["startdate"] = startdate
    if path is not None:
        changes["category"] = state.ensure_category_path(path)
    if changes:
        changes["timemodified"] = ctx.now
        state.update_course(course, **changes)
    return course_row(ctx, course)


@nexsis_op("deleteCourse", write=True)
def delete_course(ctx: Ctx, params: dict[str, Any]) -> None:
    course = find_course(ctx, params)
    ctx.state.delete_course(course.id)
    return None
