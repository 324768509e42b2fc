"""Class 5: filters and paging honoured. Every returned row satisfies the filter, `limit` bounds the
count, consecutive pages do not overlap.

A filter that is read but not applied answers a well-formed list, so no schema check can see it;
only a second read that knows what it asked for can. Each rule (`rules.RULES`, registered per
operationId) reads with ids the fixture graph made or the sandbox lists, and says nothing when
the data it needs is absent (an empty log, a course without grades): it never guesses.

What is deliberately not asserted, so that a correct site cannot fail:
- `page` of course grades: the document shows `pagesize` only; `page` is the spec's inference
  (ERRATA.md), so pages are not compared, only `pagesize` bounds the count;
- rows the filter should have kept but did not (a missing row is class 2's business, not a filter's);
- paging of a growing log: entries written between two page reads may shift a page; the overlap
  allowed is the number of entries that appeared meanwhile (measured by a third read).
"""

from __future__ import annotations

from nexsis_contracts.catalog import OperationInfo
from nexsis_contracts.filters.rules import RULES, Probe
from nexsis_contracts.results import OperationResult
from nexsis_contracts.run_context import RunContext

__all__ = ["RULES", "check_filters"]


def check_filters(run: RunContext, info: OperationInfo, result: OperationResult) -> None:
    """Run the filter rules registered for this operation."""
    if run.graph is None:
        return
    probe = Probe(run, info, result)
    for rule in RULES.get(info.operation_id, ()):
        probe.run_rule(rule)
