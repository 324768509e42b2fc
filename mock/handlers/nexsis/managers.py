"""Direct managers: who a user reports to, with the manager's permissions as a bit mask.

Bits: allocate programs = 1, view reports = 2, be notified = 4 (the document's example: only
`perm_be_notified` set gives permissions 4).
"""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, nexsis_op
from nexsis_mock.handlers.nexsis import bad_request, find_user, flag, iso, not_found, shorten
from nexsis_mock.handlers.nexsis.programs import nexsis_actor
from nexsis_mock.store.records import ManagerLink

PERMISSION_BITS = {"perm_allocate_programs": 1, "perm_view_reports": 2, "perm_be_notified": 4}


def manager_row(ctx: Ctx, link: ManagerLink) -> dict[str, Any]:
    users = ctx.state.users
    return {
        "id": str(link.id),
        "userid": users[link.userid].idnumber,
        "managerid": users[link.managerid].idnumber,
        "tenantid": str(link.tenantid),
        "permissions": str(link.permissions),
        "timecreated": iso(link.timecreated),
        "timemodified": iso(link.timemodified),
        "usermodified": 0,
    }


def manager_put_row(ctx: Ctx, link: ManagerLink) -> dict[str, Any]:
    users = ctx.state.users
    return {
        "id": link.id,
        "userid": users[link.userid].idnumber,
        "managerid": users[link.managerid].idnumber,
        "tenantid": link.tenantid,
        "permissions": link.permissions,
        "timecreated": iso(link.timecreated),
        "timemodified": iso(link.timemodified),
        "usermodified": str(link.usermodified),
    }


@nexsis_op("listManagers")
def list_managers(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    user = find_user(ctx, params)
    links = ctx.state.managers_by_user.get(user.id, {}).values()
    return [manager_row(ctx, link) for link in sorted(links, key=lambda link: link.id)]


@nexsis_op("putManager", write=True)
def put_manager(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    user = find_user(ctx, params)
    manager = find_user(ctx, params, "managerid")
    if manager.id == user.id:
        raise bad_request("A user cannot be their own manager")
    keep = flag(params, "keepexisting", default=True)
    permissions = sum(bit for name, bit in PERMISSION_BITS.items() if flag(params, name))
    if not keep:
        for other in list(state.managers_by_user.get(user.id, {}).values()):
            if other.managerid != manager.id:
                state.delete_manager_link(other)
    link = state.managers_by_user.get(user.id, {}).get(manager.id)
    if link is None:
        link = ManagerLink(
            id=state.next_id("manager"),
            userid=user.id,
            managerid=manager.id,
            permissions=permissions,
            timecreated=ctx.now,
            timemodified=ctx.now,
            usermodified=nexsis_actor(ctx),
        )
        state.add_manager_link(link)
    else:
        state.update(link, permissions=permissions)
        state.update(link, timemodified=ctx.now)
        state.update(link, usermodified=nexsis_actor(ctx))
    return manager_put_row(ctx, link)


@nexsis_op("deleteManager", write=True)
def delete_manager(ctx: Ctx, params: dict[str, Any]) -> None:
    user = find_user(ctx, params)
    manager = find_user(ctx, params, "managerid")
    link = ctx.state.managers_by_user.get(user.id, {}).get(manager.id)
    if link is None:
        raise not_found(f"User {shorten(manager.idnumber)!r} is not a manager of {shorten(user.idnumber)!r}")
    ctx.state.delete_manager_link(link)
    return None
