"""What the terminal shows after a run: the summary table, then each failure with its proof.

A QA lead reading the console must see, per failure, the rule, a one-line reason and the request
(method, URL, status, and the curl line that sends it again) without opening report.md. Printed as
plain text, not rich markup: URLs and bodies hold `[...]` (PHP bracket notation).
"""

from __future__ import annotations

from nexsis_contracts.reporting.model import UNVERIFIED
from nexsis_contracts.results import VERDICT_LABELS, FailureRecord, RunResult, format_counts


def reason(f: FailureRecord) -> str:
    """One line saying what broke: the title, and the message's first line when it says more."""
    first = next((line.strip() for line in f.message.splitlines() if line.strip()), "")
    text = f.title if not first or first == f.title or first in f.title else f"{f.title}: {first}"
    return text if len(text) <= 240 else text[:237] + "..."


def failure_lines(run: RunResult) -> list[str]:
    lines: list[str] = []
    for r in run.results:
        for f in r.failures:
            seen = f" (seen {f.count}x)" if f.count > 1 else ""
            lines += [
                f"FAIL {r.api} {r.name} [{f.check}] {reason(f)}{seen}",
                f"     {f.request.get('method')} {f.request.get('url')} -> HTTP {f.response.get('status')}",
                f"     {f.curl}",
            ]
    return lines


def verdict_line(run: RunResult) -> str:
    """The run in one line: what a CI log's last line should say."""
    operations = [r for r in run.results if r.kind == "operation"]
    failed = sum(1 for r in run.results if r.failures)
    head = f"VIOLATIONS in {failed} of {len(run.results)} tests" if failed else VERDICT_LABELS[run.verdict]
    unverified = len(run.without_success)
    return (
        f"nexsis check: {head}; {len(operations) - unverified} of {len(operations)} operations "
        f"verified by a success answer" + (f", {unverified} unverified" if unverified else "")
    )


def summary_table(result: RunResult, interactive: bool) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console(force_terminal=interactive, width=None if interactive else 200)
    table = Table(title="nexsis check")
    for col in ("API", "operation", "verdict", "cases", "statuses", "outcomes", "success", "rules broken"):
        table.add_column(col)
    for r in result.results:
        statuses = " ".join(f"{k}:{v}" for k, v in sorted(r.statuses.items()))
        colour = {"pass": "green", "fail": "red"}.get(r.verdict, "yellow")
        if r.kind != "operation":
            success = "-"
        elif r.success_seen:
            success = f"[green]yes ({r.successes})[/]"
        else:
            success = "[red]NO: success schema unverified[/]"
        table.add_row(
            r.api,
            escape(r.name),
            f"[{colour}]{r.verdict}[/]",
            str(r.cases),
            statuses,
            escape(format_counts(r.outcomes)) if r.api == "moodle-ws" else "",
            success,
            ", ".join(sorted({f.check for f in r.failures})),
        )
    console.print(table)
    missing = result.without_success
    if missing:
        console.print(
            f"[yellow]unverified: {len(missing)} operation(s) with {UNVERIFIED}:[/] "
            + ", ".join(r.name for r in missing)
        )
    if result.budget_exhausted:
        console.print("[yellow]time budget exhausted: the run was cut short (cleanup done)[/]")
