"""What `nexsis diff` shows: one line per differing call, and the suite's reports plus report.json."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import orjson

from nexsis_contracts.diff.compare import Pair
from nexsis_contracts.diff.scenario import Side
from nexsis_contracts.evidence import curl_of
from nexsis_contracts.results import FailureRecord, OperationResult, RunResult
from nexsis_openapi import redact_text


def _label(pair: Pair) -> str:
    call = pair.call
    step = pair.key[0]
    shown = not step.startswith("anchor") and step != "recorded"
    return f"#{pair.seq} {call.operation}" + (f" [{step}]" if shown else "")


def lines(pairs: list[Pair], secrets: tuple[str, ...]) -> Iterator[str]:
    for pair in pairs:
        if pair.differences:
            first = pair.differences[0].line()
            more = f" (+{len(pair.differences) - 1} more)" if len(pair.differences) > 1 else ""
            yield redact_text(f"DIFF {_label(pair)}: {first}{more}", secrets)


def run_result(pairs: list[Pair], reference: Side, candidate: Side, seed: int) -> RunResult:
    run = RunResult(
        settings_summary={
            "title": "nexsis diff",
            "base_url": f"{reference.base_url} vs {candidate.base_url}",
            "mode": "diff",
            "specs": ["nexsis", "moodle-ws"],
            "seed": seed,
            "max_examples": "-",
            "id_prefix": "-",
        }
    )
    results: dict[str, OperationResult] = {}
    for pair in pairs:
        call = pair.call
        result = results.get(call.operation)
        if result is None:
            result = results[call.operation] = OperationResult(
                api=call.api or "other", name=call.operation, label=call.operation
            )
        result.cases += 1
        if call.status is not None:
            result.statuses[call.status] += 1
            result.outcomes["ok" if not pair.differences else "differs"] += 1
            if not pair.differences:
                result.successes += 1
        for diff in pair.differences:
            ref = pair.reference
            request = (pair.candidate or call).request()
            result.add_failure(
                FailureRecord(
                    check=f"diff_{diff.kind.replace(' ', '_')}",
                    title=f"{_label(pair)}: {diff.line()}"[:300],
                    message=(
                        f"{diff.line()}\n\nreference answer: HTTP {ref.status if ref else '-'}\n"
                        f"{(ref.body if ref else '')[:1500]}"
                    ),
                    request=request,
                    response=(pair.candidate or call).response(),
                    curl=curl_of(request),
                )
            )
    run.results = list(results.values())
    run.requests = len(pairs)
    return run


def write(
    pairs: list[Pair], reference: Side, candidate: Side, directory: Path, secrets: tuple[str, ...], seed: int
) -> list[Path]:
    from nexsis_contracts.reporting import write_reports

    paths = write_reports(run_result(pairs, reference, candidate, seed), directory, secrets)
    document = {
        "reference": reference.base_url,
        "candidate": candidate.base_url,
        "seed": seed,
        "calls": len(pairs),
        "identical": sum(1 for p in pairs if not p.differences),
        "not_exercised": {**reference.not_exercised, **candidate.not_exercised},
        "differences": [
            {
                "seq": p.seq,
                "operation": p.call.operation,
                "step": p.key[0],
                "differences": [
                    {"kind": d.kind, "where": d.where, "detail": d.detail} for d in p.differences
                ],
                "reference": {"request": p.reference.request(), "response": p.reference.response()}
                if p.reference
                else None,
                "candidate": {"request": p.candidate.request(), "response": p.candidate.response()}
                if p.candidate
                else None,
            }
            for p in pairs
            if p.differences
        ],
    }
    path = directory / "report.json"
    path.write_text(
        redact_text(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode(), secrets), encoding="utf-8"
    )
    return [*paths, path]
