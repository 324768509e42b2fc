"""Advisory notes: a request the spec definitely refuses, answered with success (rule
``invalid_request_accepted``). A note, never a violation: it does not change the exit code.

Passive traffic has no "negative case" of its own; what a proxy can say is only that a request
the site should have refused was answered with a result. Said only where the refusal is certain:
a web-service call whose parameters Moodle's ``validate_parameters`` refuses for their structure,
read on the function's parameter description (`nexsis_openapi.moodle.signature`): a parameter the
description does not have (Moodle: "Unexpected keys ... detected"), a required one missing, a
list or structure sent as a single value or the other way round, a ``PARAM_INT`` that is no
integer at all. All of these were seen refused by a real Moodle 5.0 (invalidparameter), and
the mock refuses them the same way. Value checks that depend on
the Moodle version or cleaning rules (``PARAM_BOOL`` spellings, text cleaning, integer range) are
not made. NexSIS requests get no notes: its schemas are the vendor's document, and the real system
accepts requests they seem to refuse (ERRATA E29: missing names filled from the external id), so
"definitely refused" cannot be said from them (contracts/README.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from nexsis_openapi.moodle import RESERVED_FIELDS, signature

RULE = "invalid_request_accepted"
_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")


@dataclass
class Note:
    rule: str
    reason: str  # one line


def ws_refusal(function: str, params: dict[str, Any]) -> str | None:
    """Why Moodle's ``validate_parameters`` refuses these parameters, or None if it may take them."""
    try:
        description = signature(function)
    except KeyError:
        return None
    given = {k: v for k, v in params.items() if k not in RESERVED_FIELDS}
    return _single(description, given, "")


def _single(description: dict[str, Any], value: Any, where: str) -> str | None:
    if not isinstance(value, dict):
        if isinstance(value, list) and not value:
            value = {}
        else:
            return f"{where or 'parameters'}: a single value or list where Moodle expects a structure"
    keys: dict[str, Any] = description["keys"]
    unexpected = sorted(set(value) - set(keys))
    if unexpected:
        names = ", ".join(f"{where}[{k}]" if where else str(k) for k in unexpected)[:120]
        return f"unexpected parameter {names} (Moodle: Unexpected keys detected)"
    for name, sub in keys.items():
        path = f"{where}[{name}]" if where else name
        if name not in value:
            if sub.get("required") == "required":
                return f"required parameter {path} missing"
            continue
        problem = _any(sub, value[name], path)
        if problem:
            return problem
    return None


def _any(description: dict[str, Any], value: Any, where: str) -> str | None:
    kind = description.get("kind")
    if kind == "single":
        return _single(description, value, where)
    if kind == "multiple":
        if isinstance(value, dict):
            items = list(value.values())
        elif isinstance(value, list):
            items = value
        else:
            return f"{where}: a single value where Moodle expects a list"
        for index, item in enumerate(items):
            problem = _any(description["content"], item, f"{where}[{index}]")
            if problem:
                return problem
        return None
    if isinstance(value, dict | list):
        return f"{where}: a list or structure where Moodle expects a single value"
    if description.get("param") == "PARAM_INT" and isinstance(value, str) and not _INTEGER.fullmatch(value):
        return f"{where}: {value[:30]!r} is no integer (PARAM_INT)"
    return None


def invalid_request_accepted(function: str, params: dict[str, Any], status: int, body: Any) -> Note | None:
    """A note when a call Moodle refuses was answered with a result (HTTP 200, no exception)."""
    if status != 200 or (isinstance(body, dict) and "exception" in body):
        return None
    why = ws_refusal(function, params)
    if why is None:
        return None
    return Note(RULE, f"answered with a result, but Moodle refuses this call: {why}"[:200])
