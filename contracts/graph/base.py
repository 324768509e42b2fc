"""Plumbing of the fixture graph: the guarded calls, memoisation and the pools the rewriter draws from.

The graph's layers build on each other in one line (`base` -> `nexsis` -> `ws` -> `anchors`), so each
file reads on its own: what a record needs is always defined above it.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from nexsis_contracts import calls
from nexsis_contracts.run_context import RunContext
from nexsis_contracts.safety import RefusedRequest

#: A completion time (2026-01-01) inside every range a deployment accepts.
COMPLETION_TIME = 1767225600
START = "2026-01-05T08:00:00+00:00"


@dataclass
class Anchor:
    """One request expected to succeed: path/query/body for the operation, ids already prepared."""

    path_parameters: dict[str, Any] = field(default_factory=dict)
    query: dict[str, Any] | None = None
    body: Any = None
    media_type: str | None = None


def json_of(resp: requests.Response | None) -> Any:
    if resp is None:
        return None
    try:
        return resp.json()
    except ValueError:
        return None


def succeeded(resp: requests.Response | None) -> bool:
    if resp is None or not 200 <= resp.status_code < 300:
        return False
    body = json_of(resp)
    return not (isinstance(body, dict) and "exception" in body)


def as_int(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


class GraphBase:
    """The calls every record builder makes, bound to one run's session, tokens and id prefix."""

    def __init__(self, run: RunContext) -> None:
        self.run = run
        self.settings = run.settings
        self.prefix = run.settings.id_prefix
        self.mode = run.settings.mode
        self.nexsis = "nexsis" in run.settings.specs and bool(run.settings.tokens.get("nexsis"))
        self.ws = "moodle-ws" in run.settings.specs and bool(run.settings.tokens.get("moodle-ws"))
        self._memo: dict[str, Any] = {}
        self._lock = threading.RLock()
        self._counter = itertools.count(1)

    # -- plumbing ---------------------------------------------------------------------------------
    @property
    def writes(self) -> bool:
        return self.mode != "read-only"

    def fresh(self, letter: str) -> str:
        return f"{self.prefix}{letter}{next(self._counter)}x"

    def call(self, method: str, path: str, json: Any = None) -> requests.Response | None:
        """A NexSIS request through the guarded session; None if refused or unsendable."""
        if not self.nexsis:
            return None
        try:
            return calls.nexsis(self.run, method, path, json)
        except (RefusedRequest, requests.RequestException):
            return None

    def ws_call(self, function: str, **params: Any) -> tuple[requests.Response | None, Any]:
        if not self.ws:
            return None, None
        try:
            resp = calls.ws(self.run, function, **params)
        except (RefusedRequest, requests.RequestException):
            return None, None
        return resp, json_of(resp)

    def _memoize(self, key: str, build: Callable[[], Any]) -> Any:
        with self._lock:
            if key not in self._memo:
                self._memo[key] = build()
            return self._memo[key]

    def _pooled(self, kind: str, value: str | None) -> str | None:
        """Offer a shared (never deleted) record to the rewriter's random picks."""
        if value:
            self.run.rewriter.add_pool(kind, value)
        return value

    def sandbox(self, api: str, kind: str) -> list[Any]:
        return self.settings.sandbox_ids(api, kind)

    def _learn_ws(self, kind: str, value: Any) -> int | None:
        number = as_int(value)
        if number is not None and number > 0:
            self.run.ledger.add_ws(kind, number)
        return number
