"""Write-effect rules: every write of both APIs read back, batches item by item, identity, semantics.

One rule per thing that can break (`registry.effect`), in `nexsis` (NexSIS writes), `ws`
(tool_muprog allocations and cohorts) and `cross` (core_group_* read back through NexSIS). A failure
is filed under the write whose effect is missing, named by the rule, its message in the reader's
words, with the requests that prove it. They run after the operation tests, serially (verdicts do
not depend on `--workers`), each on records it makes itself, so none is skipped because the
operation tests used up sandbox records.
"""

from __future__ import annotations

import time

import requests

from nexsis_contracts.effects import cross, links, nexsis, ws  # noqa: F401  (registration)
from nexsis_contracts.effects.registry import RULES, EffectRule, NotApplicable, Probe, RuleFailed
from nexsis_contracts.results import OperationResult
from nexsis_contracts.run_context import RunContext
from nexsis_contracts.safety import RefusedRequest


def _result_of(run: RunContext, rule: EffectRule) -> OperationResult | None:
    for result in run.result.results:
        if result.api == rule.api and result.name == rule.operation and result.kind != "scenario":
            return result
    return None


def _applies(run: RunContext, rule: EffectRule) -> bool:
    if rule.api not in run.settings.specs:
        return False
    other = "moodle-ws" if rule.api == "nexsis" else "nexsis"
    for op in rule.needs:
        api = rule.api if run.catalog.find(rule.api, op) is not None else other
        info = run.catalog.find(api, op)
        if info is None or api not in run.settings.specs or not info.matches(run.settings.operations):
            return False
    return True


def run_effects(run: RunContext, only: tuple[str, str] | None = None) -> None:
    """Run every applicable rule (or those of the operation `only`), filing failures (and skips)
    under the operation it checks."""
    if run.settings.mode == "read-only" or run.graph is None:
        return
    for rule in RULES:
        if only is not None and (rule.api, rule.operation) != only:
            continue
        result = _result_of(run, rule)
        if result is None or not _applies(run, rule):
            continue
        probe = Probe(run, rule, result)
        started = time.monotonic()
        result.checks_run.add(rule.name)
        try:
            rule.run(probe)
        except RuleFailed as failed:
            trail = "\n".join(f"  {i + 1}. {step}" for i, step in enumerate(probe.trail))
            message = f"{failed}\nRequests that show it:\n{trail}"
            if probe.last is None:
                result.errors.append(f"{rule.name}: failed before any request: {failed}"[:300])
            else:
                run.record_failure(result, rule.name, str(failed), message, probe.last, None)
        except NotApplicable as why:
            result.skipped[f"{rule.name}: not applicable: {why}"] += 1
        except (RefusedRequest, requests.RequestException) as exc:
            result.errors.append(f"{rule.name}: {type(exc).__name__}: {exc}"[:300])
        finally:
            result.duration += time.monotonic() - started
