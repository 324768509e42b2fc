"""Stateful scenarios: sequences whose invariants no single request can show.

`nexsis` holds the NexSIS state machine, `ws` the tool_muprog allocation scenario, `common` what they
share. Each step's response is also judged by the operation's schemathesis checks. The write-effect
rules of `nexsis_contracts.effects` run right before them (see `runner.Run.execute`).
"""

from __future__ import annotations

from nexsis_contracts.run_context import RunContext
from nexsis_contracts.scenarios.nexsis import run_machine
from nexsis_contracts.scenarios.ws import ws_allocation


def run_scenarios(run: RunContext) -> None:
    if run.settings.mode == "read-only":
        return
    if "nexsis" in run.settings.specs:
        run_machine(run)
    if "moodle-ws" in run.settings.specs:
        ws_allocation(run)
