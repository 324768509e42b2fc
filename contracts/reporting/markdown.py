"""A Markdown report: verdicts, coverage matrix, failures with request, response and curl."""

from __future__ import annotations

from nexsis_contracts.reporting.model import UNVERIFIED, coverage
from nexsis_contracts.results import VERDICT_LABELS, RunResult


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render(run: RunResult) -> str:
    s = run.settings_summary
    lines = [
        f"# {s.get('title', 'nexsis check')} report",
        "",
        f"- Target: `{s['base_url']}`  mode: `{s['mode']}`  seed: `{s['seed']}` "
        f" (rerun with `--seed {s['seed']}`)",
        f"- Specs: {', '.join(s['specs'])}; max examples {s['max_examples']}; id prefix `{s['id_prefix']}`",
        f"- Requests: {run.requests}; duration {run.duration:.1f}s"
        + ("; **interrupted**" if run.interrupted else "")
        + ("; **time budget exhausted**" if run.budget_exhausted else ""),
        f"- Verdict: **{VERDICT_LABELS[run.verdict]}**"
        + (
            " (**cut short by the time budget**: exit code 4 unless violations were found)"
            if run.budget_exhausted
            else ""
        ),
        f"- Success answers: {sum(1 for r in run.results if r.kind == 'operation' and r.success_seen)} of "
        f"{sum(1 for r in run.results if r.kind == 'operation')} operations"
        + ("; `--require-success` is on" if s.get("require_success") else "")
        + (
            f"; **{len(run.without_success)} unverified** (no success seen, verdict `unverified`)"
            if run.without_success
            else ""
        ),
        "",
    ]
    lines += [
        "## Operations",
        "",
        "| API | operation | verdict | cases | failures | skipped | refused |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in run.results:
        lines.append(
            f"| {r.api} | {_cell(r.name)} | {r.verdict} | {r.cases} | "
            f"{_cell(', '.join(sorted({f.check for f in r.failures})) or '-')} | "
            f"{sum(r.skipped.values())} | {r.refused} |"
        )
    lines += [
        "",
        "## Coverage (statuses, Moodle outcomes, success seen)",
        "",
        "| API | operation | statuses | outcomes | success |",
        "|---|---|---|---|---|",
    ]
    for row in coverage(run):
        lines.append(
            f"| {row.api} | {_cell(row.name)} | {row.statuses or '-'} | {_cell(row.outcomes) or '-'} | "
            f"{_cell(row.success)} |"
        )
    missing = run.without_success
    if missing:
        lines += ["", f"## Operations with {UNVERIFIED}", ""]
        lines += [
            f"- {r.api} {r.name}" + (f": needs {r.anchor_missing}" if r.anchor_missing else "")
            for r in missing
        ]
    lines += ["", "## Failures", ""]
    if not run.failed:
        lines.append("None.")
    for r in run.results:
        for f in r.failures:
            lines += [
                f"### {r.api} {r.name}: `{f.check}`",
                "",
                f"**{_cell(f.title)}** (seen {f.count}x)",
                "",
                "```",
                f.message,
                "```",
                "",
                "Request:",
                "",
                "```http",
                f"{f.request.get('method')} {f.request.get('url')}",
                *[f"{k}: {v}" for k, v in f.request.get("headers", {}).items()],
                "",
                f.request.get("body", ""),
                "```",
                "",
                "Response:",
                "",
                "```http",
                f"HTTP {f.response.get('status')}",
                *[f"{k}: {v}" for k, v in f.response.get("headers", {}).items()],
                "",
                f.response.get("body", ""),
                "```",
                "",
                "Reproduce:",
                "",
                "```sh",
                f.curl,
                "```",
                "",
            ]
    if any(r.skipped for r in run.results):
        lines += ["", "## Skipped cases", ""]
        for r in run.results:
            for reason, n in r.skipped.items():
                lines.append(f"- {r.api} {r.name}: {n}x {reason}")
    lines += ["", "## Cleanup", ""]
    lines += [f"- removed: {d}" for d in run.cleanup_done] or ["- nothing was created"]
    if run.cleanup_failed:
        lines += ["", "**Could not be removed (clean up by hand):**", ""] + [
            f"- {d}" for d in run.cleanup_failed
        ]
    if run.refusals:
        lines += ["", "## Requests refused by the safety guard", ""] + [
            f"- {_cell(x)}" for x in run.refusals[:200]
        ]
    if run.planned:
        lines += ["", "## Dry run: requests that would be sent", "", "```", *run.planned, "```"]
    return "\n".join(lines) + "\n"
