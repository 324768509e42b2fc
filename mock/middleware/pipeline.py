"""The one request path of the mock's APIs: every NexSIS and web-service request takes it.

    limits -> decode -> find the endpoint -> faults -> authenticate -> validate
           -> Service.call -> render -> journal

``Pipeline.__call__`` reads top to bottom as that list; each step is a function of its own module
(``limits``, ``moodle`` for the Moodle call, ``nexsis_mock.endpoints`` for the table, ``faults``,
``auth``, ``validation``/``bodies``, ``render``, ``journal``). Unknown operations, 404 and 405
take the same path as the others (and are journalled and can be faulted like them). Whatever is
not an API request (the admin API, the Swagger UIs, other paths) goes to ``host``, the Connexion
app, unchanged.

Every refusal is an answer in the API's own form: NexSIS ``{"error", "message"}`` with its
status, Moodle's exception envelope with HTTP 200 (in the call's format, the reason in
``X-Mock-Detail``). An exception inside ``Service.call`` is a 500 ``internal_error`` (logged);
if the answer had already started, it is re-raised, never answered twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
import typing as t
from dataclasses import dataclass

from connexion.exceptions import ProblemException
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from nexsis_openapi import codec
from nexsis_openapi.moodle import INVALID_PARAMETER, INVALID_RECORD, INVALID_TOKEN, WS_PATH

from ..endpoints import NEXSIS_PREFIX, Endpoint, EndpointTable, Miss
from ..near_miss import explain, explain_function, explain_refusal
from ..self_url import base_url, redirect_location
from . import bodies
from .auth import Unauthorized, nexsis_credential
from .conformance import nonconforming
from .errors import ERROR_CODES, detail_header
from .faults import FaultStore
from .journal import RequestJournal
from .limits import BodyTooLarge, LimitExceeded, check_encoding, parse_length, read_body
from .moodle import WSCall, decode_call
from .prefer import PreferError, forced_answer, preferences
from .render import NEXSIS_JSON, dumps, encode, head, respond, ws_answer

__all__ = ["Pipeline"]

log = logging.getLogger("nexsis_mock")

_UI_SUFFIXES = ("/ui", "/openapi.json", "/openapi.yaml")


@dataclass(slots=True)
class Exchange:
    """One request on its way through the pipeline: what the journal and the steps share."""

    scope: Scope
    receive: Receive
    send: t.Any  # the journal's recorder (it knows whether the answer started)
    #: Each request header name's first value, looked up once instead of scanned for by each step.
    heads: dict[bytes, bytes]
    body: bytes = b""  # what the journal keeps of the request body (its first bytes)
    body_size: int = 0
    wsfunction: str | None = None
    fault: str | None = None
    endpoint: Endpoint | None = None
    credential: str | None = None  # a web-service call's token, masked in X-Mock-Detail


class Pipeline:
    """The mock's ASGI app for one server process (``nexsis_mock.app.create_app`` builds it)."""

    def __init__(self, host: ASGIApp, *, service: t.Any, table: EndpointTable, journal: RequestJournal,
                 faults: FaultStore, max_body: int, validate_responses: bool = False,
                 threaded: bool = False) -> None:
        self.host = host
        self.service = service
        self.table = table
        self.journal = journal
        self.faults = faults
        self.max_body = max_body
        self.validate_responses = validate_responses
        self.threaded = threaded
        self.public_url: str | None = None  # ``--public-url``, set by ``create_app``

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.host(scope, receive, send)
            return
        path = scope["path"]
        is_ws = path == WS_PATH
        if not is_ws and (not path.startswith(NEXSIS_PREFIX) or path.endswith(_UI_SUFFIXES)
                          or path.startswith(NEXSIS_PREFIX + "/ui/")):
            await self.host(scope, receive, send)  # admin_guard.AdminGuard wraps the host
            return
        started = time.perf_counter()
        # reversed: the first of repeated headers wins, as each step read them before
        exchange = Exchange(scope, receive, self.journal.recorder(send), dict(reversed(scope["headers"])))
        try:
            await (self._ws(exchange) if is_ws else self._nexsis(exchange))
        finally:
            self.journal.record_exchange(exchange, started)

    # -- NexSIS ---------------------------------------------------------------------------------
    async def _nexsis(self, ex: Exchange) -> None:
        scope = ex.scope
        # 1. limits: path and query must be UTF-8; a declared body must fit
        try:
            check_encoding(scope)
            length = parse_length(ex.heads.get(b"content-length"))
            if length is not None and length > self.max_body:
                ex.body_size = length
                raise BodyTooLarge(f"the request body exceeds the mock's limit of {self.max_body} bytes")
        except LimitExceeded as exc:
            await self._nexsis_error(ex, exc.status, exc.message)
            return
        # 2. decode: the body is read (bounded) only once validation needs it (_read_body)
        # 3. find the endpoint
        relative = scope["path"][len(NEXSIS_PREFIX):]
        found = self.table.match(scope["method"], relative) if relative else Miss(404)
        if not isinstance(found, Miss):
            ex.endpoint = found[0]  # before the faults: the journal names a fault-answered operation too
        # 4. faults (they fire for every API request, found or not)
        if self.faults and await self._fault(ex, None, "json"):
            return
        if isinstance(found, Miss):
            await self._nexsis_miss(ex, found)
            return
        endpoint, path_params = found
        try:
            # 5. authenticate, once
            token = nexsis_credential(scope, ex.heads, endpoint, self.service.check_nexsis_token)
            # (a forced answer, ``Prefer: code=`` / ``example=``, skips validation and the domain)
            prefs = preferences(scope) if b"prefer" in ex.heads else None
            if prefs is not None:
                await self._nexsis_forced(ex, endpoint, prefs)
                return
            # 6. validate, once: parameters, then content type and body
            typed_path = endpoint.check_parameters(scope, path_params)
            # what the Content-Type decides (415, schema, validator) is decided once per type;
            # the body is read (bounded) only when the plan needs it
            plan = bodies.plan(endpoint, ex.heads.get(b"content-type")) if endpoint.body is not None else None
            raw = await self._read_body(ex) if plan is not None and plan.reads(bool(length)) else None
            params = _nexsis_params(ex, endpoint, typed_path, plan, raw)
            # 7. Service.call (directly when it runs on the loop: one coroutine less per request)
            result = await self._call("nexsis", endpoint.operation_id, params, token) if self.threaded \
                else self.service.call("nexsis", endpoint.operation_id, params, token, None)
        except Unauthorized as exc:
            await self._nexsis_error(ex, 401, exc.message)
            return
        except (ProblemException, LimitExceeded, codec.CodecError) as exc:
            status, message = _refusal(exc)
            near = explain_refusal(endpoint, status, message)  # what differed from the operation
            await self._nexsis_error(ex, status, message, self._detail(ex, near.header()))
            return
        except Exception as exc:
            await self._internal_error(ex, exc)
            return
        # 8. render
        if self.validate_responses and (problem := nonconforming(endpoint, result.status, result.body)):
            await self._internal_error(ex, AssertionError(problem))
            return
        content = b"" if result.body is None else encode(result.body, dumps)
        # (the recorder takes the answer whole: render.respond without its coroutine)
        status = result.status
        await ex.send.answer(status, head(status, content, result.headers, NEXSIS_JSON), content)

    async def _read_body(self, ex: Exchange) -> bytes:
        """The request body, bounded; its first bytes and size noted for the journal."""
        keep = self.journal.keep
        try:
            raw = await read_body(ex.receive, self.max_body, keep)
        except BodyTooLarge as exc:
            ex.body, ex.body_size = exc.prefix, exc.size
            raise
        ex.body, ex.body_size = raw[:keep], len(raw)
        return raw

    async def _nexsis_forced(self, ex: Exchange, endpoint: Endpoint, prefs: dict[str, str]) -> None:
        try:
            forced = forced_answer(endpoint, prefs, lambda status: {
                "error": ERROR_CODES.get(status, "error"), "message": "answer forced by the Prefer header"})
        except PreferError as exc:
            await self._nexsis_error(ex, exc.status, exc.message)
            return
        content = b"" if forced.body is None else dumps(forced.body)
        await respond(ex.send, forced.status, content, {"Preference-Applied": forced.applied}, NEXSIS_JSON)

    async def _nexsis_miss(self, ex: Exchange, miss: Miss) -> None:
        if miss.redirect is not None:
            location = redirect_location(ex.scope, NEXSIS_PREFIX + miss.redirect, self.public_url)
            await respond(ex.send, 307, b"", {"location": location})
            return
        headers = {"Allow": miss.allow} if miss.allow else {}
        near = explain(ex.scope["method"], ex.scope["path"], tbl=self.table)
        if near is not None:  # the closest operation(s) and what differed
            headers.update(self._detail(ex, near.header()))
        message = "Method Not Allowed" if miss.status == 405 else "Not Found"
        await self._nexsis_error(ex, miss.status, message, headers)

    async def _nexsis_error(self, ex: Exchange, status: int, message: str,
                            headers: dict[str, str] | None = None) -> None:
        body = dumps({"error": ERROR_CODES.get(status, "error"), "message": message})
        await respond(ex.send, status, body, headers, NEXSIS_JSON)

    # -- Moodle web services --------------------------------------------------------------------
    async def _ws(self, ex: Exchange) -> None:
        scope = ex.scope
        # 1. limits and 2. decode: query, bounded body, form, Moodle's merge of the two
        try:
            query = codec.decode(scope["query_string"]) if scope.get("query_string") else {}
        except codec.CodecError as exc:
            await self._ws_error(ex, INVALID_PARAMETER, "xml", f"query string: {exc}")
            return
        fmt = "json" if query.get("moodlewsrestformat") == "json" else "xml"
        try:
            raw = await read_body(ex.receive, self.max_body) if scope["method"] == "POST" else b""
        except LimitExceeded as exc:
            ex.body_size = self.max_body
            await self._ws_error(ex, INVALID_PARAMETER, fmt, exc.message)
            return
        ex.body, ex.body_size = raw[: self.journal.keep], len(raw)
        content_type = ex.heads.get(b"content-type")
        decoded = decode_call(query, raw, "" if content_type is None else content_type.decode("latin-1"), fmt)
        if isinstance(decoded, tuple):  # the form body is refused: (format, reason)
            await self._ws_error(ex, INVALID_PARAMETER, decoded[0], decoded[1])
            return
        call: WSCall = decoded
        ex.wsfunction = call.function
        if call.token:
            ex.credential = call.token
        # 3. find the endpoint (the function) and 4. faults
        endpoint = self.table.ws_function(call.function)
        ex.endpoint = endpoint
        if self.faults and await self._fault(ex, call.function, call.format):
            return
        if endpoint is None:
            # Functions the spec does not describe still have Moodle's answers (invalidtoken,
            # invalidparameter, accessexception for a real function outside the token's service,
            # invalidrecordunknown): the domain knows which, so it decides.
            result = await self._call("moodle-ws", call.function or "", {}, call.token)
            detail = result.detail
            if detail is None and isinstance(result.body, dict) and \
                    result.body.get("errorcode") == INVALID_RECORD["errorcode"]:
                detail = explain_function(call.function, tbl=self.table).header()  # closest names
            await self._ws_error(ex, result.body, call.format, detail)
            return
        # 5. authenticate, once: in Service.call (dispatch.ws_token_problem), which must refuse a
        #    call's token without HTTP too; its reason comes back as the result's detail. A forced
        #    answer (``Prefer: code=200`` / ``example=``) skips validation and the domain, so it
        #    is authenticated here instead.
        prefs = preferences(scope) if b"prefer" in ex.heads else None
        if prefs is not None:
            problem = self.service.ws_token_problem(call.token)
            if problem is not None:
                await self._ws_error(ex, INVALID_TOKEN, call.format, problem)
                return
            try:
                forced = forced_answer(endpoint, prefs, lambda status: None)
            except PreferError as exc:
                await self._ws_error(ex, INVALID_PARAMETER, call.format, exc.message)
                return
            content, headers = ws_answer(forced.body, call.format)
            await respond(ex.send, 200, content, {**headers, "Preference-Applied": forced.applied})
            return
        # 6. validate, once: Moodle's validate_parameters on the function's description
        #    (nexsis_openapi.moodle.signature, from the spec), inside Service.call, which must
        #    refuse the same calls without HTTP; its reason comes back as the result's detail.
        params = call.params
        # 7. Service.call
        try:
            request = {"base_url": base_url(scope, self.public_url, ex.heads.get(b"host"))}
            result = await self._call("moodle-ws", endpoint.operation_id, params, call.token, request) \
                if self.threaded else self.service.call("moodle-ws", endpoint.operation_id, params,
                                                        call.token, request)
        except Exception as exc:
            await self._internal_error(ex, exc)
            return
        # 8. render, in the call's format
        if self.validate_responses and (problem := nonconforming(endpoint, result.status, result.body)):
            await self._internal_error(ex, AssertionError(problem))
            return
        content, headers = ws_answer(result.body, call.format)
        if result.headers or result.detail:
            detail = self._detail(ex, result.detail) if result.detail else {}
            headers = {**headers, **result.headers, **detail}
        await respond(ex.send, result.status, content, headers)

    async def _ws_error(self, ex: Exchange, envelope: t.Any, fmt: str, detail: str | None = None) -> None:
        content, headers = ws_answer(envelope, fmt)
        await respond(ex.send, 200, content, {**headers, **self._detail(ex, detail)} if detail else headers)

    def _detail(self, ex: Exchange, detail: str) -> dict[str, str]:
        """``X-Mock-Detail`` masking the site's tokens and the request's credential (error paths only)."""
        secrets = list(self.service.secrets()) if hasattr(self.service, "secrets") else []
        credential = ex.credential
        if credential:
            secrets.append(credential)
        return detail_header(detail, secrets)

    # -- shared steps ---------------------------------------------------------------------------
    async def _call(self, api: str, operation_id: str, params: dict[str, t.Any], token: str | None,
                    request: dict[str, t.Any] | None = None) -> t.Any:
        if self.threaded:
            return await run_in_threadpool(self.service.call, api, operation_id, params, token, request)
        return self.service.call(api, operation_id, params, token, request)

    async def _internal_error(self, ex: Exchange, exc: Exception) -> None:
        if getattr(ex.send, "started", False):
            raise exc
        log.error("mock error on %s: %r", ex.scope.get("path"), exc, exc_info=exc)
        await self._nexsis_error(ex, 500, str(exc) or ERROR_CODES[500])

    async def _fault(self, ex: Exchange, wsfunction: str | None, fmt: str) -> bool:
        """Apply the first fault rule that fires; True when it answered (or dropped) the request."""
        rule = self.faults.take(ex.scope["method"], ex.scope["path"], wsfunction)
        if rule is None:
            return False
        ex.fault = f"{rule.action}#{rule.id}"
        if rule.latency_ms:
            await asyncio.sleep(rule.latency_ms / 1000)
        if rule.drop:
            if not _drop(ex.receive):
                raise ConnectionAbortedError("fault injection: connection dropped")
            return True
        if rule.moodle_exception is not None:
            await self._ws_error(ex, rule.moodle_exception, fmt, f"injected by fault rule {rule.id}")
            return True
        if rule.status is not None:
            body = rule.body if rule.body is not None else {
                "error": ERROR_CODES.get(rule.status, "injected_fault"),
                "message": f"fault injected by the mock (rule {rule.id})"}
            content = b"" if rule.status in (204, 304) else dumps(body)  # no body, by HTTP's rules
            await respond(ex.send, rule.status, content,
                          {"content-type": NEXSIS_JSON, **detail_header(f"injected by fault rule {rule.id}")})
            return True
        return False


def _nexsis_params(ex: Exchange, endpoint: Endpoint, typed_path: dict[str, t.Any],
                   plan: bodies.BodyPlan | None, raw: bytes | None) -> dict[str, t.Any]:
    """Path + query + body in one dict, as ``Service.call`` takes them (CONVENTIONS.md).

    ``raw`` is the body as read, None when ``plan`` (None: no body for the handler) takes the
    schema's default.
    """
    params: dict[str, t.Any] = {}
    if plan is not None:
        body = plan.value(raw)
        if isinstance(body, dict):
            params.update(body)
        elif body is not None:
            params["body"] = body
    raw_query = ex.scope.get("query_string", b"")
    if raw_query:
        for name, value in endpoint.parser.resolve_decoded(codec.decode(raw_query)).items():
            if name != "token":  # the credential is passed separately
                params[name[:-2] if name.endswith("[]") else name] = value
    params.update(typed_path)
    return params


def _refusal(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, ProblemException):
        return exc.status, str(exc.detail or "") or ERROR_CODES.get(exc.status, "error")
    if isinstance(exc, LimitExceeded):
        return exc.status, exc.message
    return 400, str(exc)


def _drop(receive: Receive) -> bool:
    """Close the client's connection without an answer; False when the server hides its transport."""
    cycle = getattr(receive, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if cycle is None or transport is None:
        return False
    transport.close()
    cycle.disconnected = True  # uvicorn then neither answers 500 nor logs an error
    return True
