"""Regular expressions from clients, matched in linear time (RE2), so no pattern can stall the server.

The admin API takes patterns from whoever calls it (``path_regex`` in journal filters and fault
rules) and fault rules run theirs on every API request. Python's ``re`` backtracks:
``(a+)+$`` against a 25-letter path took 12 s and blocked the event loop, and so every other
request. RE2 (``google-re2``) guarantees time linear in the subject, at the price of the
non-regular features (backreferences, lookaround), which a path filter does not need; such a
pattern is refused with a 400 like any other invalid one.
"""

from __future__ import annotations

import typing as t

import re2  # type: ignore[import-untyped]  # google-re2 ships no type information

__all__ = ["MAX_PATTERN", "PatternError", "compile_pattern"]

#: Longest pattern accepted: far beyond any path filter, small enough that compiling is instant.
MAX_PATTERN = 1000
#: Memory RE2 may use for one compiled pattern (its default is 8 MiB; a path filter needs little).
_MAX_MEM = 1 << 20


class PatternError(ValueError):
    """A pattern that is not a regular expression RE2 accepts; the message says why."""


class Pattern(t.Protocol):
    def search(self, text: str) -> t.Any: ...


def compile_pattern(pattern: str, what: str = "path_regex") -> Pattern:
    """The compiled pattern, or ``PatternError`` naming ``what`` and the reason."""
    if len(pattern) > MAX_PATTERN:
        raise PatternError(f"{what} is longer than {MAX_PATTERN} characters")
    options = re2.Options()
    options.max_mem = _MAX_MEM
    options.log_errors = False
    try:
        return t.cast(Pattern, re2.compile(pattern, options))
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternError(f"{what} is not a regular expression in RE2 syntax "
                           f"(no backreferences or lookaround): {reason}") from None
