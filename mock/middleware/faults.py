"""Fault injection rules, so a client's timeouts, retries and error paths can be tested.

A rule matches by method and path (exact, or a regular expression) or by web-service function,
applies for the next ``times`` matching calls or with a ``probability``, and does one thing:
add latency, answer an HTTP status, answer a Moodle exception envelope, or drop the connection.
Latency combines with the others (wait, then fail); alone it delays a normal answer.
"""

from __future__ import annotations

import itertools
import random
import typing as t
from dataclasses import asdict, dataclass, field

from ..safe_regex import Pattern, PatternError, compile_pattern

__all__ = ["MAX_TIMES", "FaultError", "FaultRule", "FaultStore"]

#: Largest ``times`` (mock/admin.yaml says the same); beyond it, omit ``times`` for a permanent rule.
MAX_TIMES = 1_000_000_000


class FaultError(ValueError):
    """An invalid rule; the message says which field and why."""


@dataclass
class FaultRule:
    id: int
    method: str | None = None
    path: str | None = None
    path_regex: str | None = None
    wsfunction: str | None = None
    latency_ms: int = 0
    status: int | None = None
    body: t.Any = None
    moodle_exception: dict[str, t.Any] | None = None
    drop: bool = False
    times: int | None = None
    probability: float = 1.0
    matched: int = 0
    _regex: Pattern | None = field(default=None, repr=False)

    def matches(self, method: str, path: str, wsfunction: str | None) -> bool:
        if self.method is not None and self.method != method:
            return False
        if self.path is not None and self.path != path:
            return False
        if self._regex is not None and not self._regex.search(path):
            return False
        return self.wsfunction is None or self.wsfunction == wsfunction

    @property
    def action(self) -> str:
        if self.drop:
            return "drop"
        if self.moodle_exception is not None:
            return "moodle_exception"
        if self.status is not None:
            return "status"
        return "latency"

    def as_dict(self) -> dict[str, t.Any]:
        data = {k: v for k, v in asdict(self).items() if v is not None and k != "_regex"}
        data["action"] = self.action
        return data


def _build(rule_id: int, spec: dict[str, t.Any]) -> FaultRule:
    try:
        rule = FaultRule(id=rule_id, **spec)
    except TypeError as exc:
        raise FaultError(f"unknown rule field: {exc}") from None
    if rule.method is not None:
        rule.method = rule.method.upper()
    if rule.path_regex is not None:
        try:  # RE2: it runs on every API request, so it must not backtrack (issue 13 #5)
            rule._regex = compile_pattern(rule.path_regex)
        except PatternError as err:
            raise FaultError(str(err)) from None
    if rule.path is None and rule.path_regex is None and rule.wsfunction is None and rule.method is None:
        raise FaultError("a rule needs at least one of method, path, path_regex, wsfunction")
    if rule.status is not None and not 200 <= rule.status <= 599:
        # An informational status (1xx) is no final answer: the client would hang or fail to parse.
        raise FaultError("status must be a final HTTP status code (200-599)")
    if rule.moodle_exception is not None:
        envelope = rule.moodle_exception
        if not isinstance(envelope.get("exception"), str) or not isinstance(envelope.get("errorcode"), str):
            raise FaultError("moodle_exception needs string members exception and errorcode")
        debug = {"debuginfo": envelope["debuginfo"]} if envelope.get("debuginfo") else {}
        rule.moodle_exception = {"exception": envelope["exception"], "errorcode": envelope["errorcode"],
                                 "message": str(envelope.get("message") or envelope["errorcode"]), **debug}
    if sum((rule.drop, rule.status is not None, rule.moodle_exception is not None)) > 1:
        raise FaultError("choose one of drop, status, moodle_exception per rule")
    if rule.action == "latency" and rule.latency_ms <= 0:
        raise FaultError("a rule must do something: latency_ms > 0, status, moodle_exception or drop")
    if not 0 <= rule.latency_ms <= 600_000:
        raise FaultError("latency_ms must be between 0 and 600000")
    if rule.times is not None and not 1 <= rule.times <= MAX_TIMES:
        raise FaultError(f"times must be between 1 and {MAX_TIMES} (omit it for a permanent rule)")
    if not 0.0 <= rule.probability <= 1.0:
        raise FaultError("probability must be between 0 and 1")
    return rule


class FaultStore:
    """Active rules of one server process; the first matching rule that fires wins."""

    def __init__(self, seed: int | None = None) -> None:
        self._rules: list[FaultRule] = []
        self._ids = itertools.count(1)
        self._random = random.Random(seed)

    def add(self, spec: dict[str, t.Any]) -> FaultRule:
        rule = _build(next(self._ids), dict(spec))
        self._rules.append(rule)
        return rule

    def delete(self, rule_id: int) -> bool:
        before = len(self._rules)
        self._rules = [r for r in self._rules if r.id != rule_id]
        return len(self._rules) < before

    def clear(self) -> int:
        count = len(self._rules)
        self._rules = []
        return count

    def list(self) -> list[FaultRule]:
        return list(self._rules)

    def __bool__(self) -> bool:
        return bool(self._rules)

    def take(self, method: str, path: str, wsfunction: str | None) -> FaultRule | None:
        """The rule that fires for this call, counting it down; None when the call is left alone."""
        for rule in self._rules:
            if not rule.matches(method, path, wsfunction):
                continue
            if rule.probability < 1.0 and self._random.random() >= rule.probability:
                continue
            rule.matched += 1
            if rule.times is not None:
                rule.times -= 1
                if rule.times <= 0:
                    self._rules.remove(rule)
            return rule
        return None
