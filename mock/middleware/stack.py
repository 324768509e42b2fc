"""Connexion's middleware stack with the per-request set-up work moved to start-up.

Measured on GET /user/{id}: Connexion's security handlers call ``inspect.signature`` twice per
request, and the request-validation middleware rebuilds a URI parser and a parameter validator
(deep-copying every parameter schema) per request; together that was a third of the time per call.
The replacements below do exactly the same checks, with the work done once per operation.
"""

from __future__ import annotations

import functools
import typing as t
from urllib.parse import parse_qsl

from connexion.exceptions import OAuthProblem, OAuthResponseProblem
from connexion.middleware.main import ConnexionMiddleware
from connexion.middleware.request_validation import (
    RequestValidationAPI,
    RequestValidationMiddleware,
    RequestValidationOperation,
)
from connexion.middleware.response_validation import ResponseValidationMiddleware
from connexion.middleware.routing import RoutingMiddleware
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.security import NO_VALUE, AbstractSecurityHandler, SecurityHandlerFactory
from connexion.utils import is_nullable
from starlette.convertors import FloatConvertor, register_url_convertor
from starlette.types import Receive, Scope, Send

__all__ = ["TokenSecurity", "middlewares", "security_map"]

_MISSING = object()
#: Cached body validators per operation; clients choose the charset, so the cache is bounded.
_MAX_BODY_VALIDATORS = 16


class _CachedValidationOperation(RequestValidationOperation):
    """Parameter validator built once; the body step only runs when the operation has a body."""

    _validator: t.Any = None
    _body_validators: dict[tuple[str, str], t.Any] | None = None
    _content_types: dict[bytes | None, tuple[str, str]] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        validator = self._validator
        if validator is None:
            operation = self._operation
            parser = operation._uri_parser_class(operation.parameters, operation.body_definition())
            validator = self._validator = self._validator_map["parameter"](
                operation.parameters, uri_parser=parser, strict_validation=self.strict_validation,
                security_query_params=self.security_query_params)
            self._has_body = bool(operation.request_body)
        validator.validate(scope)
        if self._has_body:
            await self._validate_body(scope, receive, send)
            return
        await self.next_app(scope, receive, send)

    async def _validate_body(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The second half of RequestValidationOperation.__call__ (content type and body), with the
        # body validator built once per (media type, charset) instead of per request: its
        # constructor takes only the operation's schema and settings, and wrap_receive keeps no
        # state on it between calls.
        mime_type, encoding = self._content_type(scope["headers"])
        key = (mime_type, encoding)
        if self._body_validators is None or key not in self._body_validators:
            self.validate_mime_type(mime_type)  # raises for a type the operation does not take
        if self._body_validators is None:
            self._body_validators = {}
        validator = self._body_validators.get(key, _MISSING)
        if validator is _MISSING:
            validator = self._body_validator(mime_type, encoding)
            if len(self._body_validators) < _MAX_BODY_VALIDATORS:  # the charset is the client's
                self._body_validators[key] = validator
        if validator is not None:
            receive, scope = await validator.wrap_receive(receive, scope=scope)
        await self.next_app(scope, receive, send)

    def _content_type(self, headers: list[tuple[bytes, bytes]]) -> tuple[str, str]:
        """``extract_content_type``, remembered per header value (clients send a handful)."""
        raw = next((v for k, v in headers if k == b"content-type"), None)
        if self._content_types is None:
            self._content_types = {}
        hit = self._content_types.get(raw)
        if hit is None:
            hit = self.extract_content_type(headers)
            if len(self._content_types) < _MAX_BODY_VALIDATORS:
                self._content_types[raw] = hit
        return hit

    def _body_validator(self, mime_type: str, encoding: str) -> t.Any:
        schema = self._operation.body_schema(mime_type)
        if not schema:
            return None
        body_validator = self._validator_map["body"].get(mime_type)
        if body_validator is None:
            return None
        definition = self._operation.body_definition(mime_type)
        parser = self._operation.uri_parser_class(self._operation.parameters, definition)
        return body_validator(
            schema=schema, required=self._operation.request_body.get("required", False),
            nullable=is_nullable(definition), encoding=encoding,
            strict_validation=self.strict_validation, uri_parser=parser)


class _CachedValidationAPI(RequestValidationAPI):
    def make_operation(self, operation: t.Any) -> RequestValidationOperation:
        return _CachedValidationOperation(self.next_app, operation=operation,
                                          strict_validation=self.strict_validation,
                                          validator_map=self.validator_map)


class CachedRequestValidationMiddleware(RequestValidationMiddleware):
    api_cls = _CachedValidationAPI


class UIOnlySwaggerUIMiddleware(SwaggerUIMiddleware):
    """Swagger UI's router walked only for UI and spec paths, not for every API call."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and "/ui" not in path and not path.endswith(("openapi.json",
                                                                                "openapi.yaml")):
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class NumberConvertor(FloatConvertor):
    """A path segment that is a number, and only then (OpenAPI ``type: number`` path parameters).

    Connexion's convertor matches ``[+-]?[0-9]*(\\.[0-9]*)?``: also ``+``, ``.`` and the empty
    segment, which ``float()`` then refuses inside Starlette's router, a 500 (for the empty one
    even when the client sent no segment at all: the router retries the path with a trailing
    slash). A segment that is no number matches no route: 404, as letters already did.
    """

    regex = r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"


class NumberRoutingMiddleware(RoutingMiddleware):
    """Connexion's routing with ``NumberConvertor`` for number path parameters."""

    def __init__(self, app: t.Any) -> None:
        super().__init__(app)  # registers Connexion's convertors (process-wide) ...
        register_url_convertor("float", NumberConvertor())  # ... and this replaces one of them


_REPLACED = {RequestValidationMiddleware: CachedRequestValidationMiddleware,
             RoutingMiddleware: NumberRoutingMiddleware,
             SwaggerUIMiddleware: UIOnlySwaggerUIMiddleware}


def middlewares(validate_responses: bool = True) -> list[t.Any]:
    """Connexion's default stack with the cached and short-cut middlewares in their places.

    Without response validation its middleware only forwards: one coroutine hop and one route
    lookup per request for nothing (routing and middleware were ~35% of a GET in the profile).
    """
    stack = [_REPLACED.get(m, m) for m in ConnexionMiddleware.default_middlewares]
    if not validate_responses:
        stack = [m for m in stack if m is not ResponseValidationMiddleware]
    return stack


def _header(scope: Scope, name: bytes) -> str | None:
    """The first header ``name`` (lower case), as ``starlette.datastructures.Headers.get`` reads it."""
    for key, value in scope["headers"]:
        if key == name:
            return value.decode("latin-1")
    return None


def _query(scope: Scope, name: str) -> str | None:
    """A query parameter as ``QueryParams.get`` reads it (latin-1 text, the last duplicate wins)."""
    raw = scope.get("query_string", b"")
    if not raw:
        return None
    return _cached_query_value(raw, name) if len(raw) <= 256 else _query_value(raw, name)


@functools.lru_cache(maxsize=1024)
def _cached_query_value(raw: bytes, name: str) -> str | None:
    # A client sends the same token call after call (the WS router's query is only `wstoken=`);
    # short query strings only, so the cache stays under a megabyte.
    return _query_value(raw, name)


def _query_value(raw: bytes, name: str) -> str | None:
    value = None
    for key, item in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if key == name:
            value = item
    return value


def security_map(check: t.Callable[[str | None], bool]) -> dict[str, type]:
    """Bearer and apiKey handlers whose token check is the domain's ``check_*_token``.

    Same contract as Connexion's handlers (NO_VALUE when the credential is absent, 401 problem when
    it is wrong), minus the per-request signature inspection. Each verifier also carries
    ``scope_fn``, the same check on the raw ASGI scope, which ``TokenSecurity`` calls without
    building a request object.
    """
    info = {"sub": "client"}

    class Bearer(AbstractSecurityHandler):
        def get_fn(self, security_scheme: dict, required_scopes: t.Any) -> t.Callable:
            def verify_scope(scope: Scope) -> t.Any:
                authorization = _header(scope, b"authorization")
                if not authorization:
                    return NO_VALUE
                try:  # exactly AbstractSecurityHandler.get_auth_header_value
                    auth_type, token = authorization.split(maxsplit=1)
                except ValueError:
                    raise OAuthProblem(detail="Invalid authorization header") from None
                if auth_type.lower() != "bearer":
                    return NO_VALUE
                if not check(token):
                    raise OAuthResponseProblem(detail="Provided token is not valid")
                return info

            def verify(request: t.Any) -> t.Any:
                return verify_scope(request.scope)

            verify.scope_fn = verify_scope  # type: ignore[attr-defined]
            return verify

    class ApiKey(AbstractSecurityHandler):
        def get_fn(self, security_scheme: dict, required_scopes: t.Any) -> t.Callable:
            name, where = security_scheme["name"], security_scheme["in"]
            if where not in ("query", "header"):
                raise OAuthProblem(detail=f"unsupported apiKey location {where!r}")
            header = name.lower().encode("latin-1")

            def verify_scope(scope: Scope) -> t.Any:
                value = _query(scope, name) if where == "query" else _header(scope, header)
                if value is None:
                    return NO_VALUE
                if not check(value):
                    raise OAuthResponseProblem(detail="Provided apikey is not valid")
                return info

            def verify(request: t.Any) -> t.Any:
                return verify_scope(request.scope)

            verify.scope_fn = verify_scope  # type: ignore[attr-defined]
            return verify

    return {"bearer": Bearer, "apiKey": ApiKey}


class TokenSecurity:
    """Connexion's ``SecurityOperation`` for one operation, on the raw scope.

    Connexion wraps every request in a ``ConnexionRequest``, builds its ``Headers`` and
    ``QueryParams`` and a context dict, then runs ``verify_security`` (a fifth of a GET /user
    after the middleware chain was gone). This runs the same alternatives, built by Connexion's
    own ``parse_security_scheme``, in the same order and with the same outcome: the first one
    that finds a credential decides, errors are raised by Connexion's ``_raise_most_specific``,
    and no credential at all is Connexion's 401 problem. Operations whose schemes are not all
    ours (or that AND several schemes) keep Connexion's ``SecurityOperation``.
    """

    __slots__ = ("checks", "next_app")

    def __init__(self, next_app: t.Any, checks: list[t.Callable[[Scope], t.Any]]) -> None:
        self.next_app = next_app
        self.checks = checks

    @classmethod
    def from_operation(cls, operation: t.Any) -> TokenSecurity | None:
        """From a Connexion ``SecurityOperation``; None when it must stay as it is."""
        if not operation.security:
            return None
        factory = operation.security_handler_factory
        checks = []
        for requirement in operation.security:
            if len(requirement) != 1:
                return None
            ((name, scopes),) = requirement.items()
            fn = factory.parse_security_scheme(operation.security_schemes[name], scopes)
            scope_fn = getattr(fn, "scope_fn", None)
            if scope_fn is None:
                return None
            checks.append(scope_fn)
        return cls(operation.next_app, checks)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        errors: list[Exception] = []
        for check in self.checks:
            try:
                if check(scope) is not NO_VALUE:
                    break
            except Exception as err:
                errors.append(err)
        else:
            if errors:
                SecurityHandlerFactory._raise_most_specific(errors)
            raise OAuthProblem(detail="No authorization token provided")
        await self.next_app(scope, receive, send)
