"""One operation on the state: the handler, its transaction, the API's answer and its log entries.

``Service`` (``service.py``) decides when an operation runs (lock, persistence, catching up with
other processes); this module is what running it means, the same live and when the state file's
operation log is replayed: NexSIS's token check and errors, Moodle's token, function and
capability checks and ``validate_parameters``, and the rollback of an operation that answered an
error, so a refused call never leaves half a change behind.
"""

from __future__ import annotations

from typing import Any

from nexsis_mock.handlers import NEXSIS, WS, Ctx, MoodleError, NexsisError
from nexsis_mock.handlers.ws import invalid_parameter, missing_record
from nexsis_mock.handlers.ws.params import validate_function
from nexsis_mock.result import Result
from nexsis_mock.store.state import State
from nexsis_openapi.moodle import ACCESS_EXCEPTION, INVALID_TOKEN

from .functions import KNOWN_MOODLE_FUNCTIONS
from .request_log import RequestLog

__all__ = ["API_NEXSIS", "API_WS", "run_operation", "ws_token_problem"]

API_NEXSIS = "nexsis"
API_WS = "moodle-ws"


def run_operation(state: State, api: str, operation_id: str, params: dict[str, Any], token: str | None,
                  request: dict[str, Any], now: int, write: bool = True
                  ) -> tuple[Result, bool, list[Any]]:
    """Run the handler in a state transaction; return (result, state changed?, log entries).

    A read (``write`` false) changes nothing, so it runs without the transaction's undo log
    (a read that did change the state would not be persisted either: reads are not journalled).
    """
    ctx = Ctx(state=state, now=now, token=token, base_url=request.get("base_url"))
    changed = False
    if not write:
        result = _answer(ctx, api, operation_id, params)
        return result, False, _logs(api, ctx, operation_id, params, request, result, now)
    try:
        with state.transaction():
            version = state.version  # every journalled change moves it
            result = _answer(ctx, api, operation_id, params)
            changed = state.version != version
            if result.status >= 400 or (
                api == API_WS and isinstance(result.body, dict) and "exception" in result.body
            ):
                raise _Rollback(result)
    except _Rollback as rb:
        result, changed = rb.result, False
    return result, changed, _logs(api, ctx, operation_id, params, request, result, now)


def _answer(ctx: Ctx, api: str, operation_id: str, params: dict[str, Any]) -> Result:
    return _nexsis(ctx, operation_id, params) if api == API_NEXSIS else _ws(ctx, operation_id, params)


def _logs(api: str, ctx: Ctx, operation_id: str, params: dict[str, Any], request: dict[str, Any],
          result: Result, now: int) -> list[Any]:
    """NexSIS's log entries of the call: the handler's own, then the request's."""
    if api != API_NEXSIS:
        return []
    if not ctx.logs:  # most calls: the request's entry alone
        return [RequestLog(operation_id, params, request, result, now)]
    logs: list[Any] = [dict(entry, date=now) for entry in ctx.logs]
    logs.append(RequestLog(operation_id, params, request, result, now))
    return logs


def _nexsis(ctx: Ctx, operation_id: str, params: dict[str, Any]) -> Result:
    if not ctx.token or ctx.token not in ctx.state.nexsis_keys:
        return Result(
            401,
            {
                "error": "unauthorized",
                "message": "Missing or invalid API key: send 'Authorization: Bearer <key>' "
                "or the 'token' query parameter",
            },
        )
    try:
        body = NEXSIS[operation_id].func(ctx, params)
    except NexsisError as exc:
        return Result(exc.status, {"error": exc.code, "message": exc.message})
    if isinstance(body, Result):
        return body
    return Result(200, body)


def ws_token_problem(state: State, token: str | None) -> str | None:
    """Why ``token`` does not authenticate a web-service call, in X-Mock-Detail's words (None: it does).

    The one check of a call's token: ``_ws`` makes it for every call that reaches the domain, and
    the pipeline asks it (``Service.ws_token_problem``) only for a forced answer, which skips the
    domain. A token whose user is gone no longer authenticates, as in Moodle.
    """
    if token is None:
        return "No authorization token provided"
    record = state.ws_tokens.get(token) if token else None
    if record is None or record.userid not in state.users:
        return "Provided apikey is not valid"
    return None


def _ws(ctx: Ctx, function: str, params: dict[str, Any]) -> Result:
    try:
        problem = ws_token_problem(ctx.state, ctx.token)
        if problem is not None:
            raise MoodleError(**INVALID_TOKEN, detail=problem)
        token = ctx.state.ws_tokens[ctx.token]  # type: ignore[index]
        ctx.ws = token
        if not function:
            raise invalid_parameter()
        if function not in WS:
            if function in KNOWN_MOODLE_FUNCTIONS:
                raise MoodleError(**ACCESS_EXCEPTION)
            raise missing_record()
        if token.functions is not None and function not in token.functions:
            raise MoodleError(**ACCESS_EXCEPTION)
        cleaned = validate_function(function, params)
        body = WS[function].func(ctx, cleaned)
    except MoodleError as exc:
        return Result(200, exc.body(), detail=exc.detail or None)
    return Result(200, body)


class _Rollback(Exception):
    """Unwinds the state transaction of an operation that answered an error."""

    def __init__(self, result: Result) -> None:
        super().__init__("rollback")
        self.result = result
