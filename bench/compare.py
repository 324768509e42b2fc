"""Before and after in the same minutes: `python -m bench compare --before DIR [--scenario KEY ...]`.

A throughput ratio taken in one run and compared with one taken in another run half an hour
later says as much about the machine's two moments as about the change: on a shared machine the
Starlette ceiling moves by a third between minutes. Here three servers run side by side on the
server core: the ceiling, `nexsis mock` of the checkout DIR ("before", its own ``.venv``) and of
this checkout ("after"). Each round loads the three in turn, in a rotating order, on the same
requests; a mock's ratio of a round is its req/s over the ceiling's of that same round, and each
scenario reports the median of its rounds' ratios, and the median of after/before.

The two mocks serve the same generated site and receive the same load, so a scenario that grows
the site (``ws_create_groups`` adds a group per call) grows both alike.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import statistics
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import gen_fixture, loadgen, machine, servers
from bench.measure import CEILING, Settings, log, round_spec, timed_round
from bench.scenarios import BY_KEY, SCENARIOS

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SCENARIOS = ["get_user", "put_user_json", "put_user_form", "ws_get_allocations", "ws_create_groups"]


def _settings(args: argparse.Namespace) -> Settings:
    return Settings(mode="compare", rounds=args.rounds, duration=args.duration, warmup=1.0,
                    connections=args.connections, soak_duration=0.0, soak_connections=0,
                    startup_repeats=0, site_size=args.site, large_size=args.site,
                    prefer_wrk=args.loadgen != "python",
                    conformance_args=[], scenarios=args.scenario or DEFAULT_SCENARIOS)


def _before_command(before: Path, fixture: Path, token: str) -> servers.ServerCommand:
    """The other checkout's `nexsis mock`, from its own virtual environment."""
    script = before / ".venv" / "bin" / "nexsis"
    if not script.exists():
        raise SystemExit(f"bench compare: {script} not found (the before checkout needs its .venv)")
    command = servers.mock_command([fixture], token, label="before")
    command.argv[0] = str(script)
    command.notes = f"{command.notes} from {before}"
    return command


def compare(settings: Settings, before: Path, workdir: Path) -> dict:
    size = gen_fixture.SIZES[settings.site_size]
    fixture = gen_fixture.write(size, workdir / "site.json")
    site = gen_fixture.site(size)
    pin = machine.pinning()["server"]
    logs = workdir / "logs"
    after = servers.mock_command([fixture], site.nexsis_token, label="after")
    rows = []
    with contextlib.ExitStack() as stack:
        running = {
            CEILING: stack.enter_context(servers.launch(servers.ceiling_command(), logs, cores=pin)),
            "before": stack.enter_context(servers.launch(_before_command(before, fixture, site.nexsis_token),
                                                         logs, cores=pin)),
            "after": stack.enter_context(servers.launch(after, logs, cores=pin)),
        }
        order = list(running)
        for key in settings.scenarios:
            profile = BY_KEY[key].build(site)
            for name in ("before", "after"):  # the mocks' caches are per request shape
                timed_round(settings, round_spec(running[name].base_url, profile, settings.connections,
                                                 settings.warmup))
            rounds: list[dict[str, dict]] = []
            for index in range(settings.rounds):
                turn = order[index % 3:] + order[:index % 3]  # each server goes first in turn
                results = {}
                for name in turn:
                    spec = round_spec(running[name].base_url, profile, settings.connections,
                                      settings.duration)
                    results[name] = timed_round(settings, spec)
                rounds.append(results)
                log(f"  {key} round {index + 1}: " + ", ".join(
                    f"{name} {results[name]['rps']:.0f}" for name in order))
            rows.append(_row(key, rounds))
            row = rows[-1]
            log(f"  {key}: before {row['before_ratio']:.3f}, after {row['after_ratio']:.3f} x ceiling, "
                f"after/before {row['after_over_before']:.3f}")
    return {"schema": 1, "before": str(before), "after": str(ROOT), "settings": vars(settings),
            "loadgen": loadgen.name(settings.prefer_wrk),
            "machine": machine.describe(ROOT), "rows": rows}


def _row(key: str, rounds: list[dict[str, dict]]) -> dict:
    def ratios(name: str, base: str) -> list[float]:
        return [r[name]["rps"] / r[base]["rps"] for r in rounds if r[base]["rps"]]

    errors = {name: sum(r[name]["errors"]["total"] for r in rounds) for name in rounds[0]}
    return {
        "scenario": key, "title": BY_KEY[key].title,
        "before_ratio": statistics.median(ratios("before", CEILING)),
        "after_ratio": statistics.median(ratios("after", CEILING)),
        "after_over_before": statistics.median(ratios("after", "before")),
        "round_ratios": {"before": ratios("before", CEILING), "after": ratios("after", CEILING)},
        "rps": {name: statistics.median(r[name]["rps"] for r in rounds) for name in rounds[0]},
        "p99_ms": {name: statistics.median(r[name]["latency_ms"]["p99"] for r in rounds)
                   for name in rounds[0]},
        "errors": errors,
        "rounds": rounds,
    }


def markdown(data: dict) -> str:
    lines = [f"Before: `{data['before']}`; after: `{data['after']}`; "
             f"{data['settings']['rounds']} rounds x {data['settings']['duration']:.0f} s per server, "
             f"{data['settings']['connections']} connections, order rotating.", "",
             "| scenario | before x ceiling | after x ceiling | after / before | ceiling req/s | "
             "before req/s | after req/s | p99 ms before / after | errors |",
             "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for row in data["rows"]:
        rps, p99 = row["rps"], row["p99_ms"]
        lines.append(f"| {row['title']} | {row['before_ratio']:.2f} | {row['after_ratio']:.2f} | "
                     f"{row['after_over_before']:.2f} | {rps[CEILING]:,.0f} | {rps['before']:,.0f} | "
                     f"{rps['after']:,.0f} | {p99['before']:.1f} / {p99['after']:.1f} | "
                     f"{sum(row['errors'].values())} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench compare", description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the other checkout (with its .venv)")
    parser.add_argument("--scenario", action="append", choices=[s.key for s in SCENARIOS], metavar="KEY",
                        help="default: the five with issue 9's targets")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per server per round")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--site", choices=sorted(gen_fixture.SIZES), default="small")
    parser.add_argument("--loadgen", choices=["auto", "wrk", "python"], default="auto",
                        help="auto: wrk when installed, else the built-in generator (a floor, see run.py)")
    parser.add_argument("--out", type=Path, help="also write JSON and Markdown here (a folder)")
    args = parser.parse_args(argv)
    if args.loadgen == "wrk" and not loadgen.wrk_path():
        print(loadgen.WRK_INSTALL_HINT.split(". Falling back")[0] + ".", file=sys.stderr)
        return 2
    if args.loadgen == "auto" and not loadgen.wrk_path():
        log(loadgen.WRK_INSTALL_HINT)
    started = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory(prefix="nexsis-compare-") as tmp:
        data = compare(_settings(args), args.before.resolve(), Path(tmp))
    data["started"] = started.isoformat(timespec="seconds")
    text = markdown(data)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        stamp = started.strftime("%Y%m%dT%H%M%SZ")
        (args.out / f"compare-{stamp}.json").write_text(json.dumps(data, indent=1))
        (args.out / f"compare-{stamp}.md").write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
