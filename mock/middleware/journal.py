"""The request journal: what a client called, so a test can verify it (WireMock's request log).

Recording must cost next to nothing on the hot path, so an entry keeps raw bytes (body prefixes
capped at ``keep`` bytes) in a ring buffer of fixed size; decoding, redaction and filtering happen
only when someone reads the journal through the admin API. Tokens are masked at read time with
``nexsis_openapi.redact``, by the decoded name: query and body parameters, and request headers
(``Authorization``, ``Cookie``, ``X-API-Key`` shown as ``[REDACTED]``: a test can see that a
credential was sent, never which). Every API request is kept, whatever became of it: unmatched
(404, 405, an unknown function), refused (the reason the mock gave: ``X-Mock-Detail`` or the
NexSIS error message) or answered by a fault. Filtering lives in ``journal_query``.
"""

from __future__ import annotations

import itertools
import time
import typing as t
from collections import deque
from dataclasses import dataclass

import orjson
from starlette.types import Message, Send

from nexsis_openapi import codec
from nexsis_openapi.moodle import WS_PATH
from nexsis_openapi.redact import redact, redact_text

__all__ = ["DEFAULT_JOURNAL_SIZE", "Entry", "Recorder", "RequestJournal"]

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
    headers: t.Sequence[tuple[bytes, bytes]] = ()
    operation: str | None = None
    matched: bool = True
    detail: str | None = None
    allow: str | None = None


def _decode_body(raw: bytes, content_type: str, truncated: bool, secrets: tuple[str, ...] = ()) -> t.Any:
    if not raw:
        return None
    if truncated:
        return redact_text(raw.decode("utf-8", "replace"), secrets) + " [truncated]"
    if "json" in content_type:
        try:
            return redact(orjson.loads(raw), secrets)
        except orjson.JSONDecodeError:
            pass
    elif "x-www-form-urlencoded" in content_type:
        try:
            return redact(codec.decode(raw), secrets)
        except codec.CodecError:
            pass
    return redact_text(raw.decode("utf-8", "replace"), secrets)


class Recorder:
    """Wraps ``send`` to note the status and keep a prefix of the response body."""

    __slots__ = ("allow", "body", "content_type", "detail", "keep", "send", "started", "status")

    def __init__(self, send: Send, keep: int) -> None:
        self.send = send
        self.keep = keep
        self.status = 0
        self.content_type = ""
        self.body = b""  # the answer's first ``keep`` bytes (one body message: that very object)
        self.started = False
        self.detail: str | None = None
        self.allow: str | None = None

    def _note_head(self, status: int, headers: t.Iterable[tuple[bytes, bytes]]) -> None:
        """The answer's status and the headers the journal keeps (type, X-Mock-Detail, Allow)."""
        self.started = True
        self.status = status
        for name, value in headers:
            if name == b"content-type":
                self.content_type = value.decode("latin-1")
            elif name == b"x-mock-detail":
                self.detail = value.decode("latin-1")
            elif name == b"allow":
                self.allow = value.decode("latin-1")

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._note_head(message["status"], message.get("headers", ()))
        elif message["type"] == "http.response.body" and len(self.body) < self.keep:
            chunk = bytes(message.get("body", b"")[: self.keep - len(self.body)])
            self.body = self.body + chunk if self.body else chunk
        await self.send(message)

    async def answer(self, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        """A whole answer (``render.respond``): noted as ``__call__`` would, sent as its two messages."""
        self._note_head(status, headers)
        send = self.send
        await send({"type": "http.response.start", "status": status, "headers": headers})
        if len(self.body) < self.keep:
            chunk = bytes(body[: self.keep - len(self.body)])
            self.body = self.body + chunk if self.body else chunk
        await send({"type": "http.response.body", "body": body})


class RequestJournal:
    """A bounded, append-only log of API requests (admin and UI requests are not recorded).

    The request log of the HTTP server (WireMock's), not the state's operation log
    (``nexsis_mock.store.persistence``) nor NexSIS's own ``GET /logs``.
    """

    def __init__(self, size: int = DEFAULT_JOURNAL_SIZE, keep: int = DEFAULT_KEEP) -> None:
        self.size = size
        self.keep = keep
        # Each entry is kept as a plain tuple of Entry's fields (bytes, str, numbers, the headers as
        # a tuple of byte pairs): the cyclic GC untracks such a tuple at its first pass, so the
        # kept entries cost no collection, where 1,000 objects cost every one of them.
        self._entries: deque[tuple[t.Any, ...]] = deque(maxlen=max(size, 0) or None)
        self._ids = itertools.count(1)
        self.enabled = size > 0
        #: The site's tokens (``Service.secrets``), masked in every entry wherever they appear.
        self.secrets: t.Callable[[], t.Iterable[str]] | None = None

    def recorder(self, send: Send) -> Recorder:
        return Recorder(send, self.keep)

    def record_exchange(self, exchange: t.Any, started: float) -> None:
        """The pipeline's request, once answered (an unanswered one, e.g. dropped, is not kept)."""
        recorder = exchange.send
        if not self.enabled or not recorder.started:
            return
        scope = exchange.scope
        endpoint = exchange.endpoint
        body, size = exchange.body, exchange.body_size
        raw_type = exchange.heads.get(b"content-type") if body else None
        content_type = "" if raw_type is None else raw_type.decode("latin-1")
        status = recorder.status
        # Entry's fields in their order (see __init__ on why a tuple).
        self._entries.append((
            next(self._ids), time.time(), scope["method"], scope["path"], scope.get("query_string", b""),
            content_type, body, size, exchange.wsfunction, status, recorder.body,
            recorder.content_type, (time.perf_counter() - started) * 1000, exchange.fault,
            tuple(scope["headers"]), endpoint.operation_id if endpoint else None,
            endpoint is not None or not _unmatched(exchange, status), recorder.detail, recorder.allow))

    def clear(self) -> int:
        count = len(self._entries)
        self._entries.clear()
        return count

    def __len__(self) -> int:
        return len(self._entries)

    def entries(self) -> list[Entry]:
        """The entries, oldest first (a copy: the journal may grow while a query runs)."""
        return [Entry(*fields) for fields in self._entries]

    def as_dict(self, entry: Entry) -> dict[str, t.Any]:
        """The admin API's view of an entry: decoded, redacted, JSON-able."""
        query: t.Any = None
        secrets = tuple(self.secrets()) if self.secrets is not None else ()
        response = _decode_body(entry.response, entry.response_type, len(entry.response) >= self.keep,
                                secrets)
        if entry.query:
            try:
                query = redact(codec.decode(entry.query), secrets)
            except codec.CodecError:
                query = redact_text(entry.query.decode("latin-1"), secrets)
        return {
            "id": entry.id,
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(entry.timestamp))
                         + f".{int(entry.timestamp % 1 * 1000):03d}Z",
            "method": entry.method,
            "path": redact_text(entry.path, secrets) if secrets else entry.path,
            "wsfunction": entry.wsfunction,
            "query": query,
            "body": _decode_body(entry.body, entry.content_type, entry.body_size > len(entry.body), secrets),
            "status": entry.status,
            "response": response,
            "duration_ms": round(entry.duration_ms, 3),
            "fault": entry.fault,
            "operation": entry.operation,
            "outcome": outcome(entry, response),
            "reason": _reason(entry, response),
            "headers": _headers(entry.headers, secrets),
        }


def _unmatched(exchange: t.Any, status: int) -> bool:
    """No operation for it: a NexSIS 404/405 (or trailing-slash 307) routing miss, an unknown function."""
    if exchange.endpoint is not None:
        return False
    if exchange.wsfunction is not None or exchange.scope["path"] == WS_PATH:
        return bool(exchange.wsfunction)
    return status in (307, 404, 405)


def _headers(raw: t.Sequence[tuple[bytes, bytes]], secrets: tuple[str, ...]) -> dict[str, str]:
    """Request headers by (lower-case) name, repeated ones joined, secret-named ones masked."""
    headers: dict[str, str] = {}
    for name, value in raw:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        headers[key] = f"{headers[key]}, {text}" if key in headers else text
    return t.cast(dict[str, str], redact(headers, secrets))


def outcome(entry: Entry, response: t.Any = None) -> str:
    """What became of the request: ``fault``, ``unmatched``, ``refused`` or ``answered``."""
    if entry.fault is not None:
        return "fault"
    if not entry.matched:
        return "unmatched"
    if entry.status >= 400 or entry.detail is not None or _ws_exception(response):
        return "refused"
    return "answered"


def _ws_exception(response: t.Any) -> bool:
    if isinstance(response, dict):
        return "exception" in response and "errorcode" in response
    return isinstance(response, str) and response.lstrip().startswith("<?xml") and "<EXCEPTION" in response


def _reason(entry: Entry, response: t.Any) -> str | None:
    """Why the mock refused (or did not match) the request, as it told the client."""
    if entry.status < 400 and entry.detail is None and not _ws_exception(response):
        return None
    parts = []
    if isinstance(response, dict) and isinstance(response.get("message"), str):
        parts.append(response["message"])
    if entry.detail:
        parts.append(entry.detail)
    if entry.allow:
        parts.append(f"the path has {entry.allow}")
    return "; ".join(parts) or None
