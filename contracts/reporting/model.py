"""Tables shared by the Markdown and HTML reports."""

from __future__ import annotations

from dataclasses import dataclass

from nexsis_contracts.results import OperationResult, RunResult, format_counts

UNVERIFIED = "no success seen: success schema unverified"


@dataclass
class CoverageRow:
    api: str
    name: str
    statuses: str  # "200:3 404:5"
    outcomes: str  # WS: "ok:5 invalidparameter:3"; NexSIS: "" (its statuses say it)
    success: str  # "yes (N)", UNVERIFIED, or "-" for scenarios
    result: OperationResult


def success_cell(r: OperationResult) -> str:
    if r.kind != "operation":
        return "-"
    if r.success_seen:
        return f"yes ({r.successes})"
    return UNVERIFIED + (f" (needs {r.anchor_missing})" if r.anchor_missing else "")


def coverage(run: RunResult) -> list[CoverageRow]:
    """Per operation: statuses seen, WS outcomes (success or errorcode), and whether success was seen."""
    return [
        CoverageRow(
            api=r.api,
            name=r.name,
            statuses=" ".join(f"{k}:{v}" for k, v in sorted(r.statuses.items())),
            outcomes=format_counts(r.outcomes) if r.api == "moodle-ws" else "",
            success=success_cell(r),
            result=r,
        )
        for r in run.results
    ]
