"""The cyclic GC's pauses, kept short while the site only grows.

The mock's objects (the site, the specs, the endpoint table, the Connexion host) live as long as
the process, and every full collection walks all of them: on the default site that showed as
50 ms p99 stalls, on a 1M-enrolment one 250 ms (docs/benchmarks.md). ``settle`` moves them out of
the collector's reach after loading and after every reset or import (``Service.settle_heap``).

A site that grows under load escapes that: ``core_group_create_groups`` at 10,000 calls a second
adds 20,000 tracked objects a second, and the full collections' pauses grew with them, round
after round (p99 60 -> 118 -> 180 -> 245 -> 294 ms in five 6-second rounds). ``bound_pauses``
installs a ``gc.callbacks`` hook: a full collection that took longer than ``PAUSE_BOUND_S`` is
followed by ``gc.freeze()`` of what survived it, so the next one walks only what was made since.

The price, and why it is small: an object frozen alive is never collected by the *cyclic* GC.
Reference counting still frees every frozen object that dies outside a reference cycle (the
records a DELETE removes, a replaced value), but a cycle that dies after it was frozen (an
in-flight request's structures, a closed connection's protocol and its cycle) stays until the
next ``settle``, which unfreezes everything first. A freeze happens only after a pause longer than
the bound, that is once tens of thousands of new objects have survived, and it can keep only what
was in flight at that moment: a few KiB per freeze against the megabytes the site grew by.
"""

from __future__ import annotations

import gc
import time
import typing as t

__all__ = ["PAUSE_BOUND_S", "bound_pauses", "freezes", "settle"]

#: A full collection longer than this is the last one that walks the objects it kept.
PAUSE_BOUND_S = 0.005

_started = 0.0
_freezes = 0


def settle() -> None:
    """Collect everything (frozen objects included), then freeze what lives: the heap is settled."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def _on_collection(phase: str, info: dict[str, t.Any]) -> None:
    global _started, _freezes
    if info.get("generation") != 2:
        return
    if phase == "start":
        _started = time.perf_counter()
    elif time.perf_counter() - _started > PAUSE_BOUND_S:
        gc.freeze()
        _freezes += 1


def bound_pauses() -> None:
    """Install the hook (once per process: the collector is the process's)."""
    if _on_collection not in gc.callbacks:
        gc.callbacks.append(_on_collection)


def freezes() -> int:
    """How many times the hook froze the survivors of a long collection (for tests and the bench)."""
    return _freezes
