"""The entry a NexSIS site writes to its log for each authenticated request (`GET /logs`).

Newest first, above the fixed entries of `faults_accept.LOGS` (the class 5 paging faults work on
both). An entry has the fields and texts the mock writes (the reference `nexsis diff` compares
this server with): the operation matched in the spec, "<METHOD> <template> succeeded" or the error
message, the path parameters and the body as compact JSON, the error body, the status.

Reads of the log itself (`getLogs`) are logged too, as the mock logs them: the suite's
`logs_pages_overlap` reads pages of five, so the entry each read adds cannot hide an ignored
offset (`logs_offset_ignored`), as it did with pages of two.
"""

from __future__ import annotations

import json
import re
import time
from functools import cache
from typing import Any
from urllib.parse import unquote

from nexsis_openapi import codec, load_spec
from nexsis_openapi.redact import is_secret_name

PREFIX = "/enrol/nexsis/api/index.php"
_LIMIT = 1000


@cache
def _routes() -> tuple[tuple[str, re.Pattern[str], str, str, tuple[str, ...]], ...]:
    """(method, path regex, template, operationId, path parameter names), in spec order."""
    out = []
    for template, item in load_spec("nexsis")["paths"].items():
        names = tuple(re.findall(r"{(\w+)}", template))
        regex = re.compile("^" + re.sub(r"{\w+}", "([^/]+)", template) + "$")
        for method, op in item.items():
            if isinstance(op, dict) and "operationId" in op:
                out.append((method.upper(), regex, template, op["operationId"], names))
    return tuple(out)


def _match(method: str, relative: str) -> tuple[str, str, dict[str, str]] | None:
    """The first operation of the spec the request hits: template, operationId, path parameters."""
    for op_method, regex, template, operation_id, names in _routes():
        m = regex.match(relative)
        if op_method == method and m:
            return template, operation_id, {n: unquote(v) for n, v in zip(names, m.groups(), strict=True)}
    return None


def _compact(value: Any) -> str:
    if value is None:
        return ""
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= _LIMIT else text[:_LIMIT] + "..."


def _body(raw: bytes, content_type: str) -> dict[str, Any]:
    try:
        if content_type == "application/json":
            value = json.loads(raw) if raw else {}
        elif content_type == "application/x-www-form-urlencoded":
            value = codec.decode(raw)
        else:
            return {}
    except (ValueError, codec.CodecError):
        return {}
    return value if isinstance(value, dict) else {}


def record(st: Any, method: str, path: str, query: dict[str, str], raw: bytes, content_type: str,
           status: int, answer: bytes) -> None:
    """Append the entry of one answered request (no entry for a path of no operation)."""
    found = _match(method, path[len(PREFIX) :])
    if found is None:
        return
    template, operation_id, params = found
    fields = {k: v for k, v in {**query, **_body(raw, content_type)}.items() if not is_secret_name(k)}
    error: Any = None
    if status >= 400:
        try:
            error = json.loads(answer)
        except ValueError:
            error = answer.decode("utf-8", "replace")
    if status < 400:
        level, message = "info", f"{method} {template} succeeded"
    else:
        level = "error" if status in (401, 403) or status >= 500 else "warning"
        message = error.get("message", "") if isinstance(error, dict) else ""
    st.log_next += 1
    st.request_log.insert(
        0,
        {
            "id": str(st.log_next),
            "date_created": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "level": level,
            "message": message,
            "detail": operation_id,
            "params": _compact(params or None),
            "request_method": method,
            "request_url": path[:2048],
            "request_body": _compact(fields or None),
            "response_body": _compact(error) if status >= 400 else "",
            "response_status_code": status,
            "ip": "127.0.0.1",
            "user_agent": "Unknown User Agent",
        },
    )
