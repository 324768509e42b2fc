"""The mock server's ASGI app: both specs under Connexion 3, behind the front middleware.

``create_app`` is the public factory (tests, ``nexsis mock``, uvicorn ``--factory``). Every request
to an API path is validated against its spec (strict: unknown query and form parameters are
refused, as Moodle refuses them); responses are validated too when ``validate_responses`` is on,
which the tests do. Specs are parsed once per process (``nexsis_openapi.load_spec`` caches).
"""

from __future__ import annotations

import copy
import logging
import os
import typing as t
from pathlib import Path

import yaml
from connexion import AsyncApp
from connexion.options import SwaggerUIOptions

from nexsis_openapi import load_spec

from .admin import SPEC_PATH as ADMIN_SPEC
from .admin import AdminAPI
from .middleware import errors
from .middleware.dispatch import MockASGIApp, OperationAdapter
from .middleware.faults import FaultStore
from .middleware.front import ADMIN_PREFIX, NEXSIS_PREFIX, MockFront
from .middleware.journal import DEFAULT_JOURNAL_SIZE, Journal
from .middleware.limits import DEFAULT_MAX_BODY
from .middleware.operations import OperationRouter
from .middleware.stack import middlewares, security_map
from .middleware.validation import MoodleURIParser, PHPURIParser, validator_map

__all__ = ["create_app", "factory"]

#: Environment variables read by ``factory`` (how ``nexsis mock --workers N`` configures workers).
ENV_PREFIX = "NEXSIS_MOCK_"


def _service_call(service: t.Any, api: str) -> t.Callable[[str], OperationAdapter]:
    def resolve(operation_id: str, threaded: bool = False) -> OperationAdapter:
        def call(params: dict, token: str | None, scope: dict) -> t.Any:
            return service.call(api, operation_id, params, token)

        return OperationAdapter(api, operation_id, call, threaded=threaded)

    return resolve


def _ws_functions(spec: dict[str, t.Any]) -> list[str]:
    return [op["operationId"] for item in spec["paths"].values() for op in item.values()
            if isinstance(op, dict) and "operationId" in op]


class MockApp(AsyncApp):
    """AsyncApp whose inner app calls the bound adapters directly (see dispatch.MockASGIApp)."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        super().__init__(*args, **kwargs)
        self._middleware_app = MockASGIApp()
        self.middleware.app = self._middleware_app


def _quiet_connexion() -> None:
    # Connexion warns on every request to an operation with two body media types (NexSIS
    # accepts JSON and form bodies by design): noise, and a log call on the hot path.
    logging.getLogger("connexion.operations.openapi3").setLevel(logging.ERROR)


def create_app(
    service: t.Any = None,
    *,
    validate_responses: bool = False,
    fixtures: list[Path] | None = None,
    state_file: Path | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    journal_size: int = DEFAULT_JOURNAL_SIZE,
    admin_token: str | None = None,
    fault_seed: int | None = None,
    threaded: bool | None = None,
    swagger_ui: bool = True,
    precomposed: bool = True,
) -> MockFront:
    """Build the mock: ``service`` defaults to ``Service.create(fixtures, state_file)``.

    ``threaded`` runs ``Service.call`` in the threadpool; by default only with a state file,
    whose durable writes would otherwise block the event loop. ``precomposed=False`` sends API
    requests through Connexion's whole middleware chain instead of the ``OperationRouter`` (the
    same checks, slower): the reference the router is tested against.
    """
    if service is None:
        from .domain import Service

        service = Service.create(fixtures=fixtures, state_file=state_file)
    if hasattr(service, "settle_heap"):
        service.settle_heap()
    if threaded is None:
        threaded = state_file is not None
    _quiet_connexion()
    journal = Journal(journal_size)
    faults = FaultStore(fault_seed)
    ui = SwaggerUIOptions(swagger_ui=swagger_ui, swagger_ui_path="/ui")

    app = MockApp(__name__, middlewares=middlewares(validate_responses), strict_validation=True,
                  validate_responses=validate_responses, validator_map=validator_map(),
                  swagger_ui_options=ui)

    nexsis_resolve = _service_call(service, "nexsis")
    # NexSIS is a PHP endpoint that reads the parameters it knows; nothing says it rejects others,
    # so the mock does not either (a stricter mock fails client code a real site accepts). Moodle
    # web services do reject unknown parameters (invalidparameter): strict there.
    app.add_api(copy.deepcopy(load_spec("nexsis")), base_path=NEXSIS_PREFIX, name="nexsis",
                strict_validation=False,
                resolver=lambda op_id: nexsis_resolve(op_id, threaded),
                uri_parser_class=PHPURIParser, security_map=security_map(service.check_nexsis_token))

    ws_spec = copy.deepcopy(load_spec("moodle-ws"))
    ws_resolve = _service_call(service, "moodle-ws")
    app.add_api(ws_spec, base_path="", name="moodle-ws",
                resolver=lambda op_id: ws_resolve(op_id, threaded),
                uri_parser_class=MoodleURIParser, security_map=security_map(service.check_ws_token))

    admin = AdminAPI(service, journal, faults)
    with ADMIN_SPEC.open(encoding="utf-8") as fh:
        admin_spec = yaml.safe_load(fh)
    app.add_api(admin_spec, base_path=ADMIN_PREFIX, name="admin",
                resolver=lambda op_id: OperationAdapter("admin", op_id, getattr(admin, op_id)),
                uri_parser_class=PHPURIParser, security_map=security_map(lambda token: True))

    errors.install(app)
    front = MockFront(app, service=service, journal=journal, faults=faults,
                      ws_functions=_ws_functions(ws_spec), max_body=max_body, admin_token=admin_token,
                      router=OperationRouter(app) if precomposed else None)
    front.connexion = app  # type: ignore[attr-defined]
    return front


def factory() -> MockFront:
    """``uvicorn --factory nexsis_mock.app:factory``: configuration from NEXSIS_MOCK_* variables."""
    env = os.environ
    fixtures = [Path(p) for p in env.get(ENV_PREFIX + "FIXTURES", "").split(os.pathsep) if p]
    state = env.get(ENV_PREFIX + "STATE")
    return create_app(
        fixtures=fixtures or None,
        state_file=Path(state) if state else None,
        max_body=int(env.get(ENV_PREFIX + "MAX_BODY", DEFAULT_MAX_BODY)),
        journal_size=int(env.get(ENV_PREFIX + "JOURNAL_SIZE", DEFAULT_JOURNAL_SIZE)),
        admin_token=env.get(ENV_PREFIX + "ADMIN_TOKEN") or None,
    )
