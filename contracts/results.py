"""What a run found, in the shape the reports and the console render (all text already redacted)."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FailureRecord:
    check: str  # the rule that was broken (check function name)
    title: str
    message: str
    request: dict[str, Any]
    response: dict[str, Any]
    curl: str
    count: int = 1


@dataclass
class OperationResult:
    api: str
    name: str  # operationId, or the scenario name
    label: str  # "PUT /user/{userid}" or the scenario's description
    kind: str = "operation"  # "operation" | "scenario"
    cases: int = 0
    statuses: Counter = field(default_factory=Counter)
    failures: list[FailureRecord] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)
    refused: int = 0
    errors: list[str] = field(default_factory=list)
    duration: float = 0.0
    checks_run: set[str] = field(default_factory=set)
    #: What the answers said: NexSIS `2xx`/status codes; Moodle WS `ok` or the envelope's errorcode.
    outcomes: Counter = field(default_factory=Counter)
    #: Success answers that went through the schema checks (the success schema was verified on them).
    successes: int = 0
    anchor_missing: str | None = None  # why no success request could be prepared (what to configure)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def observe(self, response: Any, *, validated: bool) -> str:
        """Count one answer's status and outcome; return the outcome."""
        outcome = outcome_of(self.api, response)
        with self._lock:
            self.statuses[response.status_code] += 1
            self.outcomes[outcome] += 1
            if validated and outcome == "ok":
                self.successes += 1
        return outcome

    @property
    def success_seen(self) -> bool:
        return self.successes > 0

    def add_failure(self, record: FailureRecord) -> None:
        with self._lock:
            for existing in self.failures:
                if existing.check == record.check and existing.title == record.title:
                    existing.count += 1
                    # The report shows the smallest request that broke the rule: a reader wants the
                    # shortest proof, not the first 1.6 KB of fuzz that happened to fail.
                    if _size(record.request) < _size(existing.request):
                        existing.message, existing.request = record.message, record.request
                        existing.response, existing.curl = record.response, record.curl
                    return
            self.failures.append(record)

    @property
    def verdict(self) -> str:
        if self.failures:
            return "fail"
        if self.errors:
            return "error"
        if self.cases == 0:
            return "skip"
        if self.kind == "scenario" and self.skipped:
            # A scenario that stopped early (after its first reads) never saw its invariants
            # through: it verified nothing, whatever those reads answered, so it is no pass.
            return "skip"
        if self.kind == "operation" and not self.success_seen:
            # Nothing failed, but no answer was a success: its success schema was never checked,
            # so no report may show it green.
            return "unverified"
        return "pass"


def _size(request: dict[str, Any]) -> tuple[int, int]:
    return len(str(request.get("body") or "")), len(str(request.get("url") or ""))


def outcome_of(api: str, response: Any) -> str:
    """`ok` for a success answer; otherwise the status (NexSIS) or the Moodle errorcode (WS)."""
    status = response.status_code
    if api != "moodle-ws":
        return "ok" if 200 <= status < 300 else str(status)
    if status != 200:
        return f"http{status}"
    try:
        body = response.json()
    except ValueError:
        return "notjson"
    if isinstance(body, dict) and "exception" in body:
        return str(body.get("errorcode") or body.get("exception") or "exception")
    return "ok"


def format_counts(counts: Counter) -> str:
    return " ".join(f"{k}:{v}" for k, v in sorted(counts.items(), key=lambda kv: (kv[0] != "ok", str(kv[0]))))


@dataclass
class RunResult:
    settings_summary: dict[str, Any]
    results: list[OperationResult] = field(default_factory=list)
    cleanup_failed: list[str] = field(default_factory=list)
    cleanup_done: list[str] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    planned: list[str] = field(default_factory=list)  # --dry-run
    interrupted: bool = False
    budget_exhausted: bool = False
    unreachable: str | None = None
    duration: float = 0.0
    requests: int = 0

    @property
    def failed(self) -> bool:
        return any(r.failures for r in self.results)

    @property
    def verdict(self) -> str:
        """The run's one verdict, in the order `cli.exit_code` decides the exit code by.

        Every report prints this word, so a report never says "conformant" for a run whose exit
        code says otherwise (cut by the time budget: exit 4; `--require-success` unmet: exit 1).
        """
        if self.failed:
            return "violations"
        if self.cleanup_failed:
            return "records_left"
        if self.budget_exhausted:
            return "incomplete"
        if self.settings_summary.get("require_success") and self.without_success:
            return "unverified"
        return "conformant"

    @property
    def without_success(self) -> list[OperationResult]:
        """Operations (not scenarios) whose success schema no answer verified."""
        return [r for r in self.results if r.kind == "operation" and not r.success_seen]


#: How the reports word a run's verdict (`RunResult.verdict`).
VERDICT_LABELS = {
    "violations": "VIOLATIONS FOUND",
    "records_left": "RECORDS LEFT BEHIND (cleanup failed)",
    "incomplete": "INCOMPLETE (time budget exhausted)",
    "unverified": "UNVERIFIED OPERATIONS (--require-success)",
    "conformant": "conformant",
}
