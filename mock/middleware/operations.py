"""Connexion's per-operation checks, composed once per operation and routed in one step.

Connexion 3 runs every request through nine middlewares (server errors, exceptions, Swagger UI,
routing, security, request validation, response validation, lifespan, context), and every
routed middleware looks the operation up again by id; under load that chain and its two Starlette
router levels were about half of the mock's own time per request (docs/benchmarks.md). The work
that matters per operation is three objects Connexion already builds: its ``SecurityOperation``,
its ``RequestValidationOperation`` (ours, with cached validators) and, when responses are
validated, its ``ResponseValidationOperation``. ``OperationRouter`` takes exactly those objects
from Connexion's built stack, chains each operation's copies directly (security -> request
validation -> [response validation] -> handler), and finds the chain with Starlette's own
compiled route regexes and convertors, in Starlette's order. So every request is still checked
by the same Connexion code with the same spec; only the hops between layers are gone. (Security
runs as ``stack.TokenSecurity``: Connexion's alternatives and errors, without a request object.)

What it does not answer, it hands to the full Connexion app unchanged: paths no operation
matches (404), known paths with another method (405 with ``Allow``), the admin API, Swagger UI,
and anything under a non-empty ``root_path``. Errors raised by a chain go to the handlers the app
registered (``errors.install``), as Connexion's exception middleware would send them.
``tests/mock_server/test_operation_router.py`` checks the routing against Connexion's router.
"""

from __future__ import annotations

import copy
import typing as t

from connexion.middleware.abstract import ROUTING_CONTEXT
from connexion.middleware.exceptions import ExceptionMiddleware
from connexion.middleware.request_validation import RequestValidationMiddleware
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.security import SecurityMiddleware, SecurityOperation
from starlette.requests import Request
from starlette.routing import Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from .stack import TokenSecurity

__all__ = ["ApiRoutes", "OperationRouter"]

#: The per-operation layers taken from Connexion's stack, outermost first.
_LAYERS = (SecurityMiddleware, RequestValidationMiddleware, ResponseValidationMiddleware)


class _Entry(t.NamedTuple):
    route: Route
    operation_id: str
    app: ASGIApp


def _first_segment(path: str) -> str | None:
    """The literal first segment of a route path, None when it starts with a parameter."""
    head = path.lstrip("/").split("/", 1)[0]
    return None if "{" in head else head


class ApiRoutes:
    """One API's operations, matched as Starlette's router matches them (first full match wins).

    Routes are bucketed by method and literal first segment; a route whose first segment is a
    parameter sits in every bucket, and each bucket keeps registration order, so the first full
    match in a bucket is the first full match of the whole list. Literal paths are resolved once
    at start-up by that same search.
    """

    def __init__(self, base_path: str, entries: list[_Entry]) -> None:
        self.base_path = base_path
        self.routing = {"api_base_path": base_path}
        methods = {m for e in entries for m in (e.route.methods or ())}
        firsts = {_first_segment(e.route.path) for e in entries} - {None}
        self._buckets: dict[tuple[str, str | None], list[_Entry]] = {}
        for method in methods:
            for first in (*firsts, None):
                self._buckets[(method, first)] = [
                    e for e in entries
                    if method in (e.route.methods or ()) and _first_segment(e.route.path) in (first, None)]
        self._static: dict[tuple[str, str], tuple[_Entry, dict[str, t.Any]]] = {}
        for entry in entries:
            if not entry.route.param_convertors:
                for method in entry.route.methods or ():
                    hit = self._search(method, entry.route.path)
                    if hit is not None:
                        self._static[(method, entry.route.path)] = hit

    def _search(self, method: str, path: str) -> tuple[_Entry, dict[str, t.Any]] | None:
        bucket = self._buckets.get((method, _first_segment(path)))
        if bucket is None:
            bucket = self._buckets.get((method, None))
            if bucket is None:
                return None
        for entry in bucket:
            match = entry.route.path_regex.match(path)
            if match is not None:
                convertors = entry.route.param_convertors
                return entry, {k: convertors[k].convert(v) for k, v in match.groupdict().items()}
        return None

    def match(self, method: str, path: str) -> tuple[_Entry, dict[str, t.Any]] | None:
        """The operation for ``path`` (relative to the base path), with its path parameters."""
        hit = self._static.get((method, path))
        if hit is not None:
            return hit[0], {}
        return self._search(method, path)


class OperationRouter:
    """See the module docstring. ``apis`` maps a base path to its routes."""

    def __init__(self, connexion_app: t.Any) -> None:
        middleware = connexion_app.middleware
        if middleware.middleware_stack is None:
            # What ConnexionMiddleware does on its first request, done at start-up instead.
            middleware.app, middleware.middleware_stack = middleware._build_middleware_stack()
        self.fallback: ASGIApp = connexion_app
        stack = list(middleware.middleware_stack)
        layers = [mw for mw in stack if isinstance(mw, _LAYERS)]  # outermost first
        handler_app = stack[-1]
        self._handlers = next(mw for mw in stack if isinstance(mw, ExceptionMiddleware))._exception_handlers
        routing = next(mw for mw in stack if isinstance(mw, RoutingMiddleware))
        self.apis: dict[str, ApiRoutes] = {}
        for mount in routing.router.routes:
            if not isinstance(mount, Mount):
                continue
            base = mount.path
            entries = []
            for route in mount.app.routes:
                operation_id = route.endpoint.operation_id
                app = handler_app.apis[base][0].operations[operation_id]
                for layer in reversed(layers):
                    api = layer.apis.get(base)
                    if api and operation_id in api[0].operations:
                        wrapped = copy.copy(api[0].operations[operation_id])
                        wrapped.next_app = app
                        app = wrapped
                        if isinstance(wrapped, SecurityOperation):
                            app = TokenSecurity.from_operation(wrapped) or wrapped
                entries.append(_Entry(route, operation_id, app))
            self.apis[base] = ApiRoutes(base, entries)

    async def __call__(self, scope: Scope, receive: Receive, send: Send, base_path: str = "") -> None:
        """Serve a request of the API mounted at ``base_path``; anything unmatched goes to Connexion.

        ``send`` may expose ``started`` (the front's recorder does): an error raised after the
        answer started cannot be answered again and is re-raised, as Starlette does.
        """
        routes = self.apis.get(base_path)
        path = scope["path"]
        if routes is None or scope.get("root_path") or not path.startswith(base_path + "/"):
            await self.fallback(scope, receive, send)
            return
        try:
            hit = routes.match(scope["method"], path[len(base_path):])
            if hit is not None:
                entry, params = hit
                scope["path_params"] = params
                scope.setdefault("extensions", {})[ROUTING_CONTEXT] = {
                    **routes.routing, "operation_id": entry.operation_id}
                await entry.app(scope, receive, send)
        except Exception as exc:
            if getattr(send, "started", False):
                raise
            await self._answer_error(scope, receive, send, exc)
            return
        if hit is None:
            await self.fallback(scope, receive, send)

    async def _answer_error(self, scope: Scope, receive: Receive, send: Send, exc: Exception) -> None:
        for cls in type(exc).__mro__:
            handler = self._handlers.get(cls)
            if handler is not None:
                response = await handler(Request(scope, receive), exc)
                await response(scope, receive, send)
                return
        raise exc
