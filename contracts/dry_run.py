"""`--dry-run`: every case generated, rewritten and judged by the guard as in a real run, none sent.

Each planned request is listed with its body (and content type) on the lines below it.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from typing import Any

from nexsis_contracts.catalog import OperationInfo
from nexsis_contracts.evidence import body_text
from nexsis_contracts.results import OperationResult
from nexsis_contracts.rewrite import Skip
from nexsis_contracts.run_context import RunContext
from nexsis_openapi import redact_text

#: Longer bodies are cut in the listing (their length is said); generated ones rarely reach it.
MAX_BODY = 8000


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
        line = f"{prepared.method} {url}" + (f"  (REFUSED: {refused})" if refused else "")
        if refused:
            line = "REFUSE " + line
        if prepared.body:
            # The body in full, as it would go out, under its content type (a reader checks what
            # would be written before letting a run near a site).
            text = body_text(prepared)
            if len(text) > MAX_BODY:
                text = text[:MAX_BODY] + f" ... ({len(text)} characters in all)"
            ctype = prepared.headers.get("Content-Type", "no content type")
            line += f"\n    Content-Type: {ctype}\n    " + text.replace("\n", "\n    ")
        run.result.planned.append(redact_text(line, run.settings.secrets))

    return plan
