"""From a validated request to ``Service.call`` and back: the only code between Connexion and the domain.

The resolver maps every operationId to an ``OperationAdapter``; Connexion binds it to its
operation once at start (``bind``) and calls the bound adapter per request. There is no
per-operation code: the adapter gathers path, query and body parameters generically and renders
the ``Result`` generically (JSON for NexSIS and the admin API, Moodle's JSON or XML for web
services).

Connexion's own handler path builds a decorator chain and re-parses the body on every call; the
bound adapter instead reads the body that the validators already parsed (``SCOPE_BODY``).
"""

from __future__ import annotations

import json
import typing as t

import orjson
from connexion.apps.asynchronous import AsyncApi, AsyncASGIApp, AsyncOperation
from connexion.operations import AbstractOperation
from starlette.concurrency import run_in_threadpool
from starlette.types import Receive, Scope, Send

from nexsis_openapi import codec
from nexsis_openapi.moodle import SERVER_FIELDS

from .moodle import JSON_HEADERS, XML_HEADERS, render
from .validation import SCOPE_BODY, PHPURIParser

__all__ = ["SCOPE_WS", "Call", "MockASGIApp", "OperationAdapter", "respond"]

#: Scope key holding the ``WSCall`` of a routed server.php request.
SCOPE_WS = "nexsis_mock.ws"

NEXSIS_JSON = "application/json; charset=utf-8"

#: ``call(params, token, scope) -> result`` where result has ``status``, ``body``, ``headers``.
Call = t.Callable[[dict[str, t.Any], "str | None", Scope], t.Any]


def dumps(value: t.Any) -> bytes:
    """orjson, falling back to the stdlib for what orjson refuses (integers beyond 64 bits)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except TypeError:
        return json.dumps(value, separators=(",", ":"), default=str).encode("utf-8")


async def respond(send: Send, status: int, body: bytes, headers: t.Mapping[str, str] | None,
                  media_type: str | None = None) -> None:
    """The two ASGI messages ``starlette.responses.Response`` would send, without the object.

    Same headers in the same order: the given ones, then Content-Length (not for 1xx, 204, 304)
    and Content-Type (``media_type``) unless given.
    """
    raw = list(_encoded(headers)) if headers else []
    names = {k for k, _ in raw}
    if b"content-length" not in names and not (status < 200 or status in (204, 304)):
        raw.append((b"content-length", str(len(body)).encode("latin-1")))
    if media_type is not None and b"content-type" not in names:
        raw.append((b"content-type", media_type.encode("latin-1")))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


#: Header dicts that are module constants (Moodle's answer headers), encoded once: by identity.
_ENCODED: dict[int, tuple[t.Mapping[str, str], tuple[tuple[bytes, bytes], ...]]] = {}


def _encoded(headers: t.Mapping[str, str]) -> tuple[tuple[bytes, bytes], ...]:
    hit = _ENCODED.get(id(headers))
    if hit is not None and hit[0] is headers:
        return hit[1]
    raw = tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())
    if headers is JSON_HEADERS or headers is XML_HEADERS:  # immutable by convention, never edited
        _ENCODED[id(headers)] = (headers, raw)
    return raw


def _php_json(value: t.Any) -> bytes:
    return render(value, "json")[0]


#: Encoded memoised listings: (id of the memo's list, encoder) -> (that list, bytes). The list is
#: kept referenced, so its id cannot be reused while the entry lives.
_LISTINGS: dict[tuple[int, t.Any], tuple[list, bytes]] = {}
_MAX_LISTINGS = 16


def _encode(body: t.Any, encoder: t.Callable[[t.Any], bytes]) -> bytes:
    """``encoder(body)``, reused for a memoised listing while it is valid.

    A memoised listing is a list with a ``source`` attribute (``nexsis_mock.store.state.MemoRows``:
    the domain's seam stays JSON-able values; plain lists have no attributes).
    """
    source = getattr(body, "source", None) if isinstance(body, list) else None
    if source is None:
        return encoder(body)
    key = (id(source), encoder)
    hit = _LISTINGS.get(key)
    if hit is not None and hit[0] is source:
        return hit[1]
    content = encoder(body)
    if len(_LISTINGS) >= _MAX_LISTINGS:
        _LISTINGS.clear()
    _LISTINGS[key] = (source, content)
    return content


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
    return None


class OperationAdapter:
    """What the resolver returns for an operationId: knows its API and how to call it."""

    def __init__(self, api: str, operation_id: str, call: Call, *, threaded: bool = False) -> None:
        self.api = api
        self.operation_id = operation_id
        self.call = call
        self.threaded = threaded
        self.__name__ = operation_id  # Connexion logs handler names

    def __call__(self, *args: t.Any, **kwargs: t.Any) -> t.Any:  # pragma: no cover - bound form only
        raise TypeError("an OperationAdapter is called through BoundOperation")

    def bind(self, operation: AbstractOperation) -> BoundOperation:
        return BoundOperation(self, operation)


class BoundOperation:
    """The ASGI app of one operation: gather parameters, call, render."""

    def __init__(self, adapter: OperationAdapter, operation: AbstractOperation) -> None:
        self.adapter = adapter
        self.operation_id = operation.operation_id
        self.parser = (operation._uri_parser_class or PHPURIParser)(
            operation.parameters, operation.body_definition())
        self.has_path = any(p["in"] == "path" for p in operation.parameters)
        self.is_ws = adapter.api == "moodle-ws"

    def gather(self, scope: Scope) -> dict[str, t.Any]:
        """Path + query + body in one dict, as ``Service.call`` expects (see CONVENTIONS.md)."""
        params: dict[str, t.Any] = {}
        body = scope.get(SCOPE_BODY)
        if isinstance(body, dict):
            params.update(body)
        elif body is not None:
            params["body"] = body
        if self.is_ws:
            for name in SERVER_FIELDS:
                params.pop(name, None)
            return params
        raw_query = scope.get("query_string", b"")
        if raw_query:
            for name, value in self.parser.resolve_decoded(codec.decode(raw_query)).items():
                if name != "token":  # the credential is passed separately
                    params[name[:-2] if name.endswith("[]") else name] = value
        if self.has_path:
            params.update(self.parser.resolve_path(scope.get("path_params", {})))
        return params

    def token(self, scope: Scope) -> str | None:
        if self.is_ws:
            ws = scope.get(SCOPE_WS)
            return ws.token if ws is not None else None
        bearer = _bearer(scope)
        if bearer is not None:
            return bearer
        raw_query = scope.get("query_string", b"")
        if b"token=" in raw_query:
            value = codec.decode(raw_query).get("token")
            return value if isinstance(value, str) else None
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        params = self.gather(scope)
        token = self.token(scope)
        if self.adapter.threaded:
            result = await run_in_threadpool(self.adapter.call, params, token, scope)
        else:
            result = self.adapter.call(params, token, scope)
            if hasattr(result, "__await__"):
                result = await result
        headers = getattr(result, "headers", None)
        if self.is_ws:
            # Always JSON here, so response validation sees it; the front renders XML on request.
            content = _encode(result.body, _php_json)
            base = JSON_HEADERS
            await respond(send, result.status, content, {**base, **headers} if headers else base)
        else:
            content = b"" if result.body is None else _encode(result.body, dumps)
            await respond(send, result.status, content, headers, NEXSIS_JSON)


class _MockApi(AsyncApi):
    """AsyncApi whose operations are the bound adapters themselves (no per-request decorators)."""

    def make_operation(self, operation: AbstractOperation) -> t.Any:  # type: ignore[override]
        function = operation.function
        if isinstance(function, OperationAdapter):
            return function.bind(operation)
        return AsyncOperation.from_operation(operation, pythonic_params=self.pythonic_params,
                                             jsonifier=self.jsonifier)


class MockASGIApp(AsyncASGIApp):
    api_cls = _MockApi
