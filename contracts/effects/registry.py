"""The effect rules' registry and the probe each rule runs with.

A rule is a small function, registered with `@effect(name, operation, needs=...)`: it writes through
the guarded session, reads the effect back and calls `probe.fail(message)` when the write did not
take effect. The failure is filed under `operation` (the write whose effect is missing), with the
requests that prove it listed in the message and the last one kept as the failure's exchange.

Rules run one after the other after every operation was fuzzed (never inside the worker pool), in
registration order, with ids drawn from the run's own counter: their verdicts do not depend on
`--workers` scheduling.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests

from nexsis_contracts import calls
from nexsis_contracts.graph.base import json_of
from nexsis_contracts.results import OperationResult
from nexsis_contracts.run_context import RunContext
from nexsis_openapi import codec


class RuleFailed(AssertionError):
    """Raised by `Probe.fail`: ends the rule (its later steps would only repeat the finding)."""


class NotApplicable(Exception):
    """The rule cannot run on this target (a record it needs cannot be made): it is skipped, noted."""


@dataclass(frozen=True)
class EffectRule:
    name: str
    api: str
    operation: str  # the write whose effect is checked: the failure is filed under it
    needs: tuple[str, ...]  # every operation the rule sends (all must be selected)
    run: Callable[[Probe], None]


RULES: list[EffectRule] = []


def effect(
    name: str, operation: str, *, api: str = "nexsis", needs: tuple[str, ...] = ()
) -> Callable[[Callable[[Probe], None]], Callable[[Probe], None]]:
    """Register an effect rule (see the module docstring)."""

    def register(fn: Callable[[Probe], None]) -> Callable[[Probe], None]:
        RULES.append(EffectRule(name, api, operation, (operation, *needs), fn))
        return fn

    return register


class Probe:
    """One rule's calls through the guarded session, and the trail of requests that proves a failure."""

    def __init__(self, run: RunContext, rule: EffectRule, result: OperationResult) -> None:
        self.run, self.rule, self.result = run, rule, result
        assert run.graph is not None
        self.graph = run.graph
        self.trail: list[str] = []
        self.last: requests.Response | None = None

    def fresh(self, kind: str) -> str:
        return self.run.rewriter.fresh(kind)

    def nexsis(self, method: str, path: str, json: Any = None) -> requests.Response:
        resp = calls.nexsis(self.run, method, path, json)
        self._note(f"{method} {path}", resp)
        return resp

    def ws(self, function: str, **params: Any) -> tuple[requests.Response, Any]:
        resp = calls.ws(self.run, function, **params)
        shown = codec.encode(params) if params else ""
        self._note(f"{function}({shown[:160]})", resp)
        return resp, json_of(resp)

    def _note(self, what: str, resp: requests.Response) -> None:
        # Not counted in the operation's coverage: the trail holds reads of other operations too.
        body = resp.text if len(resp.text) <= 200 else resp.text[:200] + "..."
        self.trail.append(f"{what} -> {resp.status_code} {body}")
        self.last = resp

    def selected(self, api: str, operation_id: str) -> bool:
        info = self.run.catalog.find(api, operation_id)
        return (
            api in self.run.settings.specs and info is not None and info.matches(self.run.settings.operations)
        )

    def need(self, ok: Any, why: str) -> None:
        """A precondition the rule cannot create (not a violation): the rule is skipped with `why`."""
        if not ok:
            raise NotApplicable(why)

    def ok(self, resp: requests.Response, what: str) -> Any:
        """The write or read must succeed for the rule to go on; a refusal is someone else's rule."""
        body = json_of(resp)
        if not 200 <= resp.status_code < 300 or (isinstance(body, dict) and "exception" in body):
            raise NotApplicable(f"{what} answered {resp.status_code} {resp.text[:80]}")
        return body

    def fail(self, message: str) -> None:
        raise RuleFailed(message)

    def check(self, ok: Any, message: str) -> None:
        if not ok:
            self.fail(message)
