"""core_group_create_groups, _delete_groups, _add_group_members, _delete_group_members.

Course access is Moodle's `validate_context`: a site admin, a token holding moodle/course:view, or a
user enrolled in the course may act there; anyone else gets `errorcoursecontextnotvalid` (as does
a course that does not exist). Only enrolled users may join a group.
"""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, MoodleError, trim, ws_function
from nexsis_mock.handlers.ws import has_capability, invalid_parameter, missing_record, require_capability
from nexsis_mock.store.records import Group
from nexsis_openapi.moodle import IDNUMBER_TAKEN


def _context_error(courseid: int, reason: str) -> MoodleError:
    return MoodleError(
        "core\\exception\\moodle_exception",
        "errorcoursecontextnotvalid",
        f"You cannot execute functions in the course context (course id:{courseid}). "
        f"The context error message was: {reason}",
    )


def validate_course_context(ctx: Ctx, courseid: int) -> None:
    state = ctx.state
    if courseid not in state.courses:
        raise _context_error(courseid, "Invalid parameter value detected")
    userid = ctx.ws.userid if ctx.ws else 0
    if has_capability(ctx, "moodle/course:view") or state.is_enrolled(userid, courseid):
        return
    raise _context_error(courseid, "Course or activity not accessible.")


def group_row(group: Group) -> dict[str, Any]:
    return {
        "id": group.id,
        "courseid": group.courseid,
        "name": group.name,
        "description": group.description,
        "descriptionformat": group.descriptionformat,
        "enrolmentkey": group.enrolmentkey,
        "idnumber": group.idnumber,
        "visibility": group.visibility,
        "participation": bool(group.participation),
    }


@ws_function("core_group_create_groups", write=True)
def create_groups(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    state = ctx.state
    rows = []
    for spec in params["groups"]:
        courseid = spec["courseid"]
        validate_course_context(ctx, courseid)
        require_capability(ctx, "moodle/course:managegroups")
        name = trim(spec["name"])
        idnumber = trim(spec.get("idnumber") or "")
        if not name or state.group_named(courseid, name) is not None:
            raise invalid_parameter()
        # groups_create_group: PHP's empty() skips the check for "" and "0"; a taken idnumber is
        # Moodle's own exception, not invalidparameter (only the name check is the external API's).
        if idnumber not in ("", "0") and state.group_by_idnumber(courseid, idnumber) is not None:
            raise MoodleError(**IDNUMBER_TAKEN)
        if spec.get("visibility") not in (0, 1, 2, 3):
            raise invalid_parameter()
        group = Group(
            id=state.next_id("group"),
            courseid=courseid,
            name=name,
            idnumber=idnumber,
            description=spec.get("description") or "",
            descriptionformat=spec.get("descriptionformat") or 1,
            enrolmentkey=spec.get("enrolmentkey") or "",
            visibility=spec.get("visibility") or 0,
            participation=bool(spec.get("participation", True)),
            timecreated=ctx.now,
            timemodified=ctx.now,
        )
        state.add_group(group)
        row = group_row(group)
        if spec.get("customfields"):
            row["customfields"] = spec["customfields"]
        rows.append(row)
    return rows


@ws_function("core_group_delete_groups", write=True)
def delete_groups(ctx: Ctx, params: dict[str, Any]) -> None:
    state = ctx.state
    for groupid in params["groupids"]:
        group = state.groups.get(groupid)
        if group is None:
            continue  # Moodle silently skips groups that do not exist
        validate_course_context(ctx, group.courseid)
        require_capability(ctx, "moodle/course:managegroups")
        state.delete_group(groupid)
    return None


def _member(ctx: Ctx, member: dict[str, Any]) -> tuple[Group, int]:
    state = ctx.state
    group = state.groups.get(member["groupid"])
    if group is None:
        raise missing_record()
    if member["userid"] not in state.users:
        raise missing_record()
    validate_course_context(ctx, group.courseid)
    require_capability(ctx, "moodle/course:managegroups")
    return group, member["userid"]


@ws_function("core_group_add_group_members", write=True)
def add_group_members(ctx: Ctx, params: dict[str, Any]) -> None:
    for member in params["members"]:
        group, userid = _member(ctx, member)
        if not ctx.state.is_enrolled(userid, group.courseid):
            raise invalid_parameter()
        ctx.state.add_group_member(group.id, userid)
    return None


@ws_function("core_group_delete_group_members", write=True)
def delete_group_members(ctx: Ctx, params: dict[str, Any]) -> None:
    for member in params["members"]:
        group, userid = _member(ctx, member)
        ctx.state.remove_group_member(group.id, userid)
    return None
