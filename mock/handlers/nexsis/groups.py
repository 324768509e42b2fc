"""Course groups (addressed by group idnumber within the course) and their members."""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, nexsis_op, trim
from nexsis_mock.handlers.nexsis import (
    bad_request,
    conflict,
    find_course,
    find_user,
    ident,
    not_found,
    shorten,
    text,
)
from nexsis_mock.store.records import Course, Group


def group_row(group: Group) -> dict[str, Any]:
    return {"groupid": group.idnumber, "name": group.name, "description": group.description}


def find_group(ctx: Ctx, course: Course, params: dict[str, Any]) -> Group:
    idnumber = ident(params, "groupid")
    group = ctx.state.group_by_idnumber(course.id, idnumber)
    if group is None:
        raise not_found(f"Group {shorten(idnumber)!r} not found in course {shorten(course.idnumber)!r}")
    return group


@nexsis_op("listCourseGroups")
def list_course_groups(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    course = find_course(ctx, params)
    groups = ctx.state.groups_by_course.get(course.id, {})
    return [group_row(g) for g in sorted(groups.values(), key=lambda g: g.id)]


@nexsis_op("getCourseGroup")
def get_course_group(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    course = find_course(ctx, params)
    return group_row(find_group(ctx, course, params))


@nexsis_op("putCourseGroup", write=True)
def put_course_group(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    course = find_course(ctx, params)
    idnumber = ident(params, "groupid", create=True)
    if len(idnumber) > 100:
        raise bad_request("groupid is too long (at most 100 characters)")
    name = text(params, "name", limit=254)
    description = text(params, "description", limit=65535)
    if name is not None:
        # Empty is a name: Moodle's groups_create_group and groups_update_group refuse none (E29).
        name = trim(name)
    group = state.group_by_idnumber(course.id, idnumber)
    if name is None and group is None:
        # Moodle needs a group name; the plugin has the external id to give it (E29).
        name = trim(idnumber)
    if name is not None:
        other = state.group_named(course.id, name)
        if other is not None and other is not group:
            raise conflict(
                f"A group named {shorten(name)!r} already exists in course {shorten(course.idnumber)!r}"
            )
    if group is None:
        assert name is not None
        group = Group(
            id=state.next_id("group"),
            courseid=course.id,
            name=name,
            idnumber=idnumber,
            description=description or "",
            timecreated=ctx.now,
            timemodified=ctx.now,
        )
        state.add_group(group)
        return group_row(group)
    if name is not None:
        state.rename_group(group, name)
    if description is not None:
        state.update(group, description=description)
    state.update(group, timemodified=ctx.now)
    return group_row(group)


@nexsis_op("deleteCourseGroup", write=True)
def delete_course_group(ctx: Ctx, params: dict[str, Any]) -> None:
    course = find_course(ctx, params)
    ctx.state.delete_group(find_group(ctx, course, params).id)
    return None


@nexsis_op("addGroupMember", write=True)
def add_group_member(ctx: Ctx, params: dict[str, Any]) -> None:
    course = find_course(ctx, params)
    group = find_group(ctx, course, params)
    user = find_user(ctx, params)
    if not ctx.state.is_enrolled(user.id, course.id):
        raise conflict(
            f"User {shorten(user.idnumber)!r} is not enrolled in course "
            f"{shorten(course.idnumber)!r}; only enrolled users can join its groups"
        )
    ctx.state.add_group_member(group.id, user.id)
    return None


@nexsis_op("removeGroupMember", write=True)
def remove_group_member(ctx: Ctx, params: dict[str, Any]) -> None:
    course = find_course(ctx, params)
    group = find_group(ctx, course, params)
    user = find_user(ctx, params)
    if user.id not in group.members:
        raise not_found(
            f"User {shorten(user.idnumber)!r} is not a member of group {shorten(group.idnumber)!r}"
        )
    ctx.state.remove_group_member(group.id, user.id)
    return None
