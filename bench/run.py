"""Run the benchmark: `python -m bench run [--smoke]` (or `python bench/run.py run`).

`python -m bench profile` samples the mock under load instead (bench/profile.py).

Sections, in order (each can be skipped with --skip NAME):
  reference    the Starlette ceiling and Connexion's example mock on the same spec
  throughput   every scenario against `nexsis mock` on the generated small site, in rounds
               alternating with the Starlette ceiling on the same requests (ratio per scenario)
  soak         the mixed profile for 60 s, then a consistency check through /__admin
  startup      launch to first 200: default fixtures, the small site, the large site
  scale        1M-enrolment fixture: load time and peak RSS (JSON and YAML), read/write latency
  conformance  `nexsis check` against the local mock: test cases per second, wall time
`--scenario KEY` (repeatable) limits the throughput and reference sections to those scenarios.
Results go to bench/results/<timestamp>.json and .md (and latest.json / latest.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import gen_fixture, loadgen, machine, report, servers
from bench.scenarios import BY_KEY, SCENARIOS, Profile, Scenario, Site

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECTIONS = ("reference", "throughput", "soak", "startup", "scale", "conformance")
CONNEXION_SCENARIOS = ("ping", "get_user", "put_user_json", "put_user_form", "course_enrol")
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
def _spec(base_url: str, profile: Profile, connections: int, seconds: float,
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
        timed_round(settings, _spec(base_url, profile, conns, settings.warmup))
    results = []
    load_before = round(os.getloadavg()[0], 2)
    for index in range(rounds or settings.rounds):
        results.append(timed_round(settings, _spec(base_url, profile, conns, duration or settings.duration,
                                                   ack_file)))
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
        timed_round(settings, _spec(base_url, profile, conns, settings.warmup))
    load_before = round(os.getloadavg()[0], 2)
    ceiling_rounds: list[dict] = []
    server_rounds: list[dict] = []
    for index in range(settings.rounds):
        for name, url, out in ((CEILING, ceiling_url, ceiling_rounds), (label, base_url, server_rounds)):
            out.append(timed_round(settings, _spec(url, profile, conns, settings.duration)))
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


# ------------------------------------------------------------------------------------ sections
class Bench:
    def __init__(self, settings: Settings, workdir: Path) -> None:
        self.s = settings
        self.workdir = workdir
        self.logs = workdir / "logs"
        self.pin = machine.pinning()
        self.small_fixture = gen_fixture.write(gen_fixture.SIZES[settings.site_size],
                                               workdir / f"site-{settings.site_size}.json")
        self.site = gen_fixture.site(gen_fixture.SIZES[settings.site_size])
        self.data: dict = {"throughput": [], "servers": {}}

    def _server(self, running: servers.Running) -> None:
        self.data["servers"][running.command.label] = {
            "notes": running.command.notes, "startup_s": round(running.startup_s, 3),
            "peak_rss_mib": running.peak_rss_mib()}

    def _mock(self, fixture: Path | None, **kwargs) -> servers.ServerCommand:
        token = self.site.nexsis_token if fixture else servers.default_fixture_token()
        return servers.mock_command([fixture] if fixture else None, token, **kwargs)

    def reference(self) -> None:
        log("reference: Starlette ceiling")
        with servers.launch(servers.ceiling_command(), self.logs, cores=self.pin["server"]) as srv:
            self._server(srv)
            self.data["throughput"].append(measure(self.s, srv.base_url, BY_KEY["get_user"], self.site,
                                                   label=CEILING))
        spec = ROOT / "openapi" / "nexsis.yaml"
        if not spec.exists():
            log("reference: openapi/nexsis.yaml missing, Connexion example mock skipped")
            return
        keys = [key for key in CONNEXION_SCENARIOS if self.s.wants(key)]
        if not keys:
            log("reference: no --scenario among the Connexion example mock's, skipped")
            return
        log("reference: Connexion example mock")
        command = servers.connexion_example_command(spec)
        with servers.launch(command, self.logs, cores=self.pin["server"]) as srv:
            self._server(srv)
            for key in keys:
                self.data["throughput"].append(measure(self.s, srv.base_url, BY_KEY[key], self.site,
                                                       label="connexion-example-mock"))

    def throughput(self) -> None:
        """The mock and the ceiling run side by side on the server core, one under load at a time."""
        log(f"throughput: nexsis mock on the {self.s.site_size} site, rounds alternating with the ceiling")
        chosen = [s for s in SCENARIOS if self.s.wants(s.key)]
        with servers.launch(self._mock(self.small_fixture), self.logs, cores=self.pin["server"]) as srv, \
                servers.launch(servers.ceiling_command(), self.logs, cores=self.pin["server"]) as ceiling:
            if CEILING not in self.data["servers"]:
                self._server(ceiling)
            if self.s.warmup and chosen:
                timed_round(self.s, _spec(ceiling.base_url, chosen[0].build(self.site), self.s.connections,
                                          self.s.warmup))
            for scenario in chosen:
                self.data["throughput"].append(measure_interleaved(self.s, srv.base_url, ceiling.base_url,
                                                                   scenario, self.site, label="nexsis-mock"))
            self._server(srv)

    def soak(self) -> None:
        from bench import soak
        log(f"soak: mixed profile, {self.s.soak_connections} connections, {self.s.soak_duration:.0f} s")
        command = self._mock(self.small_fixture, label="nexsis-mock-soak",
                             extra=["--journal-size", str(soak.JOURNAL_SIZE)])
        with servers.launch(command, self.logs, cores=self.pin["server"]) as srv:
            self.data["soak"] = soak.run(self.s, srv, self.site, self.workdir)
            self.data["soak"]["peak_rss_mib"] = srv.peak_rss_mib()

    def startup(self) -> None:
        log("startup: launch to first 200")
        out: dict = {}
        cases = [("default fixtures", None), (f"{self.s.site_size} site", self.small_fixture)]
        for name, fixture in cases:
            times = []
            for _ in range(self.s.startup_repeats):
                with servers.launch(self._mock(fixture, label="nexsis-mock-startup"), self.logs,
                                    cores=self.pin["server"]) as srv:
                    times.append(srv.startup_s)
            out[name] = {"median_s": round(statistics.median(times), 3),
                         "runs_s": [round(t, 3) for t in times]}
            log(f"  {name}: {out[name]['median_s']:.3f} s")
        self.data.setdefault("startup", {}).update(out)

    def scale(self) -> None:
        from bench import scale
        self.data["scale"] = scale.run(self)

    def conformance(self) -> None:
        from bench import conformance
        self.data["conformance"] = conformance.run(self)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["profile"]:
        from bench import profile
        return profile.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run the benchmark and write bench/results/")
    sub.add_parser("profile", help="sample the mock under load with py-spy (see bench/profile.py)",
                   add_help=False)
    run.add_argument("--smoke", action="store_true",
                     help="seconds per scenario, one round, tiny fixture (what CI runs)")
    run.add_argument("--skip", action="append", default=[], choices=SECTIONS, help="skip a section")
    run.add_argument("--only", action="append", default=[], choices=SECTIONS, help="run only these sections")
    run.add_argument("--scenario", action="append", default=[], choices=list(BY_KEY), metavar="KEY",
                     help="measure only this scenario in the throughput and reference sections "
                          f"(repeatable; one of {', '.join(BY_KEY)})")
    run.add_argument("--rounds", type=int)
    run.add_argument("--duration", type=float, help="seconds per round")
    run.add_argument("--connections", type=int)
    run.add_argument("--soak-duration", type=float)
    run.add_argument("--large-size", choices=sorted(gen_fixture.SIZES), help="site of the scale section")
    run.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto",
                     help="auto: wrk if installed, else the built-in Python generator")
    run.add_argument("--check-args", nargs=argparse.REMAINDER,
                     help="extra arguments for `nexsis check` (conformance section), last on the line")
    run.add_argument("--out", type=Path, default=RESULTS, help="results folder (default bench/results)")
    args = parser.parse_args(argv)
    if args.command != "run":
        parser.print_help()
        return 2
    if args.loadgen == "wrk" and not loadgen.wrk_path():
        print(loadgen.WRK_INSTALL_HINT.split(". Falling back")[0] + ".", file=sys.stderr)
        return 2
    settings = Settings.from_args(args)
    if settings.prefer_wrk and not loadgen.wrk_path():
        log(loadgen.WRK_INSTALL_HINT)
    sections = [s for s in SECTIONS if (not args.only or s in args.only) and s not in args.skip]
    started = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory(prefix="nexsis-bench-") as tmp:
        bench = Bench(settings, Path(tmp))
        bench.data.update({
            "schema": 1, "started": started.isoformat(timespec="seconds"), "mode": settings.mode,
            "settings": {k: v for k, v in vars(settings).items() if k != "conformance_args"},
            "loadgen": loadgen.name(settings.prefer_wrk), "sections": sections,
            "machine": machine.describe(ROOT),
        })
        for section in sections:
            section_started = time.perf_counter()
            getattr(bench, section)()
            log(f"{section} done in {time.perf_counter() - section_started:.0f} s")
        bench.data["wall_s"] = round((dt.datetime.now(dt.UTC) - started).total_seconds(), 1)
        paths = report.write(bench.data, args.out, started)
    for path in paths:
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
