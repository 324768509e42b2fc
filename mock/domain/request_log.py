"""The log entry NexSIS writes for every request (``GET /logs``), built only when read.

The request fields of an entry (method, template, URL) come from the NexSIS spec through the
handlers' route view (``nexsis_mock.handlers.nexsis.ROUTES``).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from nexsis_mock.handlers.nexsis import PATH_PARAMS, ROUTES, sql_time
from nexsis_mock.result import Result
from nexsis_mock.store.records import LogEntry
from nexsis_openapi import NEXSIS_BASE_PATH
from nexsis_openapi.redact import is_secret_name

__all__ = ["RequestLog", "build_deferred", "log_entry", "plain"]

_LOG_BODY_LIMIT = 1000
#: What a deferred entry may keep of its inputs (characters of strings, plus one per item): a few
#: times what its entry shows. An entry over it is built at once, and keeps only its own texts.
KEEP_INPUTS = 4 * _LOG_BODY_LIMIT


def _short_json(value: Any) -> str:
    if value is None:
        return ""
    try:
        text = orjson.dumps(value, default=str).decode()
    except (TypeError, RecursionError):
        text = repr(value)[: _LOG_BODY_LIMIT + 1]
    return text if len(text) <= _LOG_BODY_LIMIT else text[:_LOG_BODY_LIMIT] + "..."


_SCALARS = (int, float, bool, type(None))
_TEXT = {str}


def fits(value: Any, budget: int = KEEP_INPUTS) -> bool:
    """True when ``value`` holds at most ``budget`` characters and items (stops once over it).

    Every NexSIS call asks this of its parameters, which are nearly always a flat mapping of short
    values: that case is one pass without a stack.
    """
    if not value:
        return True
    if type(value) is dict:
        values = value.values()
        if set(map(type, values)) == _TEXT:  # all texts: counted without a Python loop
            return sum(map(len, values)) + 8 * len(value) <= budget
        total = 0
        for item in values:
            if type(item) is str:
                total += len(item)
            elif not isinstance(item, _SCALARS):
                break
        else:
            return total + 8 * len(value) <= budget
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            budget -= len(item)
        elif isinstance(item, dict):
            budget -= len(item)
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            budget -= len(item)
            stack.extend(item)
        else:
            budget -= 8
        if budget < 0:
            return False
    return True


def log_entry(log_id: int, entry: dict[str, Any]) -> LogEntry:
    return LogEntry(
        id=log_id,
        date_created=sql_time(entry["date"]),
        level=entry["level"],
        message=entry["message"],
        detail=entry.get("detail", ""),
        params=entry.get("params", ""),
        request_method=entry.get("request_method", ""),
        request_url=entry.get("request_url", ""),
        request_body=entry.get("request_body", ""),
        response_body=entry.get("response_body", ""),
        response_status_code=entry.get("response_status_code"),
        ip=entry.get("ip", "127.0.0.1"),
        user_agent=entry.get("user_agent", "Unknown User Agent"),
    )


class RequestLog:
    """The log entry NexSIS writes for a request, kept as its inputs until someone reads it.

    Every NexSIS call logs, and very few logs are ever read: building the entry (URL, JSON of the
    parameters, the date text) was a fifth of a GET /user in the profile. The inputs are final
    when this is made (the handler has run; nothing else holds ``params``), so building the entry
    later gives exactly what building it now would.

    Deferring must not keep what the entry would not show: a request carrying a 900 KB field
    the operation ignores would otherwise hold 900 KB per entry until the logs are read (up to
    ``MAX_LOGS`` entries: gigabytes). Inputs over ``KEEP_INPUTS`` are built at once into the
    entry's own texts (each capped at 1000 characters, the URL at 2048) and let go.
    """

    __slots__ = ("body", "built", "now", "operation_id", "params", "request", "status")

    def __init__(self, operation_id: str, params: dict[str, Any], request: dict[str, Any],
                 result: Result, now: int) -> None:
        self.operation_id = operation_id
        self.params = params
        self.request = request
        self.status = result.status
        self.body = result.body if result.status >= 400 else None
        self.now = now
        self.built: dict[str, Any] | None = None
        if (params and not fits(params)) or (request and not fits(request)) or \
                (self.body is not None and not fits(self.body)):
            built = self._build()
            built["request_body"] = built["request_body"][: _LOG_BODY_LIMIT + 3]
            built["user_agent"] = str(built["user_agent"])[:_LOG_BODY_LIMIT]
            self.built, self.params, self.request, self.body = built, {}, {}, None

    def as_dict(self) -> dict[str, Any]:
        return self._build() if self.built is None else dict(self.built)

    def deferred(self, log_id: int) -> tuple[Any, ...]:
        """The entry as ``State.add_deferred_log`` keeps it (``build_deferred`` builds it)."""
        return (log_id, *self.inputs())

    def inputs(self) -> tuple[Any, ...]:
        """``deferred`` without the log id, as ``State.add_request_log`` takes it."""
        return (self.operation_id, self.params, self.request, self.status, self.body, self.now, self.built)

    def _build(self) -> dict[str, Any]:
        return _build(self.operation_id, self.params, self.request, self.status, self.body, self.now)


def build_deferred(inputs: tuple[Any, ...]) -> LogEntry:
    """The ``LogEntry`` of a ``RequestLog.deferred`` tuple."""
    log_id, operation_id, params, request, status, body, now, built = inputs
    if built is None:
        built = _build(operation_id, params, request, status, body, now)
    return log_entry(log_id, built)


def _build(operation_id: str, params: dict[str, Any], request: dict[str, Any], status: int, body: Any,
           now: int) -> dict[str, Any]:
    method, template = ROUTES.get(operation_id, ("", ""))
    path_names = PATH_PARAMS.get(operation_id, ())
    url = request.get("url") or NEXSIS_BASE_PATH + "".join(
        str(params.get(part[1:-1], part)) if part.startswith("{") else part
        for part in _split_template(template)
    )
    # A credential is never logged, however the client spelled its name (``token[]``, `` token``).
    body_params = {k: v for k, v in params.items() if k not in path_names and not is_secret_name(k)}
    if status < 400:
        level, message = "info", f"{method} {template} succeeded"
    else:
        level = "error" if status in (401, 403) or status >= 500 else "warning"
        message = body.get("message", "") if isinstance(body, dict) else ""
    return {
        "date": now,
        "level": level,
        "message": message,
        "detail": operation_id,
        "params": _short_json({k: params[k] for k in path_names if k in params}),
        "request_method": request.get("method") or method,
        "request_url": str(url)[:2048],
        "request_body": request.get("body") or _short_json(body_params or None),
        # Bodies of successful answers are not kept: the document's own log entry leaves them
        # empty, and serialising every list a read returns would dominate the cost of reads.
        "response_body": _short_json(body) if status >= 400 else "",
        "response_status_code": status,
        "ip": request.get("ip") or "127.0.0.1",
        "user_agent": request.get("user_agent") or "Unknown User Agent",
    }


def plain(logs: list[Any]) -> list[dict[str, Any]]:
    """Log entries as dicts, for the operation log (which stores JSON)."""
    return [e.as_dict() if isinstance(e, RequestLog) else e for e in logs]


def _split_template(template: str) -> list[str]:
    return [p for p in re.split(r"({\w+})", template) if p]
