"""Fixtures for the domain tests: services built without HTTP."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from nexsis_mock.domain import Service

DATA = Path(__file__).resolve().parents[1] / "data"
SEED = DATA / "moodle-ws-seed.yaml"
NEXSIS_KEY = "nexsis-demo-api-key-0001"


class Clock:
    """A settable clock so that timestamps in answers are predictable."""

    def __init__(self, now: float = 1_800_000_000) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def svc(clock: Clock) -> Service:
    """The embedded default site, in memory."""
    return Service.create(clock=clock)


@pytest.fixture
def seed(clock: Clock) -> Service:
    """The recorded Moodle's starting data."""
    return Service.create([SEED], clock=clock)


@pytest.fixture
def nx(svc: Service) -> Callable:
    """Call a NexSIS operation on the default site with its API key."""

    def call(op: str, **params):
        return svc.call("nexsis", op, params, NEXSIS_KEY)

    return call


@pytest.fixture
def ws(svc: Service) -> Callable:
    """Call a web-service function on the default site with the admin token."""

    def call(function: str, token: str = "ws-admin-token-0001", **params):
        return svc.call("moodle-ws", function, params, token)

    return call
