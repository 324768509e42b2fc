"""Enrolments: per-course and per-user listings, enrol (plugin `nexsis`) and unenrol."""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, nexsis_op
from nexsis_mock.handlers.nexsis import bad_request, find_course, find_user, iso, not_found, shorten, text
from nexsis_mock.store.state import ROLE_BY_ID, ROLES


@nexsis_op("listCourseEnrolments")
def list_course_enrolments(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    course = find_course(ctx, params)
    # A large course's listing (1,000 rows: ~1 ms of building and sorting) is rebuilt only after
    # the state changes; clients poll it far more often than they write.
    return ctx.state.memo(("listCourseEnrolments", course.id), lambda: _course_rows(ctx, course.id))


def _course_rows(ctx: Ctx, courseid: int) -> list[dict[str, Any]]:
    state = ctx.state
    pairs = [(e, state.users[userid])
             for userid, pair in state.enrol_by_course.get(courseid, {}).items() for e in pair]
    pairs.sort(key=lambda p: p[0].id)
    return [
        {
            "userenrol_id": str(e.id),
            "enrol": e.plugin,
            "enrolstatus": str(e.status),
            "enrolstartdate": str(e.timestart),
            "enrolenddate": str(e.timeend),
            "firstname": user.firstname,
            "lastname": user.lastname,
            "email": user.email,
            "idnumber": user.idnumber,
            "role": ROLES.get(e.role, (0, e.role))[1],
        }
        for e, user in pairs
    ]


def _plugin(params: dict[str, Any]) -> str | None:
    plugin = text(params, "plugin", limit=50)
    if plugin is not None and not plugin.strip():
        raise bad_request("plugin cannot be empty")
    return plugin


@nexsis_op("listUserEnrolments")
def list_user_enrolments(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    state = ctx.state
    user = find_user(ctx, params)
    plugin = _plugin(params)
    rows = []
    for courseid in sorted(state.enrol_by_user.get(user.id, {})):
        pair = state.enrol_by_user[user.id][courseid]
        roles = list(dict.fromkeys(e.role for e in pair if plugin is None or e.plugin == plugin))
        if not roles:
            continue
        course = state.courses[courseid]
        rows.append(
            {
                "courseid": course.idnumber,
                "fullname": course.fullname,
                "shortname": course.shortname,
                "startdate": iso(course.startdate),
                "roles": roles,
            }
        )
    return rows


def role_shortname(value: Any) -> str:
    if value is None or value == "":
        return "student"
    if isinstance(value, bool):
        raise bad_request("roleid must be a role shortname or a role id")
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        role = ROLE_BY_ID.get(int(value))
        if role is None:
            raise bad_request(f"Unknown role id {shorten(value)!r}")
        return role
    if isinstance(value, str) and value.strip().lower() in ROLES:
        return value.strip().lower()
    raise bad_request(f"Unknown role {shorten(value)!r}; known roles: {', '.join(ROLES)}")


@nexsis_op("enrolUser", write=True)
def enrol_user(ctx: Ctx, params: dict[str, Any]) -> None:
    user = find_user(ctx, params)
    course = find_course(ctx, params)
    role = role_shortname(params.get("roleid"))
    ctx.state.enrol(user.id, course.id, "nexsis", role, now=ctx.now)
    return None


@nexsis_op("unenrolUser", write=True)
def unenrol_user(ctx: Ctx, params: dict[str, Any]) -> None:
    user = find_user(ctx, params)
    course = find_course(ctx, params)
    plugin = _plugin(params)
    if not ctx.state.unenrol(user.id, course.id, plugin):
        which = f" through plugin {shorten(plugin)!r}" if plugin else ""
        raise not_found(
            f"User {shorten(user.idnumber)!r} is not enrolled in course {shorten(course.idnumber)!r}{which}"
        )
    return None
