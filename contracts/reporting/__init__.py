"""Report writers: JUnit XML for CI, Markdown and HTML for people. Inputs are already redacted."""

from __future__ import annotations

from pathlib import Path

from nexsis_contracts.results import RunResult
from nexsis_openapi import redact_text


def write_reports(run: RunResult, directory: Path, secrets: tuple[str, ...]) -> list[Path]:
    from nexsis_contracts.reporting import html, junit, markdown

    directory.mkdir(parents=True, exist_ok=True)
    out = []
    for name, render in (
        ("junit.xml", junit.render),
        ("report.md", markdown.render),
        ("report.html", html.render),
    ):
        path = directory / name
        # A second pass over the rendered text: nothing in a report may carry a token, whatever its path.
        path.write_text(redact_text(render(run), secrets), encoding="utf-8")
        out.append(path)
    return out
