"""What the parts of a run (fixture graph, scenarios, auth probes, dry run, cleanup) may use of it.

`runner.Run` is the one implementation; the parts depend on this Protocol instead, so each can be
read (and tested) without the engine that drives it, and a new part states what it needs here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from nexsis_contracts.catalog import Catalog, OperationInfo
    from nexsis_contracts.config import Settings
    from nexsis_contracts.graph import FixtureGraph
    from nexsis_contracts.results import OperationResult, RunResult
    from nexsis_contracts.rewrite import Rewriter
    from nexsis_contracts.safety import Guard, Ledger
    from nexsis_contracts.transport import GuardedSession


class RunContext(Protocol):
    """One `nexsis check` run as its parts see it: settings, the guarded session, results, records."""

    settings: Settings
    catalog: Catalog
    ledger: Ledger
    guard: Guard
    session: GuardedSession
    rewriter: Rewriter
    result: RunResult
    schemas: dict[str, Any]
    graph: FixtureGraph | None
    #: The first positive case of each operation, which the auth probes replay with other tokens.
    first_positive: dict[str, Any]
    #: WS: a positive case that the full token ran successfully (the no-capability probe replays it).
    first_success: dict[str, Any]

    def auth_kwargs(self, api: str, how: str = "default") -> dict[str, Any]:
        """The request keyword arguments that carry the run's token for `api`."""
        ...

    def run_case(
        self, case: Any, info: OperationInfo, result: OperationResult, rewrite: bool = True
    ) -> Any: ...

    def checks_for(self, case: Any, info: OperationInfo, response: Any = None) -> list[Any]: ...

    def record_failure(
        self, result: OperationResult, check: str, title: str, message: str, response: Any, case: Any | None
    ) -> None: ...
