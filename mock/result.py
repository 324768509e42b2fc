"""``Result``: the answer of one operation, the one type every layer of the mock passes up.

Handlers may return one (a status other than 200, or extra headers), ``Service.call`` always
returns one, the admin API's methods return one; the pipeline renders it. ``body`` is JSON-able
(``None``: no body); ``detail`` is what the client may read in ``X-Mock-Detail`` and Moodle would
not say (why a parameter was refused), never part of the body.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Result"]


@dataclass(slots=True)
class Result:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)
    detail: str | None = None
