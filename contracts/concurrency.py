"""Thread-safety shims the suite needs for `--workers > 1`."""

from __future__ import annotations

import threading
from typing import Any

_AST_LOCK = threading.RLock()


def serialize_ast_parse() -> None:
    """Make `ast.parse` safe to call from several threads (needed for --workers > 1).

    CPython's AST constructor keeps its recursion depth in per-interpreter state, so two threads
    parsing at once can fail with `SystemError: AST constructor recursion depth mismatch`
    (python/cpython#106905). hypothesis parses source while drawing (strategy and lambda reprs), so
    parallel operations hit it. Serializing the parse costs nothing measurable here.
    """
    import ast

    if getattr(ast.parse, "_nexsis_serialized", False):
        return
    original = ast.parse

    def parse(*args: Any, **kwargs: Any) -> Any:
        with _AST_LOCK:
            return original(*args, **kwargs)

    parse._nexsis_serialized = True  # type: ignore[attr-defined]
    ast.parse = parse
