"""Report writers: JUnit XML for CI, Markdown and HTML for people, JSON for tools. Inputs are redacted."""

from __future__ import annotations

from pathlib import Path

from nexsis_contracts.results import RunResult
from nexsis_openapi import redact_text


def write_reports(
    run: RunResult, directory: Path, secrets: tuple[str, ...], skip: tuple[str, ...] = ()
) -> list[Path]:
    """Write every report (but the file names in `skip`: a command with its own report.json)."""
    from nexsis_contracts.reporting import html, json_report, junit, markdown

    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, render in (
        ("junit.xml", junit.render),
        ("report.md", markdown.render),
        ("report.html", html.render),
        ("report.json", json_report.render),
    ):
        if name in skip:
            continue
        path = directory / name
        # A second pass over the rendered text: nothing in a report may carry a token, whatever its path.
        path.write_text(redact_text(render(run), secrets), encoding="utf-8")
        out.append(path)
    return out
