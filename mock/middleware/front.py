"""The outermost ASGI layer: limits, server.php routing, fault injection and the journal.

It sits in front of the Connexion app because all four concern the raw request: the body limit
must stop reading before anything buffers, server.php must be rewritten before Connexion routes,
faults must fire before any validation, and the journal must see what the client really sent.

server.php routing: the body is read once (bounded), query and form are decoded with the PHP
codec and merged as Moodle does, and the request continues as ``POST
/webservice/rest/server.php#<wsfunction>?wstoken=...`` with the decoded form left in the scope, so
Connexion's security checks the token, its router picks the function's operation, and its
validator checks the parameters against that function's schema. Missing and unknown functions
never reach Connexion: Moodle checks the token first, then answers ``invalidparameter`` /
``invalidrecordunknown``.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
import typing as t
from urllib.parse import quote

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nexsis_openapi import codec

from .dispatch import SCOPE_WS, dumps
from .errors import ERROR_CODES, detail_header
from .faults import FaultRule, FaultStore
from .journal import Journal
from .limits import BodyTooLarge, LimitedReceive, LimitExceeded, check_encoding, declared_length, read_body
from .moodle import INVALID_PARAMETER, WS_PATH, WSCall, render
from .operations import OperationRouter
from .validation import SCOPE_FORM

__all__ = ["ADMIN_PREFIX", "NEXSIS_PREFIX", "MockFront"]

log = logging.getLogger("nexsis_mock")

NEXSIS_PREFIX = "/enrol/nexsis/api/index.php"
ADMIN_PREFIX = "/__admin"
_ADMIN_OPEN = (ADMIN_PREFIX + "/ui", ADMIN_PREFIX + "/openapi.json", ADMIN_PREFIX + "/openapi.yaml")
_FORM = "application/x-www-form-urlencoded"
_JSON_FORMAT = re.compile(rb"(?:^|&)moodlewsrestformat=json(?:&|$)")


class _Recorder:
    """Wraps ``send`` to note the status and keep a prefix of the response body."""

    __slots__ = ("body", "content_type", "keep", "send", "started", "status")

    def __init__(self, send: Send, keep: int) -> None:
        self.send = send
        self.keep = keep
        self.status = 0
        self.content_type = ""
        self.body = bytearray()
        self.started = False

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.started = True
            self.status = message["status"]
            for name, value in message.get("headers", ()):
                if name == b"content-type":
                    self.content_type = value.decode("latin-1")
        elif message["type"] == "http.response.body" and len(self.body) < self.keep:
            self.body += message.get("body", b"")[: self.keep - len(self.body)]
        await self.send(message)


class _Plain:
    """The router interface over the whole Connexion app (every layer, nothing precomposed)."""

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send, base_path: str = "") -> None:
        await self.app(scope, receive, send)


class _XmlAnswer:
    """Turns the JSON answer of a WS operation into Moodle's XML when the call did not ask for JSON.

    Inside Connexion every WS answer is JSON, so response validation always applies; the client's
    format is a property of the wire, applied here on the way out.
    """

    __slots__ = ("body", "send", "start")

    def __init__(self, send: Send) -> None:
        self.send = send
        self.start: Message | None = None
        self.body = bytearray()

    @property
    def started(self) -> bool:
        return self.start is not None or getattr(self.send, "started", False)

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.start = message
            return
        if message["type"] != "http.response.body" or self.start is None:
            await self.send(message)
            return
        self.body += message.get("body", b"")
        if message.get("more_body", False):
            return
        start, self.start = self.start, None
        headers = dict(start.get("headers", ()))
        if start["status"] == 200 and headers.get(b"content-type", b"").startswith(b"application/json"):
            value = orjson.loads(bytes(self.body)) if self.body else None
            content, xml_headers = render(value, "xml")
            raw = [(k, v) for k, v in start.get("headers", ())
                   if k not in (b"content-type", b"content-length")]
            raw += [(b"content-type", xml_headers["Content-Type"].encode()),
                    (b"content-length", str(len(content)).encode())]
            start = {**start, "headers": raw}
            self.body = bytearray(content)
        await self.send(start)
        await self.send({"type": "http.response.body", "body": bytes(self.body)})


async def _respond(send: Send, status: int, body: bytes, headers: dict[str, str]) -> None:
    raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


async def _nexsis_error(send: Send, status: int, message: str) -> None:
    body = dumps({"error": ERROR_CODES.get(status, "error"), "message": message})
    await _respond(send, status, body, {"content-type": "application/json; charset=utf-8"})


async def _ws_answer(send: Send, envelope: dict[str, t.Any], fmt: str, detail: str | None = None) -> None:
    body, headers = render(envelope, fmt)
    await _respond(send, 200, body, {**headers, **(detail_header(detail) if detail else {})})


def _drop(receive: Receive) -> bool:
    """Close the client's connection without an answer; False when the server hides its transport."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        return False
    transport.close()
    cycle.disconnected = True  # uvicorn then neither answers 500 nor logs an error
    return True


class MockFront:
    """See the module docstring; one instance wraps the Connexion app of one server process."""

    def __init__(self, app: ASGIApp, *, service: t.Any, journal: Journal, faults: FaultStore,
                 ws_functions: t.Iterable[str], max_body: int, admin_token: str | None = None,
                 router: OperationRouter | None = None) -> None:
        self.app = app
        #: Serves NexSIS and web-service operations; without one, the Connexion app does.
        self.router = router or _Plain(app)
        self.service = service
        self.journal = journal
        self.faults = faults
        self.ws_functions = frozenset(ws_functions)
        self.max_body = max_body
        self.admin_token = admin_token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        is_ws = path == WS_PATH
        if not is_ws and not path.startswith(NEXSIS_PREFIX):
            if path.startswith(ADMIN_PREFIX) and self.admin_token and not path.startswith(_ADMIN_OPEN) \
                    and not self._admin_allowed(scope):
                await _nexsis_error(send, 401, "the admin API needs 'Authorization: Bearer <admin token>'")
                return
            await self.app(scope, receive, send)
            return

        started = time.perf_counter()
        recorder = _Recorder(send, self.journal.keep)
        state: dict[str, t.Any] = {"body": b"", "size": 0, "wsfunction": None, "fault": None}
        try:
            if is_ws:
                await self._ws(scope, receive, recorder, state)
            else:
                await self._nexsis(scope, receive, recorder, state)
        finally:
            if self.journal.enabled and recorder.started:
                body = state["body"]
                if isinstance(body, LimitedReceive):
                    state["size"], body = body.size, bytes(body.prefix)
                self.journal.record(
                    timestamp=time.time(), method=scope["method"], path=path,
                    query=scope.get("query_string", b""), content_type=self._content_type(scope),
                    body=body, body_size=state["size"], wsfunction=state["wsfunction"],
                    status=recorder.status, response=bytes(recorder.body),
                    response_type=recorder.content_type,
                    duration_ms=(time.perf_counter() - started) * 1000, fault=state["fault"])

    # -- NexSIS -------------------------------------------------------------------------------
    async def _nexsis(self, scope: Scope, receive: Receive, send: Send, state: dict[str, t.Any]) -> None:
        try:
            check_encoding(scope)
            length = declared_length(scope)
            if length is not None and length > self.max_body:
                state["size"] = length
                raise BodyTooLarge(f"the request body exceeds the mock's limit of {self.max_body} bytes")
        except LimitExceeded as exc:
            await _nexsis_error(send, exc.status, exc.message)
            return
        limited = LimitedReceive(receive, self.max_body, self.journal.keep)
        state["body"] = limited
        if self.faults and await self._fault(scope, receive, send, state, None, "json"):
            return
        await self.router(scope, limited, send, NEXSIS_PREFIX)

    # -- Moodle web services ----------------------------------------------------------------
    async def _ws(self, scope: Scope, receive: Receive, send: Send, state: dict[str, t.Any]) -> None:
        query_raw = scope.get("query_string", b"")
        try:
            query = codec.decode(query_raw) if query_raw else {}
        except codec.CodecError as exc:
            await _ws_answer(send, INVALID_PARAMETER, "xml", f"query string: {exc}")
            return
        fmt = query.get("moodlewsrestformat") if query.get("moodlewsrestformat") in ("json", "xml") else "xml"
        try:
            raw = await read_body(receive, self.max_body) if scope["method"] == "POST" else b""
        except LimitExceeded as exc:
            state["size"] = self.max_body
            await _ws_answer(send, INVALID_PARAMETER, fmt, exc.message)
            return
        state["body"], state["size"] = raw[: self.journal.keep], len(raw)
        body: dict[str, t.Any] | None = None
        if raw and self._content_type(scope).split(";")[0].strip().lower() == _FORM:
            try:
                body = codec.decode(raw)
            except codec.CodecError as exc:
                # PHP would still have parsed the leading fields, so honour a format found there.
                if _JSON_FORMAT.search(raw):
                    fmt = "json"
                await _ws_answer(send, INVALID_PARAMETER, fmt, f"form body: {exc}")
                return
        call = WSCall.from_parts(query, body)
        state["wsfunction"] = call.function
        if self.faults and await self._fault(scope, receive, send, state, call.function, call.format):
            return
        if call.function not in self.ws_functions:
            # Functions the spec does not describe still have Moodle's answers (invalidtoken,
            # invalidparameter, accessexception for a real function outside the token's service,
            # invalidrecordunknown): the domain knows which, so it decides.
            result = self.service.call("moodle-ws", call.function or "", {}, call.token)
            await _ws_answer(send, result.body, call.format)
            return
        if call.format != "json":
            send = _XmlAnswer(send)
        await self.router(self._ws_scope(scope, call), self._replay(call.function, receive), send)

    @staticmethod
    def _ws_scope(scope: Scope, call: WSCall) -> Scope:
        routed = dict(scope)
        path = f"{WS_PATH}#{call.function}"
        routed["method"] = "POST"
        routed["path"] = path
        routed["raw_path"] = path.encode()
        token = b"" if call.token is None else b"wstoken=" + quote(call.token, safe="").encode()
        routed["query_string"] = token
        placeholder = f"wsfunction={call.function}".encode()
        routed["headers"] = [(k, v) for k, v in scope["headers"]
                             if k not in (b"content-type", b"content-length", b"transfer-encoding")]
        routed["headers"] += [(b"content-type", _FORM.encode()),
                              (b"content-length", str(len(placeholder)).encode())]
        # The contract requires moodlewsrestformat=json; the real format is kept in the WSCall.
        routed[SCOPE_FORM] = {**call.params, "wsfunction": call.function, "moodlewsrestformat": "json"}
        routed[SCOPE_WS] = WSCall(params=call.params, function=call.function, token=call.token,
                                  format="json", problem=call.problem, settings=call.settings)
        return routed

    @staticmethod
    def _replay(function: str, receive: Receive) -> Receive:
        messages = [{"type": "http.request", "body": f"wsfunction={function}".encode(), "more_body": False}]

        async def replay() -> Message:
            return messages.pop() if messages else await receive()

        return replay

    # -- faults -----------------------------------------------------------------------------
    async def _fault(self, scope: Scope, receive: Receive, send: Send, state: dict[str, t.Any],
                     wsfunction: str | None, fmt: str) -> bool:
        rule: FaultRule | None = self.faults.take(scope["method"], scope["path"], wsfunction)
        if rule is None:
            return False
        state["fault"] = f"{rule.action}#{rule.id}"
        if rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        if rule.drop:
            if not _drop(receive):
                raise ConnectionAbortedError("fault injection: connection dropped")
            return True
        if rule.moodle_exception is not None:
            await _ws_answer(send, rule.moodle_exception, fmt, f"injected by fault rule {rule.id}")
            return True
        if rule.status is not None:
            body = rule.body if rule.body is not None else {
                "error": ERROR_CODES.get(rule.status, "injected_fault"),
                "message": f"fault injected by the mock (rule {rule.id})"}
            await _respond(send, rule.status, dumps(body),
                           {"content-type": "application/json; charset=utf-8",
                            **detail_header(f"injected by fault rule {rule.id}")})
            return True
        return False

    # -- helpers ----------------------------------------------------------------------------
    @staticmethod
    def _content_type(scope: Scope) -> str:
        for name, value in scope["headers"]:
            if name == b"content-type":
                return value.decode("latin-1")
        return ""

    def _admin_allowed(self, scope: Scope) -> bool:
        import hmac

        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                expected = (self.admin_token or "").encode()
                return scheme.lower() == "bearer" and hmac.compare_digest(token.strip().encode(), expected)
        return False
