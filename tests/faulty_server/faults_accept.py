"""Faults of classes 1 (a valid request refused) and 5 (filters and paging ignored), and `GET /logs`.

Each fault is one realistic way a deployment breaks an integration while every single answer
still looks well formed: a strict parser that refuses a documented form, a filter or paging
parameter that is read but not applied. `app.py` calls the hooks below at the matching step; with
no fault on they change nothing (or, for the settings, do what Moodle does: take them out).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nexsis_openapi.moodle import SETTINGS

FAULTS_ACCEPT = {
    # class 1: a valid request refused
    "form_body_415": "NexSIS PUT answers 415 to a URL-encoded body (only JSON parsed)",
    "query_token_400": "NexSIS PUT answers 400 'unknown parameter token' to the token in the query",
    "iso_millis_400": "putCourse refuses a startdate with milliseconds (2026-01-05T08:00:00.000Z)",
    "ws_body_token_ignored": "Moodle WS reads wstoken from the query string only (invalidtoken)",
    "ws_setting_refused": "Moodle WS treats moodlewssettinglang as an unknown parameter (invalidparameter)",
    # class 5: filters and paging not honoured
    "logs_limit_ignored": "GET /logs answers every entry whatever the limit",
    "logs_offset_ignored": "GET /logs ignores offset: every page is the first page",
    "logs_level_ignored": "GET /logs ignores the level filter",
    "allocation_userids_ignored": "tool_muprog_get_program_allocations ignores userids",
}

LEVELS = ("info", "warning", "error", "info", "fatal", "info", "warning", "info", "error", "info")


def _log(number: int) -> dict[str, Any]:
    return {
        "id": str(2200 - number),
        "date_created": f"2026-11-{1 + number:02d} 08:00:00",
        "level": LEVELS[number % len(LEVELS)],
        "message": f"Log entry {number}",
        "detail": None,
        "params": "",
        "request_method": "",
        "request_url": "",
        "request_body": "",
        "response_body": "",
        "response_status_code": None,
        "ip": "127.0.0.1",
        "user_agent": "faulty",
    }


#: The server's oldest log entries, newest first (ids descending); the entries of the requests it
#: answers come above them (request_log.py).
LOGS = [_log(n) for n in range(len(LEVELS))]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": code, "message": message}, status_code=status)


def nexsis_request(faults: set[str], request: Request) -> Response | None:
    """Refusals a strict NexSIS front makes before reading the body."""
    if request.method == "PUT":
        ctype = request.headers.get("content-type", "").split(";")[0].strip()
        if "form_body_415" in faults and ctype == "application/x-www-form-urlencoded":
            return _error(415, "unsupported_media_type", "Send JSON.")
        if "query_token_400" in faults and "token" in request.query_params:
            return _error(400, "invalid_parameter", "Unknown query parameter: token.")
    return None


def nexsis_body(faults: set[str], kind: str, data: dict[str, Any]) -> Response | None:
    """Refusals of body values a strict date parser makes."""
    start = data.get("startdate")
    if "iso_millis_400" in faults and kind == "course" and isinstance(start, str) and "." in start:
        return _error(400, "invalid_field", "startdate must be YYYY-MM-DDTHH:MM:SS.")
    return None


def logs(faults: set[str], request: Request, entries: list[dict[str, Any]] | None = None) -> Response:
    """GET /logs with `limit`, `offset` and `level` (comma-separated), newest first (of `entries`,
    default `LOGS`)."""
    q = request.query_params
    try:
        limit = int(q["limit"]) if "limit" in q else None
        offset = int(q.get("offset", "0"))
    except ValueError:
        return _error(400, "invalid_parameter", "limit and offset are integers.")
    if (limit is not None and limit < 1) or offset < 0:
        return _error(400, "invalid_parameter", "limit >= 1, offset >= 0.")
    levels = set(q.get("level", "").split(",")) if "level" in q else set()
    if levels - {"fatal", "error", "warning", "info"}:
        return _error(400, "invalid_parameter", "Unknown level.")
    every = LOGS if entries is None else entries
    rows = [r for r in every if not levels or "logs_level_ignored" in faults or r["level"] in levels]
    if "logs_offset_ignored" not in faults:
        rows = rows[offset:]
    if limit is not None and "logs_limit_ignored" not in faults:
        rows = rows[:limit]
    return JSONResponse(rows)


def ws_form(faults: set[str], query: dict[str, Any], form: dict[str, Any]) -> bool:
    """Moodle's reading of the merged form, in place: settings taken out, the token from the query
    only (with a fault). True: the call is refused as an unknown parameter (invalidparameter)."""
    if "ws_body_token_ignored" in faults:
        form["wstoken"] = query.get("wstoken")
    if "ws_setting_refused" in faults and "moodlewssettinglang" in form:
        return True
    for name in SETTINGS:
        form.pop(name, None)
    return False


def allocation_users(faults: set[str], userids: list[int] | None) -> set[int]:
    """The userids filter as applied (empty: all users)."""
    return set() if "allocation_userids_ignored" in faults else set(userids or [])
