"""Run the benchmark: `python -m bench run [--smoke]` (or `python bench/run.py run`).

`python -m bench profile` samples the mock under load instead (bench/profile.py);
`python -m bench compare --before DIR` runs another checkout's mock beside this one's (bench/compare.py).

Sections, in order (each can be skipped with --skip NAME):
  reference    the Starlette ceiling and Connexion's example mock on the same spec
  throughput   every scenario against `nexsis mock` on the generated small site, in rounds
               alternating with the Starlette ceiling on the same requests (ratio per scenario)
  soak         the mixed profile for 60 s, then a consistency check through /__admin
  startup      launch to first 200: default fixtures, the small site, the large site
  scale        1M-enrolment fixture: load time and peak RSS (JSON and YAML), read/write latency
  conformance  `nexsis check` against the local mock: test cases per second, wall time
  memory       RSS of the mock before/after 200 PUTs carrying a 900 KB ignored field (20 with --smoke)
  proxy        `nexsis proxy` in front of the mock: added p50/p99 latency, throughput kept (bench/proxy.py)
`--scenario KEY` (repeatable) limits the throughput and reference sections to those scenarios.
Results go to bench/results/<timestamp>.json and .md (and latest.json / latest.md).
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py`: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import gen_fixture, loadgen, machine, report, servers
from bench.measure import (
    CEILING,
    Settings,
    log,
    measure,
    measure_interleaved,
    round_spec,
    timed_round,
)
from bench.scenarios import BY_KEY, SCENARIOS

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
SECTIONS = ("reference", "throughput", "soak", "startup", "scale", "conformance", "memory", "proxy")
CONNEXION_SCENARIOS = ("ping", "get_user", "put_user_json", "put_user_form", "course_enrol")


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
                warmup = round_spec(ceiling.base_url, chosen[0].build(self.site), self.s.connections,
                                    self.s.warmup)
                timed_round(self.s, warmup)
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

    def memory(self) -> None:
        from bench import memory
        self.data["memory"] = memory.run(self)

    def proxy(self) -> None:
        from bench import proxy
        self.data["proxy"] = proxy.run(self)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["profile"]:
        from bench import profile
        return profile.main(argv[1:])
    if argv[:1] == ["compare"]:
        from bench import compare
        return compare.main(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="run the benchmark and write bench/results/")
    sub.add_parser("profile", help="sample the mock under load with py-spy (see bench/profile.py)",
                   add_help=False)
    sub.add_parser("compare", help="another checkout's mock against this one's, in the same minutes "
                                   "(see bench/compare.py)", add_help=False)
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
