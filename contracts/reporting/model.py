"""Tables shared by the Markdown and HTML reports."""

from __future__ import annotations

from nexsis_contracts.results import RunResult


def coverage(run: RunResult) -> tuple[list[int], list[tuple[str, str, dict[int, int]]]]:
    """(status codes seen, rows of (api, operation, {status: count})) for the coverage matrix."""
    codes = sorted({c for r in run.results for c in r.statuses})
    rows = [(r.api, r.name, dict(r.statuses)) for r in run.results]
    return codes, rows
