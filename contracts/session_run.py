"""A run driven one operation at a time: what the pytest plugin needs for -k/-m and pytest-xdist.

`nexsis check` runs everything in `Run.execute`. Under pytest each selected test asks for its own
operation when it runs, so a deselected test generates nothing, and each pytest-xdist worker (its
own process, its own `SessionRun`, so its own run prefix) tests only the operations scheduled on
it and cleans up only what it created (`finish`). Same engine, same order of steps per operation
(`Run._operation`), no signal handlers of its own (pytest owns Ctrl-C; `finish` runs from
`pytest_sessionfinish` either way).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Any

from nexsis_contracts.catalog import OperationInfo
from nexsis_contracts.results import OperationResult, RunResult
from nexsis_contracts.runner import Run


class _OneApi:
    """The run as the scenarios see it, with `settings.specs` narrowed to one API."""

    def __init__(self, run: Run, api: str) -> None:
        self._run = run
        self.settings = dataclasses.replace(run.settings, specs=(api,))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._run, name)


class SessionRun(Run):
    """`start` once, then `operation` / `scenarios` per test, then `finish` once."""

    started: float | None = None
    start_error: str | None = None  # why start() failed (every test fails with it)
    _work: dict[tuple[str, str], tuple[Any, OperationInfo]]

    def start(self) -> None:
        """Load the schemas, ask the preflight (raises `preflight.Unreachable`), build the graph."""
        from nexsis_contracts import schemas
        from nexsis_contracts.graph import FixtureGraph

        self.started = time.monotonic()
        self._work = {}
        for api in self.settings.specs:
            self.schemas[api] = schemas.load_schema(api, self.settings, self.session)
            for operation, info in schemas.selected_operations(
                self.schemas[api], api, self.settings, self.catalog
            ):
                self._work[(api, info.operation_id)] = (operation, info)
        self._preflight()
        self.graph = FixtureGraph(self)
        self.rewriter.graph = self.graph

    def operation(self, api: str, operation_id: str) -> OperationResult | None:
        found = self._work.get((api, operation_id))
        if found is None:
            return None
        result = self._operation(api, *found)
        if self.settings.stateful:
            from nexsis_contracts.effects import run_effects

            # Its write-effect rules right after it, so its test's verdict includes them.
            run_effects(self, only=(api, operation_id))
        return result

    def scenarios(self, api: str) -> list[OperationResult]:
        """The stateful scenarios of one API; their results (kind "scenario")."""
        from nexsis_contracts.scenarios import run_scenarios

        before = len(self.result.results)
        run_scenarios(_OneApi(self, api))  # a RunContext by delegation (__getattr__)
        return [r for r in self.result.results[before:] if r.kind == "scenario"]

    def finish(self) -> RunResult:
        """Clean up what this process created and close the result."""
        try:
            self.cleanup()
        finally:
            self.result.refusals = [str(r) for r in self.guard.refusals]
            self.result.requests = len(self.recorder.exchanges)
            self.result.duration = time.monotonic() - (self.started or time.monotonic())
        return self.result
