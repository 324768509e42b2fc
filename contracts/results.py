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
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_failure(self, record: FailureRecord) -> None:
        with self._lock:
            for existing in self.failures:
                if existing.check == record.check and existing.title == record.title:
                    existing.count += 1
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
        return "pass"


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
