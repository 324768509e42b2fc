"""Metalinks: enrol_meta instances that mirror a child course's enrolments into a parent course."""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, nexsis_op, trim
from nexsis_mock.handlers.nexsis import bad_request, conflict, find_course, not_found, shorten, text
from nexsis_mock.store.records import Course, Group, MetaLink

_NULLS = [
    "customint3",
    "customint4",
    "customint5",
    "customint6",
    "customint7",
    "customint8",
    "customchar1",
    "customchar2",
    "customchar3",
    "customdesc1",
    "customdesc2",
    "customtext1",
    "customtext2",
    "customtext3",
]


def metalink_row(link: MetaLink) -> dict[str, Any]:
    row: dict[str, Any] = {
        "id": str(link.id),
        "enrol": "meta",
        "status": "0",
        "courseid": str(link.courseid),
        "sortorder": str(link.sortorder),
        "name": None,
        "enrolperiod": "0",
        "enrolstartdate": "0",
        "enrolenddate": "0",
        "expirynotify": "0",
        "expirythreshold": "0",
        "notifyall": "0",
        "password": None,
        "cost": None,
        "currency": None,
        "roleid": "0",
        "customint1": str(link.customint1),
        "customint2": None if link.customint2 is None else str(link.customint2),
    }
    row.update(dict.fromkeys(_NULLS))
    row["timecreated"] = str(link.timecreated)
    row["timemodified"] = str(link.timemodified)
    return row


def _courses(ctx: Ctx, params: dict[str, Any]) -> tuple[Course, Course]:
    return find_course(ctx, params, "parentid"), find_course(ctx, params, "childid")


def _find(ctx: Ctx, parent: Course, child: Course) -> MetaLink:
    link = ctx.state.meta_by_parent.get(parent.id, {}).get(child.id)
    if link is None:
        raise not_found(
            f"No metalink from course {shorten(parent.idnumber)!r} to {shorten(child.idnumber)!r}"
        )
    return link


@nexsis_op("getMetalink")
def get_metalink(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    parent, child = _courses(ctx, params)
    return metalink_row(_find(ctx, parent, child))


def _target_group(ctx: Ctx, parent: Course, params: dict[str, Any]) -> int | None:
    state = ctx.state
    mode = trim(text(params, "group", limit=50) or "")
    name = trim(text(params, "groupname", limit=254) or "")
    idnumber = trim(text(params, "groupid", limit=100) or "")
    if not mode and not idnumber:
        return None
    if idnumber:
        group = state.group_by_idnumber(parent.id, idnumber)
        if group is not None:
            return group.id
        if mode != "new":
            raise not_found(f"Group {shorten(idnumber)!r} not found in course {shorten(parent.idnumber)!r}")
    if mode != "new":
        raise bad_request("group must be 'new' (with groupname) or name an existing group through groupid")
    if not name:
        raise bad_request("groupname is required when group is 'new'")
    existing = state.group_named(parent.id, name)
    if existing is not None:
        return existing.id  # PUT is idempotent: the group made by an earlier identical call
    group = Group(
        id=state.next_id("group"),
        courseid=parent.id,
        name=name,
        idnumber=idnumber,
        timecreated=ctx.now,
        timemodified=ctx.now,
    )
    state.add_group(group)
    return group.id


@nexsis_op("putMetalink", write=True)
def put_metalink(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    parent, child = _courses(ctx, params)
    if parent.id == child.id:
        raise bad_request("A course cannot be metalinked to itself")
    groupid = _target_group(ctx, parent, params)
    link = state.meta_by_parent.get(parent.id, {}).get(child.id)
    if link is not None:
        if groupid is not None and groupid != link.customint2:
            state.update(link, customint2=groupid)
            state.update(link, timemodified=ctx.now)
            for userid in list(state.enrol_by_course.get(parent.id, {})):
                if any(
                    e.plugin == "meta" and e.instance == link.id for e in state.enrolments(userid, parent.id)
                ):
                    state.add_group_member(groupid, userid)
        return metalink_row(link)
    if state.would_cycle(parent.id, child.id):
        raise conflict(
            f"Linking {shorten(child.idnumber)!r} into {shorten(parent.idnumber)!r} would create a loop", 409
        )
    sortorder = len(state.meta_by_parent.get(parent.id, {})) + 2
    link = MetaLink(
        id=state.next_id("metalink"),
        courseid=parent.id,
        customint1=child.id,
        customint2=groupid,
        sortorder=sortorder,
        timecreated=ctx.now,
        timemodified=ctx.now,
    )
    state.add_metalink(link, ctx.now)
    return metalink_row(link)


@nexsis_op("deleteMetalink", write=True)
def delete_metalink(ctx: Ctx, params: dict[str, Any]) -> None:
    parent, child = _courses(ctx, params)
    ctx.state.delete_metalink(_find(ctx, parent, child))
    return None
