"""The contract: the OpenAPI specs and the wire codec that the mock and the suite both read.

This package is the single source of truth. It imports nothing from the mock or the suite, so
either can be installed and used against any deployment on its own.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml

from nexsis_openapi.redact import redact, redact_text

__all__ = ["NEXSIS_BASE_PATH", "SPEC_NAMES", "load_spec", "redact", "redact_text", "spec_path"]

_HERE = Path(__file__).resolve().parent

#: Where the NexSIS API lives on a Moodle site: the path of ``nexsis.yaml``'s first server URL
#: (tests/test_nexsis_spec.py checks they agree), for those that need it without loading the spec.
NEXSIS_BASE_PATH = "/enrol/nexsis/api/index.php"

#: Spec name -> file name. The names are what the CLI and the suite use (`--only nexsis`).
SPEC_NAMES: dict[str, str] = {"nexsis": "nexsis.yaml", "moodle-ws": "moodle-ws.yaml"}


def spec_path(name: str) -> Path:
    """Path of a bundled spec; raises KeyError naming the known specs for a wrong name."""
    try:
        return _HERE / SPEC_NAMES[name]
    except KeyError:
        raise KeyError(f"unknown spec {name!r}; known: {', '.join(SPEC_NAMES)}") from None


@functools.cache
def load_spec(name: str) -> dict[str, Any]:
    """Parsed spec, cached because parsing costs tens of milliseconds on every start.

    The dict is shared: callers that change it must deep-copy it first.
    """
    with spec_path(name).open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
