"""NexSIS logs, newest first (the document's example shows the latest entry), filterable by level."""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import Ctx, nexsis_op
from nexsis_mock.handlers.nexsis import bad_request, shorten
from nexsis_mock.store.records import LogEntry

LEVELS = ("fatal", "error", "warning", "info")
DEFAULT_LIMIT = 100
MAX_LIMIT = 10000


def log_row(entry: LogEntry) -> dict[str, Any]:
    return {
        "id": str(entry.id),
        "date_created": entry.date_created,
        "level": entry.level,
        "message": entry.message,
        "detail": entry.detail,
        "params": entry.params,
        "request_method": entry.request_method,
        "request_url": entry.request_url,
        "request_body": entry.request_body,
        "response_body": entry.response_body,
        "response_status_code": entry.response_status_code,
        "ip": entry.ip,
        "user_agent": entry.user_agent,
    }


def _count(params: dict[str, Any], name: str, default: int, minimum: int) -> int:
    value = params.get(name)
    if value is None or value == "":
        return default
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise bad_request(f"{name} must be an integer >= {minimum}, not {shorten(value)!r}")
    return value


def _levels(params: dict[str, Any]) -> set[str] | None:
    value = params.get("level")
    if value is None or value == "" or value == []:
        return None
    items = value if isinstance(value, list) else str(value).split(",")
    levels = {str(item).strip().lower() for item in items if str(item).strip()}
    unknown = levels - set(LEVELS)
    if unknown:
        raise bad_request(
            f"Unknown log level(s) {', '.join(sorted(shorten(u, 20) for u in unknown))}; "
            f"use {','.join(LEVELS)}"
        )
    return levels


@nexsis_op("getLogs")
def get_logs(ctx: Ctx, params: dict[str, Any]) -> list[dict[str, Any]]:
    limit = min(_count(params, "limit", DEFAULT_LIMIT, 1), MAX_LIMIT)
    offset = _count(params, "offset", 0, 0)
    levels = _levels(params)
    rows: list[dict[str, Any]] = []
    skipped = 0
    for entry in reversed(ctx.state.log_entries()):
        if levels is not None and entry.level not in levels:
            continue
        if skipped < offset:
            skipped += 1
            continue
        rows.append(log_row(entry))
        if len(rows) >= limit:
            break
    return rows
