"""Measuring: the settings of a run, one load round, interleaved rounds against the ceiling.

Shared by the sections (``run``, ``scale``, ``soak``, ``conformance``); it imports none of them,
so the harness has no import circle (``run`` -> sections -> ``measure``).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from bench import loadgen, machine
from bench.scenarios import Profile, Scenario, Site

CEILING = "starlette-ceiling"
# Ceiling rounds of one scenario whose max exceeds their min by more than this are flagged "noisy":
# the machine changed speed under the measurement, so its ratio is worth less.
NOISY_SPREAD = 0.25


@dataclass
class Settings:
    mode: str
    rounds: int
    duration: float
    warmup: float
    connections: int
    soak_duration: float
    soak_connections: int
    startup_repeats: int
    site_size: str
    large_size: str
    prefer_wrk: bool
    conformance_args: list[str]
    scenarios: list[str]

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        smoke = args.smoke
        return cls(
            mode="smoke" if smoke else "full",
            rounds=args.rounds or (1 if smoke else 3),
            duration=args.duration or (2.0 if smoke else 10.0),
            warmup=1.0 if smoke else 2.0,
            connections=args.connections or (8 if smoke else 32),
            soak_duration=args.soak_duration or (3.0 if smoke else 60.0),
            soak_connections=args.connections or (8 if smoke else 32),
            startup_repeats=1 if smoke else 3,
            site_size="tiny" if smoke else "small",
            large_size=args.large_size or ("small" if smoke else "large"),
            prefer_wrk=args.loadgen != "python",
            conformance_args=args.check_args or [],
            scenarios=list(dict.fromkeys(args.scenario or [])),
        )

    def wants(self, key: str) -> bool:
        """Whether `--scenario` (if given) selects this scenario."""
        return not self.scenarios or key in self.scenarios


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------- load
def round_spec(base_url: str, profile: Profile, connections: int, seconds: float,
          ack: Path | None = None) -> loadgen.LoadSpec:
    return loadgen.LoadSpec(base_url, profile.requests, connections, seconds, profile.captures,
                            str(ack) if ack else None)


def timed_round(settings: Settings, spec: loadgen.LoadSpec) -> dict:
    """One timed load, stamped with its start time, its server and the 1-minute load average before it.

    The stamps make each round's context readable afterwards: other work on the machine skews a
    figure, and the start times and URLs show in which order interleaved rounds ran, on what.
    """
    loadavg = round(os.getloadavg()[0], 2)
    started = time.time()
    result = loadgen.run(spec, prefer_wrk=settings.prefer_wrk, cores=machine.pinning()["loadgen"])
    result.pop("text", None)
    result["loadavg_1m"] = loadavg
    result["started_at"] = round(started, 3)
    result["base_url"] = spec.base_url
    return result


def _log_round(label: str, scenario: Scenario, index: int, result: dict) -> None:
    log(f"  {label} {scenario.key} round {index + 1}: {result['rps']:.0f} req/s, "
        f"p50 {result['latency_ms']['p50']:.2f} ms, p99 {result['latency_ms']['p99']:.2f} ms, "
        f"errors {result['errors']['total']}, load avg {result['loadavg_1m']}")


def measure(settings: Settings, base_url: str, scenario: Scenario, site: Site, *, label: str,
            connections: int | None = None, duration: float | None = None, rounds: int | None = None,
            ack_file: Path | None = None) -> dict:
    """Warm up, then run `rounds` timed rounds; medians and min-max across rounds."""
    profile = scenario.build(site)
    conns = connections or settings.connections
    if settings.warmup:
        timed_round(settings, round_spec(base_url, profile, conns, settings.warmup))
    results = []
    load_before = round(os.getloadavg()[0], 2)
    for index in range(rounds or settings.rounds):
        spec = round_spec(base_url, profile, conns, duration or settings.duration, ack_file)
        results.append(timed_round(settings, spec))
        _log_round(label, scenario, index, results[-1])
    row = summarise(label, scenario, conns, results)
    # Other work on the machine skews figures: the 1-minute load average says whether there was any.
    row["loadavg_1m_before"] = load_before
    return row


def measure_interleaved(settings: Settings, base_url: str, ceiling_url: str, scenario: Scenario,
                        site: Site, *, label: str) -> dict:
    """Alternate ceiling and server rounds on the same requests; the ratio is of their medians.

    On a shared machine the ceiling moves by half between minutes, so a ratio to a ceiling
    measured once per run says as much about the minute as about the server. Rounds taken in
    turns (ceiling, server, ceiling, server, ...) see the same minutes, and each scenario gets a
    ceiling measured on its own requests (bodies included: the ceiling reads them).
    """
    profile = scenario.build(site)
    conns = settings.connections
    if settings.warmup:  # the server's caches are per request shape; the ceiling has none
        timed_round(settings, round_spec(base_url, profile, conns, settings.warmup))
    load_before = round(os.getloadavg()[0], 2)
    ceiling_rounds: list[dict] = []
    server_rounds: list[dict] = []
    for index in range(settings.rounds):
        for name, url, out in ((CEILING, ceiling_url, ceiling_rounds), (label, base_url, server_rounds)):
            out.append(timed_round(settings, round_spec(url, profile, conns, settings.duration)))
            _log_round(name, scenario, index, out[-1])
    row = summarise(label, scenario, conns, server_rounds)
    row["loadavg_1m_before"] = load_before
    row.update(interleaved_fields(row, summarise(CEILING, scenario, conns, ceiling_rounds)))
    log(f"  {scenario.key}: {row['rps']:.0f} / {row['ceiling_rps']:.0f} req/s = {row['ratio']:.2f} "
        f"x ceiling{' (noisy ceiling)' if row['ceiling']['noisy'] else ''}")
    return row


def interleaved_fields(row: dict, ceiling: dict) -> dict:
    """What a server row gains from its interleaved ceiling rounds (fields added, none renamed)."""
    low, high = ceiling["rps_min_max"]
    ceiling["spread"] = round(high / low - 1, 3) if low else None
    ceiling["noisy"] = ceiling["spread"] is None or ceiling["spread"] > NOISY_SPREAD
    pairs = zip(row["rounds"], ceiling["rounds"], strict=True)
    return {
        "ceiling": ceiling,
        "ceiling_rps": ceiling["rps"],
        "ratio": round(row["rps"] / ceiling["rps"], 3) if ceiling["rps"] else None,
        "ratio_basis": "interleaved",
        "round_ratios": [round(s["rps"] / c["rps"], 3) if c["rps"] else None for s, c in pairs],
        "loadavg_1m_min_max": _min_max(r["loadavg_1m"] for r in [*row["rounds"], *ceiling["rounds"]]),
    }


def _min_max(values: Iterable[float]) -> list[float]:
    items = list(values)
    return [min(items), max(items)]


def summarise(server: str, scenario: Scenario, connections: int, rounds: list[dict]) -> dict:
    def col(get) -> list[float]:
        return [get(r) for r in rounds]

    rps, p50, p99 = col(lambda r: r["rps"]), col(lambda r: r["latency_ms"]["p50"]), \
        col(lambda r: r["latency_ms"]["p99"])
    errors = sum(r["errors"]["total"] for r in rounds)
    return {
        "server": server, "scenario": scenario.key, "title": scenario.title, "kind": scenario.kind,
        "target_ratio": scenario.target_ratio, "connections": connections,
        "generator": rounds[0]["generator"],
        "rps": statistics.median(rps), "rps_min_max": [min(rps), max(rps)],
        "p50_ms": statistics.median(p50), "p50_min_max": [min(p50), max(p50)],
        "p99_ms": statistics.median(p99), "p99_min_max": [min(p99), max(p99)],
        "errors": errors, "requests": sum(r["requests"] for r in rounds),
        "rounds": rounds,
    }


class BenchContext(Protocol):
    """What a section gets from the run (``run.Bench``): settings, folders, the site, results."""

    s: Settings
    workdir: Path
    logs: Path
    pin: dict[str, Any]
    small_fixture: Path
    site: Site
    data: dict
