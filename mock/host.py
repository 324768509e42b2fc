"""The Connexion application that hosts what is not an API request: the admin API and Swagger UI.

The mock's APIs are answered by ``middleware.pipeline``; Connexion serves the admin API
(``mock/admin.yaml``, under ``/__admin``, with its own Swagger UI), the Swagger UIs and spec
documents of both APIs (``<NexSIS prefix>/ui/``, ``/ui/``), and the 404 of any other path. Only
public Connexion classes are used: ``AsyncApp`` for the admin API, ``SwaggerUIMiddleware`` for
the APIs' UIs, ``JSONRequestBodyValidator`` (its documented parse hook) for orjson bodies.
"""

from __future__ import annotations

import copy
import logging
import typing as t

import orjson
import yaml
from connexion import AsyncApp
from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.lifecycle import ConnexionResponse
from connexion.middleware.swagger_ui import SwaggerUIMiddleware
from connexion.options import SwaggerUIOptions
from connexion.spec import Specification
from connexion.validators import FormDataValidator, JSONRequestBodyValidator
from starlette.types import ASGIApp

from nexsis_openapi import load_spec

from .admin import SPEC_PATH as ADMIN_SPEC
from .admin import AdminAPI
from .admin_http import AdminURIParser
from .endpoints import NEXSIS_PREFIX
from .middleware import errors
from .middleware.render import NEXSIS_JSON, dumps
from .middleware.validation import MAX_JSON_DEPTH, json_too_deep
from .swagger import SwaggerPages

__all__ = ["ADMIN_PREFIX", "build_host"]

ADMIN_PREFIX = "/__admin"
_CONTEXT = frozenset({"user", "token_info"})


class OrjsonBodyValidator(JSONRequestBodyValidator):
    """JSON bodies of the admin API through orjson: nesting beyond the APIs' limit (64) or bad UTF-8
    is a 400, not a 500."""

    async def _parse(self, stream: t.AsyncGenerator[bytes, None], scope: t.Any) -> t.Any:
        raw = b"".join([chunk async for chunk in stream])
        if not raw.strip():
            return None
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise BadRequestProblem(detail=f"malformed JSON body: {exc}") from None
        # The APIs' one nesting limit: deeper, Connexion's schema check (recursive) was a 500.
        if json_too_deep(value):
            raise BadRequestProblem(detail=f"malformed JSON body: nested deeper than {MAX_JSON_DEPTH} levels")
        return value


def _admin_handler(method: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """An admin method as a Connexion handler: parameters in, one JSON answer out."""

    async def handler(body: t.Any = None, **kwargs: t.Any) -> ConnexionResponse:
        if isinstance(body, bytes):
            # A bodiless call of an optional body: Connexion hands over the schema's default as
            # JSON bytes (admin_guard lets no other body through without a JSON type).
            body = orjson.loads(body) if body.strip() else None
        params = dict(body) if isinstance(body, dict) else ({} if body is None else {"body": body})
        # Connexion adds its security context to the arguments of a handler taking **kwargs.
        params.update({k: v for k, v in kwargs.items() if k not in _CONTEXT})
        result = method(params, None, {})
        return ConnexionResponse(status_code=result.status, mimetype="application/json",
                                 content_type=NEXSIS_JSON, body=dumps(result.body),
                                 headers=result.headers or {})

    # Not functools.wraps: Connexion reads the signature to pass `body` and the parameters.
    handler.__name__ = getattr(method, "__name__", "admin")
    return handler


def _quiet_connexion() -> None:
    # Connexion warns for operations with two body media types (NexSIS takes JSON and forms).
    logging.getLogger("connexion.operations.openapi3").setLevel(logging.ERROR)


def build_host(admin: AdminAPI, *, validate_responses: bool, swagger_ui: bool,
               public_url: str | None = None) -> ASGIApp:
    """The host app: the APIs' Swagger UIs in front of Connexion's admin app.

    ``swagger.SwaggerPages`` serves the spec documents (with this mock as their server) and the UI
    pages of the three APIs; Connexion serves the Swagger UI bundle's files and the admin API.
    """
    _quiet_connexion()
    ui = SwaggerUIOptions(swagger_ui=swagger_ui, swagger_ui_path="/ui")
    app = AsyncApp(__name__, validate_responses=validate_responses, swagger_ui_options=ui,
                   validator_map={"body": MediaTypeDict({"*/*json": OrjsonBodyValidator,
                                                         "application/x-www-form-urlencoded":
                                                             FormDataValidator})})
    with ADMIN_SPEC.open(encoding="utf-8") as fh:
        admin_spec = yaml.safe_load(fh)
    # Strict: an unknown admin query parameter is a 400 (a typo must not silently do nothing).
    app.add_api(admin_spec, base_path=ADMIN_PREFIX, name="admin", strict_validation=True,
                uri_parser_class=AdminURIParser,
                resolver=lambda op_id: _admin_handler(getattr(admin, op_id)))
    errors.install(app)
    uis = SwaggerUIMiddleware(app)
    for name, base in (("nexsis", NEXSIS_PREFIX), ("moodle-ws", "")):
        spec = Specification.load(copy.deepcopy(load_spec(name)))
        uis.add_api(spec, base_path=base, swagger_ui_options=ui)
    return SwaggerPages(uis, {NEXSIS_PREFIX: "nexsis", "": "moodle-ws", ADMIN_PREFIX: admin_spec},
                        public_url=public_url, swagger_ui=swagger_ui)
