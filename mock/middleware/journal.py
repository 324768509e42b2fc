"""The request journal: what a client called, so a test can verify it (WireMock's request log).

Recording must cost next to nothing on the hot path, so an entry keeps raw bytes (body prefixes
capped at ``keep`` bytes) in a ring buffer of fixed size; decoding, redaction and filtering happen
only when someone reads the journal through the admin API. Tokens are masked at read time with
``nexsis_openapi.redact``, and the ``Authorization`` header is never recorded at all.
"""

from __future__ import annotations

import itertools
import re
import time
import typing as t
from collections import deque
from dataclasses import dataclass

import orjson

from nexsis_openapi import codec
from nexsis_openapi.redact import redact, redact_text

__all__ = ["DEFAULT_JOURNAL_SIZE", "Entry", "Journal"]

DEFAULT_JOURNAL_SIZE = 1000
#: Bytes of each request and response body kept for the journal.
DEFAULT_KEEP = 16 * 1024


@dataclass(slots=True)
class Entry:
    id: int
    timestamp: float
    method: str
    path: str
    query: bytes
    content_type: str
    body: bytes
    body_size: int
    wsfunction: str | None
    status: int
    response: bytes
    response_type: str
    duration_ms: float
    fault: str | None = None


def _decode_body(raw: bytes, content_type: str, truncated: bool) -> t.Any:
    if not raw:
        return None
    if truncated:
        return redact_text(raw.decode("utf-8", "replace")) + " [truncated]"
    if "json" in content_type:
        try:
            return redact(orjson.loads(raw))
        except orjson.JSONDecodeError:
            pass
    elif "x-www-form-urlencoded" in content_type:
        try:
            return redact(codec.decode(raw))
        except codec.CodecError:
            pass
    return redact_text(raw.decode("utf-8", "replace"))


class Journal:
    """A bounded, append-only log of API requests (admin and UI requests are not recorded)."""

    def __init__(self, size: int = DEFAULT_JOURNAL_SIZE, keep: int = DEFAULT_KEEP) -> None:
        self.size = size
        self.keep = keep
        self._entries: deque[Entry] = deque(maxlen=max(size, 0) or None)
        self._ids = itertools.count(1)
        self.enabled = size > 0

    def record(self, **fields: t.Any) -> None:
        if self.enabled:
            self._entries.append(Entry(id=next(self._ids), **fields))

    def clear(self) -> int:
        count = len(self._entries)
        self._entries.clear()
        return count

    def __len__(self) -> int:
        return len(self._entries)

    def select(self, *, method: str | None = None, path: str | None = None,
               path_regex: str | None = None, wsfunction: str | None = None,
               status: int | None = None, limit: int | None = None) -> list[Entry]:
        """Entries matching every given filter, oldest first (the last ``limit`` when given)."""
        pattern = re.compile(path_regex) if path_regex else None
        out = [e for e in self._entries
               if (method is None or e.method == method.upper())
               and (path is None or e.path == path)
               and (pattern is None or pattern.search(e.path))
               and (wsfunction is None or e.wsfunction == wsfunction)
               and (status is None or e.status == status)]
        return out[-limit:] if limit else out

    def as_dict(self, entry: Entry) -> dict[str, t.Any]:
        """The admin API's view of an entry: decoded, redacted, JSON-able."""
        query: t.Any = None
        if entry.query:
            try:
                query = redact(codec.decode(entry.query))
            except codec.CodecError:
                query = redact_text(entry.query.decode("latin-1"))
        return {
            "id": entry.id,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(entry.timestamp))
                         + f".{int(entry.timestamp % 1 * 1000):03d}Z",
            "method": entry.method,
            "path": entry.path,
            "wsfunction": entry.wsfunction,
            "query": query,
            "body": _decode_body(entry.body, entry.content_type, entry.body_size > len(entry.body)),
            "status": entry.status,
            "response": _decode_body(entry.response, entry.response_type,
                                     len(entry.response) >= self.keep),
            "duration_ms": round(entry.duration_ms, 3),
            "fault": entry.fault,
        }
