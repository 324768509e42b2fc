"""The conformance suite: schemathesis' engine pointed at a Moodle site through a safety guard.

Importing this package is cheap on purpose: the pytest plugin and the `nexsis` CLI load it on every
start, and schemathesis/hypothesis are only imported when a run actually begins.
"""

from __future__ import annotations

__all__ = ["EXIT_CONFORMANT", "EXIT_INCOMPLETE", "EXIT_UNREACHABLE", "EXIT_USAGE", "EXIT_VIOLATIONS"]

#: Exit codes of `nexsis check` (documented in its --help and in the report).
EXIT_CONFORMANT = 0
EXIT_VIOLATIONS = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
#: --time-budget ran out before every selected operation and scenario was tested, and what did run
#: found no violation. Not 0: a cut run proves less than a complete one, and CI must be able to tell.
#: Violations (1) take precedence; cleanup still runs and the report says the run was cut short.
EXIT_INCOMPLETE = 4
