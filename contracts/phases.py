"""schemathesis' examples and coverage phases, fed through the suite's own case loop.

`st run` runs four phases: examples (the spec's `example`/`examples`), coverage (boundary values,
each optional property alone, missing required fields, wrong types: deterministic, derived from the
schema), fuzzing (hypothesis strategies) and stateful (links). The runner takes the cases of the
first two from schemathesis' own generators (`generate_example_cases`, `CoverageGenerator`) instead
of writing its own boundary logic, then sends and judges them exactly as its fuzzed cases: through
the rewriter (ids the run may use, a share bound to the fixture graph), the guarded session and
the per-check judgement. Coverage can yield dozens of cases per operation; an evenly spread
selection of at most `limit` per mode (half of `--max-examples`) keeps a run's size proportional to
`--max-examples`.
"""

from __future__ import annotations

import itertools
from typing import Any

#: Generated security parameters: the run places the token itself (a generated `token=` next to the
#: Bearer header would make the request ambiguous, not invalid in the way the case means).
SECURITY_QUERY = ("token", "wstoken")


def _spread(cases: list[Any], limit: int) -> list[Any]:
    if len(cases) <= limit:
        return cases
    step = len(cases) / limit
    return [cases[int(i * step)] for i in range(limit)]


def explicit_cases(operation: Any, mode: Any, limit: int) -> list[Any]:
    """The examples-phase (positive mode only) and coverage-phase cases of one operation and mode."""
    from schemathesis.generation.drivers import CoverageGenerator
    from schemathesis.generation.feedback import NO_FEEDBACK
    from schemathesis.generation.hypothesis.builder import generate_example_cases
    from schemathesis.generation.overrides import Override

    out: list[Any] = []
    if mode.is_positive:

        def marks() -> None:
            """Where schemathesis notes problems of the spec's examples (not used by the run)."""

        out.extend(
            itertools.islice(
                generate_example_cases(test=marks, operation=operation, fill_missing=False), limit
            )
        )
    config = operation.schema.config.generation_for(operation=operation, phase="coverage")
    generator = CoverageGenerator(
        operation=operation,
        generation_modes=[mode],
        generation_config=config,
        auth_storage=None,
        override=Override(),
        feedback=NO_FEEDBACK,
    )
    out.extend(_spread(list(itertools.islice(generator, 20 * limit)), limit))
    for case in out:
        if isinstance(case.query, dict):
            for name in SECURITY_QUERY:
                case.query.pop(name, None)
    return out
