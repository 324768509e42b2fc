"""NexSIS REST operations: shared identifier checks, lookups, time formats and routes.

NexSIS addresses everything by external identifiers (Moodle idnumbers); the lookups here turn
them into records through the state's idnumber indexes or answer 404. Identifiers are checked
before any lookup so that absurd input (a thousand characters, a `/`, control characters) gets a
clear 400 instead of reaching an index.
"""

from __future__ import annotations

import math
import re
from typing import Any

from nexsis_mock.handlers import Ctx, NexsisError
from nexsis_mock.handlers.nexsis import times
from nexsis_mock.store.records import Course, User
from nexsis_openapi import load_spec

#: Moodle's idnumber columns are at most 255 characters (course and group: 100).
MAX_ID_LENGTH = 255
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")

def _routes() -> dict[str, tuple[str, str]]:
    spec = load_spec("nexsis")
    return {op["operationId"]: (method.upper(), path) for path, item in spec["paths"].items()
            for method, op in item.items() if isinstance(op, dict) and "operationId" in op}


#: operationId -> (method, path template), for the request fields of log entries: a view of the
#: NexSIS spec (the routes themselves live there), not a table of its own.
ROUTES: dict[str, tuple[str, str]] = _routes()
#: Path parameter names in template order: log entries list them in that order (a set's order
#: changed with the hash seed from one process to the next).
PATH_PARAMS = {op: tuple(re.findall(r"{(\w+)}", path)) for op, (_m, path) in ROUTES.items()}


def shorten(value: Any, limit: int = 60) -> str:
    text = str(value)
    return text if len(text) <= limit else text[:limit] + "..."


def bad_request(message: str) -> NexsisError:
    return NexsisError(400, "invalid_parameter", message)


def not_found(message: str) -> NexsisError:
    return NexsisError(404, "not_found", message)


def conflict(message: str, status: int = 400) -> NexsisError:
    """The request contradicts the site's state. 400 unless the spec lists 409 for the operation:
    the document lists no error codes, and the spec keeps to what a deployment can be expected to send."""
    return NexsisError(status, "conflict", message)


def ident(params: dict[str, Any], name: str, *, create: bool = False) -> str:
    """A path identifier, checked: present, a string, one path segment, sane length.

    An identifier no record can have (blank, too long, with `/` or control characters) is
    *unknown* when looked up (404: the spec's path pattern admits it, so 400 would reject a valid
    request) and *invalid* when a PUT would create a record under it (400).
    """
    value = params.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise bad_request(f"{name} is required and must be a non-empty identifier")
    fail = bad_request if create else not_found
    if not value.strip():
        raise fail(f"{name} is required and must be a non-empty identifier")
    if len(value) > MAX_ID_LENGTH:
        raise fail(f"{name} is too long ({len(value)} characters, at most {MAX_ID_LENGTH})")
    if "/" in value or _CONTROL_RE.search(value):
        raise fail(f"{name} {shorten(value)!r} contains '/' or control characters")
    return value


def find_user(ctx: Ctx, params: dict[str, Any], name: str = "userid") -> User:
    idnumber = ident(params, name)
    uid = ctx.state.user_by_idnumber.get(idnumber)
    if uid is None:
        raise not_found(f"User {shorten(idnumber)!r} not found")
    return ctx.state.users[uid]


def find_course(ctx: Ctx, params: dict[str, Any], name: str = "courseid") -> Course:
    idnumber = ident(params, name)
    cid = ctx.state.course_by_idnumber.get(idnumber)
    if cid is None:
        raise not_found(f"Course {shorten(idnumber)!r} not found")
    return ctx.state.courses[cid]


def text(params: dict[str, Any], name: str, *, limit: int = 1333) -> str | None:
    """An optional text field; numbers are accepted as their text."""
    value = params.get(name)
    if value is None:
        return None
    if type(value) is not str:  # the usual case first: a text field sent as text
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):  # (not a per-call union)
            raise bad_request(f"{name} must be a string")
        value = str(value)
    if len(value) > limit:
        raise bad_request(f"{name} is too long ({len(value)} characters, at most {limit})")
    if "\x00" in value:
        raise bad_request(f"{name} contains a NUL character")
    return value


def flag(params: dict[str, Any], name: str, default: bool = False) -> bool:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    if value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("0", "1", "true", "false"):
        return value.strip().lower() in ("1", "true")
    raise bad_request(f"{name} must be 0, 1, true or false, not {shorten(value)!r}")


def iso(ts: int | None) -> str:
    """Unix time as the document's ISO 8601 form (`2017-08-16T21:09:30+00:00`)."""
    return times.iso(int(ts or 0))


def sql_time(ts: int) -> str:
    return times.sql(int(ts))


def parse_time(value: Any, name: str) -> int:
    """A time field: unix seconds (number or digit text) or date-time text (UTC unless offset).

    Any time the spec's TimeValue allows is taken, as PHP takes it (see `times`): before 1970,
    the year 0000, beyond 3000, a day the month lacks rolled over.
    """
    if isinstance(value, bool):
        raise bad_request(f"{name} must be a date-time or a unix timestamp")
    if isinstance(value, int):
        return times.clamp(value)
    if isinstance(value, float) and math.isfinite(value):
        return times.clamp(int(value))
    if isinstance(value, str):
        text = value.strip()
        if times.DIGITS_RE.match(text):
            return times.from_digits(text)
        seconds = times.from_text(text)
        if seconds is None:
            raise bad_request(f"{name} {shorten(value)!r} is not an ISO 8601 date-time or a unix timestamp")
        return times.clamp(seconds)
    raise bad_request(f"{name} must be a date-time or a unix timestamp")


def opt_time(params: dict[str, Any], name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    return parse_time(value, name)


def s(value: Any) -> str | None:
    """Moodle's database driver returns every column as text; NULL stays null."""
    return None if value is None else str(value)
