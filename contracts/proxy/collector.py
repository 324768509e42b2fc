"""What the proxy makes of the traffic: live lines, the collected violations, the HAR, the reports.

It runs in the judging process (`proxy/judging.py`), one exchange at a time, in arrival order.
The reports are the suite's own (`nexsis_contracts.reporting`: JUnit, Markdown, HTML, one testcase
per operation seen), plus ``report.json`` with each violation and its exchange; everything is
redacted with the token values the traffic carried, learned as it passes.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any, TextIO

import orjson

from nexsis_contracts.evidence import curl_of
from nexsis_contracts.proxy.exchange import Exchange
from nexsis_contracts.proxy.har import HarWriter
from nexsis_contracts.proxy.judge import Judge, Verdict
from nexsis_contracts.results import FailureRecord, OperationResult, RunResult
from nexsis_openapi import redact_text

#: Violations kept in full for report.json (all are counted; the HAR has every exchange).
MAX_KEPT = 1000
#: Distinct token values remembered for redaction.
MAX_SECRETS = 256


class Collector:
    def __init__(self, judge: Judge, har: HarWriter | None = None, out: TextIO | None = None) -> None:
        self.judge = judge
        self.har = har
        self.out = out or sys.stdout
        self.secrets: dict[str, None] = {}  # insertion-ordered set
        self.results: dict[tuple[str, str], OperationResult] = {}
        self.not_judged: Counter[str] = Counter()
        self.rules: Counter[str] = Counter()
        self.kept: list[dict[str, Any]] = []
        self.notes: Counter[str] = Counter()  # advisory notes by rule (no effect on the exit code)
        self.notes_kept: list[dict[str, Any]] = []
        self.exchanges = 0
        self.violations = 0
        self.started = time.monotonic()

    def close(self) -> None:
        """Finish the HAR (after the last exchange)."""
        if self.har is not None:
            self.har.close()

    # -- judging ----------------------------------------------------------------------------------------
    def _learn(self, ex: Exchange) -> tuple[str, ...]:
        for token in ex.tokens():
            self.secrets[token] = None
        while len(self.secrets) > MAX_SECRETS:
            del self.secrets[next(iter(self.secrets))]
        return tuple(self.secrets)

    def handle(self, ex: Exchange) -> None:
        """Judge one exchange, record it in the HAR and the results, print its violations."""
        secrets = self._learn(ex)
        try:
            verdict = self.judge.judge(ex)
        except Exception as exc:  # a check's own failure must not stop the proxy
            verdict = Verdict(None, None, not_judged=f"internal error: {type(exc).__name__}: {exc}"[:200])
        self.exchanges += 1
        if self.har is not None:
            self.har.write(ex, secrets)
        self._record(ex, verdict, secrets)

    def _record(self, ex: Exchange, verdict: Verdict, secrets: tuple[str, ...]) -> None:
        for note in verdict.notes:
            self._note(ex, verdict, note.rule, redact_text(note.reason, secrets), secrets)
        if verdict.not_judged:
            self.not_judged[verdict.not_judged] += 1
        if verdict.operation is None or verdict.api is None:
            if verdict.violations:  # an upstream failure on a path of neither spec
                verdict.api, verdict.operation, verdict.label = "other", ex.target.split("?")[0], ex.target
            else:
                return
        key = (verdict.api, verdict.operation)
        result = self.results.get(key)
        if result is None:
            result = self.results[key] = OperationResult(
                api=verdict.api, name=verdict.operation, label=verdict.label
            )
        result.cases += 1
        result.duration += ex.elapsed
        if verdict.response is not None:
            result.observe(verdict.response, validated=not verdict.violations)
        elif ex.status is not None:
            result.statuses[ex.status] += 1
        if not verdict.violations:
            return
        request = ex.redacted_request(secrets)
        response = ex.redacted_response(secrets)
        for v in verdict.violations:
            reason = redact_text(v.reason, secrets)
            self.violations += 1
            self.rules[v.rule] += 1
            self.line(f"VIOLATION {verdict.operation} {v.rule}: {reason}")
            result.add_failure(
                FailureRecord(
                    check=v.rule,
                    title=reason,
                    message=redact_text(v.message, secrets)[:3000],
                    request=request,
                    response=response,
                    curl=redact_text(curl_of(request), secrets),
                )
            )
            if len(self.kept) < MAX_KEPT:
                self.kept.append(
                    {
                        "seq": self.exchanges,
                        "api": verdict.api,
                        "operation": verdict.operation,
                        "rule": v.rule,
                        "reason": reason,
                        "request": request,
                        "response": response,
                    }
                )

    def _note(self, ex: Exchange, verdict: Verdict, rule: str, reason: str, secrets: tuple[str, ...]) -> None:
        self.notes[rule] += 1
        self.line(f"NOTE {verdict.operation} {rule}: {reason}")
        if len(self.notes_kept) < MAX_KEPT:
            self.notes_kept.append(
                {
                    "seq": self.exchanges,
                    "api": verdict.api,
                    "operation": verdict.operation,
                    "rule": rule,
                    "reason": reason,
                    "request": ex.redacted_request(secrets),
                    "response": ex.redacted_response(secrets),
                }
            )

    def line(self, text: str) -> None:
        print(text, file=self.out, flush=True)

    # -- at the end -----------------------------------------------------------------------------------
    def run_result(self, upstream: str) -> RunResult:
        run = RunResult(
            settings_summary={
                "title": "nexsis proxy",
                "base_url": upstream,
                "mode": "proxy (passive)",
                "specs": ["nexsis", "moodle-ws"],
                "seed": "-",
                "max_examples": "-",
                "id_prefix": "-",
                "exchanges": self.exchanges,
                "not_judged": dict(self.not_judged),
            }
        )
        run.results = sorted(self.results.values(), key=lambda r: (r.api, r.name))
        run.requests = self.exchanges
        run.duration = time.monotonic() - self.started
        return run

    def write_reports(self, directory: Path, upstream: str) -> list[Path]:
        from nexsis_contracts.reporting import write_reports

        secrets = tuple(self.secrets)
        paths = write_reports(self.run_result(upstream), directory, secrets, skip=("report.json",))
        document = {
            "upstream": upstream,
            "duration": round(time.monotonic() - self.started, 3),
            "exchanges": self.exchanges,
            "violations": self.violations,
            "rules": dict(self.rules),
            "not_judged": dict(self.not_judged),
            "operations": {
                f"{r.api}:{r.name}": {
                    "exchanges": r.cases,
                    "statuses": dict(r.statuses),
                    "violations": sum(f.count for f in r.failures),
                }
                for r in self.results.values()
            },
            "exchanges_with_violations": self.kept,
            "advisories": {
                "count": sum(self.notes.values()),
                "rules": dict(self.notes),
                "notes": self.notes_kept,
            },
        }
        path = directory / "report.json"
        text = orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode()
        path.write_text(redact_text(text, secrets), encoding="utf-8")
        markdown = directory / "report.md"
        if self.notes and markdown.exists():
            with markdown.open("a", encoding="utf-8") as fh:
                fh.write(redact_text(self._notes_markdown(), secrets))
        return [*paths, path]

    def _notes_markdown(self) -> str:
        lines = [
            "",
            "## Advisory notes (not violations; no effect on the exit code)",
            "",
            "| # | operation | rule | reason |",
            "|---|---|---|---|",
        ]
        for note in self.notes_kept:
            reason = str(note["reason"]).replace("|", "\\|")
            lines.append(f"| {note['seq']} | {note['operation']} | {note['rule']} | {reason} |")
        return "\n".join(lines) + "\n"

    def summary(self) -> str:
        parts = [f"{self.exchanges} exchanges", f"{self.violations} violations"]
        if self.rules:
            parts.append(", ".join(f"{rule}: {n}" for rule, n in sorted(self.rules.items())))
        if self.notes:
            parts.append(f"{sum(self.notes.values())} advisory notes")
        skipped = sum(self.not_judged.values())
        if skipped:
            parts.append(f"{skipped} not judged")
        return "; ".join(parts)
