"""The mock server's ASGI app: the request pipeline for both APIs, Connexion for the rest.

``create_app`` is the public factory (tests, ``nexsis mock``, uvicorn ``--factory``). Every API
request takes ``middleware.pipeline.Pipeline`` (limits, decoding, the endpoint table built from
the specs, faults, authentication, validation, ``Service.call``, rendering, journal); the admin
API and the Swagger UIs are served by the Connexion host (``host``). Responses are validated
against the specs when ``validate_responses`` is on, which the tests do. Specs are parsed once per
process (``nexsis_openapi.load_spec`` caches; the endpoint table is built once).
"""

from __future__ import annotations

import os
import typing as t
from pathlib import Path

from . import heap
from .admin import AdminAPI
from .admin_guard import DEFAULT_ADMIN_MAX_BODY, AdminGuard
from .endpoints import table
from .host import build_host
from .middleware.faults import FaultStore
from .middleware.journal import DEFAULT_JOURNAL_SIZE, RequestJournal
from .middleware.limits import DEFAULT_MAX_BODY
from .middleware.pipeline import Pipeline

__all__ = ["create_app", "factory"]

#: Environment variables read by ``factory`` (how ``nexsis mock --workers N`` configures workers).
ENV_PREFIX = "NEXSIS_MOCK_"


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
    public_url: str | None = None,
    admin_max_body: int = DEFAULT_ADMIN_MAX_BODY,
) -> Pipeline:
    """Build the mock: ``service`` defaults to ``Service.create(fixtures, state_file)``.

    ``threaded`` runs ``Service.call`` in the threadpool; by default only with a state file,
    whose durable writes would otherwise block the event loop. ``public_url`` (``--public-url``) is
    the URL clients reach the mock on when that is not the host and port they connect to; it is kept
    as ``app.public_url`` (no trailing slash) for the Origin check and the self-reported URLs.
    Admin requests pass ``admin_guard.AdminGuard`` first (Host, Origin, content type,
    ``admin_token``, ``admin_max_body``).
    """
    if service is None:
        from .domain import Service

        service = Service.create(fixtures=fixtures, state_file=state_file)
    if threaded is None:
        threaded = state_file is not None
    journal = RequestJournal(journal_size)
    if hasattr(service, "secrets"):
        journal.secrets = service.secrets  # the site's tokens, masked wherever an entry quotes them
    faults = FaultStore(fault_seed)
    public_url = public_url.rstrip("/") if public_url else None
    host = AdminGuard(build_host(AdminAPI(service, journal, faults), validate_responses=validate_responses,
                                 swagger_ui=swagger_ui, public_url=public_url),
                      token=admin_token, public_url=public_url, max_body=admin_max_body)
    app = Pipeline(host, service=service, table=table(), journal=journal, faults=faults,
                   max_body=max_body, validate_responses=validate_responses, threaded=threaded)
    app.public_url = public_url
    if hasattr(service, "settle_heap"):
        # Last: the site and the app's own structures (specs, endpoint table, validators, the
        # Connexion host) live as long as the process; frozen, no collection walks them again.
        service.settle_heap()
    heap.bound_pauses()  # and what the site grows by under load is frozen in its turn (heap.py)
    return app


def factory() -> Pipeline:
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
        public_url=env.get(ENV_PREFIX + "PUBLIC_URL") or None,
        admin_max_body=int(env.get(ENV_PREFIX + "ADMIN_MAX_BODY", DEFAULT_ADMIN_MAX_BODY)),
    )
