"""Users: get, create/update, delete with Moodle's cascade."""

from __future__ import annotations

import re
import typing as t
from typing import Any

from nexsis_mock.handlers import Ctx, nexsis_op, trim
from nexsis_mock.handlers.nexsis import bad_request, conflict, find_user, ident, shorten, text
from nexsis_mock.store.records import User

#: Moodle's PARAM_USERNAME: lower case, no spaces; letters, digits and _ - . @ only. Empty is
#: allowed: user_create_user refuses a username only when cleaning would change it.
_USERNAME_RE = re.compile(r"^[a-z0-9_.@-]*$")
#: What PARAM_USERNAME cleaning removes (after lower-casing).
_NOT_USERNAME_RE = re.compile(r"[^a-z0-9_.@-]")
#: The optional text fields of a user, in the order they are checked.
_FIELDS = ("firstname", "lastname", "email")


def user_row(user: User) -> dict[str, Any]:
    return {
        "userid": user.idnumber,
        "username": user.username,
        "firstname": user.firstname,
        "lastname": user.lastname,
        "email": user.email,
    }


@nexsis_op("getUser")
def get_user(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    return user_row(find_user(ctx, params))


@nexsis_op("putUser", write=True)
def put_user(ctx: Ctx, params: dict[str, Any]) -> dict[str, Any]:
    state = ctx.state
    idnumber = ident(params, "userid", create=True)
    username = text(params, "username", limit=100)
    uid = state.user_by_idnumber.get(idnumber)
    if username is None and uid is None:
        # Moodle needs a username to create a user; the plugin has the external id to give it,
        # cleaned as PARAM_USERNAME cleans (lower case, only the characters a username may hold).
        username = _NOT_USERNAME_RE.sub("", trim(idnumber).lower())
    if username is not None:
        username = trim(username).lower()
        if not _USERNAME_RE.match(username):
            raise bad_request(
                f"username {shorten(username)!r} is invalid: use lower-case letters, digits and _ - . @ only"
            )
        owner = state.user_by_username.get(username)
        if owner is not None and state.users[owner].idnumber != idnumber:
            raise conflict(f"Username {shorten(username)!r} is already used by another user")
    # The fields given, trimmed, in the order they are checked and set (one pass: a PUT is the
    # common write of a synchronisation run).
    changes: dict[str, str | int] = {}
    for name in _FIELDS:
        value = text(params, name, limit=100)
        if value is not None:
            changes[name] = trim(value)
    if uid is None:
        assert username is not None
        user = User(
            id=state.next_id("user"),
            username=username,
            idnumber=idnumber,
            firstname=t.cast(str, changes.get("firstname", "")),
            lastname=t.cast(str, changes.get("lastname", "")),
            email=t.cast(str, changes.get("email", "")),
            auth="nexsis",
            timecreated=ctx.now,
            timemodified=ctx.now,
        )
        state.add_user(user)
        return user_row(user)
    user = state.users[uid]
    if username is not None:
        changes["username"] = username
    if changes:
        changes["timemodified"] = ctx.now
        state.update_user(user, **changes)
    return user_row(user)


@nexsis_op("deleteUser", write=True)
def delete_user(ctx: Ctx, params: dict[str, Any]) -> None:
    user = find_user(ctx, params)
    if user.siteadmin:
        raise conflict("A site administrator cannot be deleted")
    ctx.state.delete_user(user.id)
    return None
