"""report.json: the whole run as data, for dashboards and for merging pytest-xdist workers' runs.

`render` and `load` are inverse (a worker writes its part, the controller loads and merges the
parts, then renders every report once from the merged run), so this is the one serialisation of a
`RunResult`; it carries each operation's verdict, `unverified` included, next to the counts.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import fields
from typing import Any

from nexsis_contracts.results import FailureRecord, OperationResult, RunResult

VERSION = 1
_RUN_FIELDS = ("cleanup_failed", "cleanup_done", "refusals", "planned", "interrupted", "budget_exhausted",
               "unreachable", "duration", "requests")


def _operation(r: OperationResult) -> dict[str, Any]:
    return {
        "api": r.api,
        "name": r.name,
        "label": r.label,
        "kind": r.kind,
        "verdict": r.verdict,
        "success_seen": r.success_seen,
        "cases": r.cases,
        "successes": r.successes,
        "statuses": {str(k): v for k, v in sorted(r.statuses.items())},
        "outcomes": dict(sorted(r.outcomes.items())),
        "skipped": dict(r.skipped),
        "refused": r.refused,
        "errors": list(r.errors),
        "duration": round(r.duration, 3),
        "checks_run": sorted(r.checks_run),
        "anchor_missing": r.anchor_missing,
        "failures": [{f.name: getattr(x, f.name) for f in fields(FailureRecord)} for x in r.failures],
    }


def as_data(run: RunResult) -> dict[str, Any]:
    return {
        "version": VERSION,
        "verdict": run.verdict,
        "unverified": [f"{r.api}:{r.name}" for r in run.without_success],
        "settings": run.settings_summary,
        **{name: getattr(run, name) for name in _RUN_FIELDS},
        "operations": [_operation(r) for r in run.results],
    }


def render(run: RunResult) -> str:
    return json.dumps(as_data(run), indent=2, ensure_ascii=False, default=str) + "\n"


def load(data: dict[str, Any]) -> RunResult:
    """The RunResult `render` wrote (verdicts are recomputed from the counts, not trusted)."""
    run = RunResult(settings_summary=dict(data.get("settings") or {}))
    for name in _RUN_FIELDS:
        if name in data:
            setattr(run, name, data[name])
    for op in data.get("operations", []):
        result = OperationResult(api=op["api"], name=op["name"], label=op.get("label", ""), kind=op["kind"])
        result.cases, result.successes = op.get("cases", 0), op.get("successes", 0)
        result.statuses = Counter({int(k): v for k, v in op.get("statuses", {}).items()})
        result.outcomes = Counter(op.get("outcomes", {}))
        result.skipped = Counter(op.get("skipped", {}))
        result.refused = op.get("refused", 0)
        result.errors = list(op.get("errors", []))
        result.duration = op.get("duration", 0.0)
        result.checks_run = set(op.get("checks_run", []))
        result.anchor_missing = op.get("anchor_missing")
        result.failures = [FailureRecord(**f) for f in op.get("failures", [])]
        run.results.append(result)
    return run


def merge(parts: list[RunResult]) -> RunResult:
    """One run from the runs of several workers (each tested its own operations, with its own prefix)."""
    if not parts:
        return RunResult(settings_summary={})
    merged = RunResult(settings_summary=dict(parts[0].settings_summary))
    prefixes = sorted({str(p.settings_summary.get("id_prefix", "")) for p in parts})
    merged.settings_summary["id_prefix"] = ", ".join(p for p in prefixes if p)
    merged.settings_summary["workers"] = len(parts)
    for part in parts:
        merged.results += part.results
        for name in ("cleanup_failed", "cleanup_done", "refusals", "planned"):
            getattr(merged, name).extend(getattr(part, name))
        merged.interrupted |= part.interrupted
        merged.budget_exhausted |= part.budget_exhausted
        merged.unreachable = merged.unreachable or part.unreachable
        merged.duration = max(merged.duration, part.duration)
        merged.requests += part.requests
    merged.results.sort(key=lambda r: (r.api, r.kind != "operation", r.name))
    return merged
