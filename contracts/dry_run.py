"""`--dry-run`: every case generated, rewritten and judged by the guard as in a real run, none sent."""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from nexsis_contracts.catalog import OperationInfo
from nexsis_contracts.results import OperationResult
from nexsis_contracts.rewrite import Skip
from nexsis_contracts.run_context import RunContext
from nexsis_openapi import redact_text


def dry_run(run: RunContext, work: list[tuple[str, Any, OperationInfo]]) -> None:
    from hypothesis import HealthCheck, Phase, given, seed
    from hypothesis import settings as hsettings
    from schemathesis import GenerationMode

    for api, operation, info in work:
        run.result.results.append(OperationResult(api=api, name=info.operation_id, label=info.label))
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            plan = _planner(run, info)
            test = hsettings(
                max_examples=run.settings.max_examples,
                database=None,
                deadline=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )(given(case=operation.as_strategy(generation_mode=mode))(plan))
            seed(run.settings.seed ^ zlib.crc32(f"{api}:{info.operation_id}:{mode.value}".encode()))(test)()


def _planner(run: RunContext, info: OperationInfo) -> Callable[[Any], None]:
    """What --dry-run does with a case: rewrite it, ask the guard, list it; never send it."""
    from requests import Request

    def plan(case: Any) -> None:
        try:
            run.rewriter.apply(case, info)
        except Skip as skip:
            run.result.planned.append(f"SKIP {info.operation_id} ({skip})")
            return
        data = case.as_transport_kwargs(headers=run.auth_kwargs(info.api).get("headers"))
        prepared = run.session.prepare_request(
            Request(
                method=data["method"],
                url=data["url"],
                params=data.get("params"),
                data=data.get("data"),
                json=data.get("json"),
                headers=data.get("headers"),
            )
        )
        url = str(prepared.url).split("#")[0]
        decision = run.guard.classify(str(prepared.method), url, prepared.body)
        refused = run.guard._refusal(decision, str(prepared.method))
        line = f"{prepared.method} {url}"
        if prepared.body:
            b = prepared.body
            line += " " + (b.decode("utf-8", "replace") if isinstance(b, bytes) else str(b))[:200]
        line = redact_text(line, run.settings.secrets)
        run.result.planned.append(("REFUSE " + line + f"  ({refused})") if refused else line)

    return plan
