"""Operation handlers: one module per resource, registered by operationId.

A handler is `handler(ctx, params) -> body` and signals failures by raising `NexsisError` or
`MoodleError`; it never sees HTTP. Handlers change the state only through `ctx.state` (journalled),
so `Service.call` can undo a half-done operation, and they add API log entries through `ctx.log`
(not the state) because a replayed operation must not log twice.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nexsis_mock.result import Result
from nexsis_mock.store.records import WsToken
from nexsis_mock.store.state import State

#: ``handler(ctx, params) -> body``, or a ``Result`` for another status or extra headers.
Handler = Callable[["Ctx", dict[str, Any]], Any]

__all__ = ["NEXSIS", "WS", "Ctx", "Handler", "MoodleError", "NexsisError", "Operation", "Result",
           "load_all", "nexsis_op", "trim", "ws_function"]

#: What PHP's `trim()` removes, with which Moodle trims names. Python's `str.strip()` removes more
#: (every Unicode space, `\x1c`-`\x1f`, U+0085): "\u00a0Bob" kept its no-break space in Moodle only.
PHP_TRIM = " \t\n\r\0\x0b"


def trim(value: str) -> str:
    """PHP's `trim($value)`."""
    return value.strip(PHP_TRIM)


class NexsisError(Exception):
    """A NexSIS client error: HTTP `status` with body {"error": code, "message": message}."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class MoodleError(Exception):
    """A Moodle exception envelope; always HTTP 200 on the wire. ``detail`` says why (not sent)."""

    def __init__(self, exception: str, errorcode: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.exception = exception
        self.errorcode = errorcode
        self.message = message
        self.detail = detail

    def body(self) -> dict[str, str]:
        return {"exception": self.exception, "errorcode": self.errorcode, "message": self.message}


@dataclass
class Ctx:
    state: State
    now: int
    token: str | None = None
    ws: WsToken | None = None
    #: The site's root URL as the client reached it (``--public-url`` or Host), for URLs the site
    #: reports about itself (``siteurl``); None without HTTP (then the fixtures' ``site.url``).
    base_url: str | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)

    def log(self, level: str, message: str, detail: str = "") -> None:
        self.logs.append({"level": level, "message": message, "detail": detail})


@dataclass(frozen=True)
class Operation:
    func: Handler
    write: bool


NEXSIS: dict[str, Operation] = {}
WS: dict[str, Operation] = {}


def nexsis_op(operation_id: str, *, write: bool = False) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        NEXSIS[operation_id] = Operation(func, write)
        return func

    return register


def ws_function(function: str, *, write: bool = False) -> Callable[[Handler], Handler]:
    def register(func: Handler) -> Handler:
        WS[function] = Operation(func, write)
        return func

    return register


_loaded = False


def load_all() -> None:
    """Import every handler module once so their decorators fill the registries."""
    global _loaded
    if _loaded:
        return
    for sub in ("nexsis", "ws"):
        package = importlib.import_module(f"{__name__}.{sub}")
        for info in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{package.__name__}.{info.name}")
    _loaded = True
