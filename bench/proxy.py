"""Overhead of `nexsis proxy`: the mock reached directly and through the proxy, rounds in turns.

Both run on the server core (the proxy is one more process there, as it would be on a developer's
machine), the load generator on the others. For each scenario the rounds alternate direct and
proxied on the same requests, so both see the same minutes of a shared machine; the row gives the
latency the proxy adds (p50, p99) and the share of the direct throughput it keeps. The proxy judges
every exchange (its summary line, read from its log at the end, must say 0 violations) and, in the
`+ record` row, also writes the HAR.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING

from bench import servers
from bench.measure import log, round_spec, summarise, timed_round
from bench.scenarios import BY_KEY
from nexsis_openapi import NEXSIS_BASE_PATH

if TYPE_CHECKING:
    from bench.measure import BenchContext as Bench

SCENARIOS = ("get_user", "put_user_json", "ws_get_allocations")
NX = NEXSIS_BASE_PATH


def proxy_command(upstream: str, token: str, record: str | None = None) -> servers.ServerCommand:
    argv = [
        servers.console_script("nexsis"),
        "proxy",
        "--upstream",
        upstream,
        "--host",
        "127.0.0.1",
        "--port",
        "{port}",
    ]
    if record:
        argv += ["--record", record]
    return servers.ServerCommand(
        label="nexsis-proxy" + ("-record" if record else ""),
        argv=argv,
        ready_path=f"{NX}/ping",
        ready_headers={"Authorization": f"Bearer {token}"},
        notes=f"`nexsis proxy --upstream MOCK{' --record FILE.har' if record else ''}`",
    )


def _summary_line(log_path: Path) -> dict:
    text = log_path.read_text(encoding="utf-8", errors="replace")
    match = re.search(r"nexsis proxy: (\d+) exchanges; (\d+) violations", text)
    if match is None:
        return {"summary": None}
    return {"exchanges": int(match.group(1)), "violations": int(match.group(2))}


def _measure(bench: Bench, direct: str, proxied: str, key: str, label: str) -> dict:
    s = bench.s
    scenario = BY_KEY[key]
    profile = scenario.build(bench.site)
    if s.warmup:
        for url in (direct, proxied):
            timed_round(s, round_spec(url, profile, s.connections, s.warmup))
    direct_rounds, proxied_rounds = [], []
    for _ in range(s.rounds):
        direct_rounds.append(timed_round(s, round_spec(direct, profile, s.connections, s.duration)))
        proxied_rounds.append(timed_round(s, round_spec(proxied, profile, s.connections, s.duration)))
    rounds = direct_rounds + proxied_rounds
    d = summarise("nexsis-mock", scenario, s.connections, direct_rounds)
    p = summarise(label, scenario, s.connections, proxied_rounds)
    row = {
        "scenario": key,
        "title": scenario.title,
        "proxy": label,
        "connections": s.connections,
        "generator": d["generator"],
        "direct": {k: d[k] for k in ("rps", "p50_ms", "p99_ms", "errors", "rps_min_max")},
        "proxied": {k: p[k] for k in ("rps", "p50_ms", "p99_ms", "errors", "rps_min_max")},
        "added_p50_ms": round(p["p50_ms"] - d["p50_ms"], 3),
        "added_p99_ms": round(p["p99_ms"] - d["p99_ms"], 3),
        "throughput_kept": round(p["rps"] / d["rps"], 3) if d["rps"] else None,
        # The machine's 1-minute load average before each round: a shared machine says so.
        "loadavg_1m": [min(r["loadavg_1m"] for r in rounds), max(r["loadavg_1m"] for r in rounds)],
    }
    log(
        f"  proxy {key} ({label}): {p['rps']:.0f} vs {d['rps']:.0f} req/s direct "
        f"({row['throughput_kept']}), p50 +{row['added_p50_ms']} ms, p99 +{row['added_p99_ms']} ms"
    )
    return row


def run(bench: Bench) -> dict:
    token = bench.site.nexsis_token
    chosen = [key for key in SCENARIOS if bench.s.wants(key)]
    out: dict = {"rows": [], "runs": []}
    mock_cmd = servers.mock_command([bench.small_fixture], token, label="nexsis-mock-proxied")
    with servers.launch(mock_cmd, bench.logs, cores=bench.pin["server"]) as mock:
        for record in (None, str(bench.workdir / "bench.har")):
            keys = chosen if record is None else chosen[:1]
            command = proxy_command(mock.base_url, token, record)
            with servers.launch(command, bench.logs, cores=None) as proxy:
                for key in keys:
                    out["rows"].append(_measure(bench, mock.base_url, proxy.base_url, key, command.label))
                log_path = proxy.log
            out["runs"].append({"proxy": command.label, **_summary_line(log_path)})
    log(f"proxy: judged {out['runs']}")
    return out


def markdown(data: dict) -> list[str]:
    """The section of the results' Markdown (rows as measured)."""
    lines = [
        "## Proxy overhead (`nexsis proxy` in front of the mock)",
        "",
        "| scenario | proxy | direct req/s | proxied req/s | kept | p50 direct / proxied ms | "
        "added p50 ms | p99 direct / proxied ms | added p99 ms | errors | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in data.get("rows", []):
        d, p = r["direct"], r["proxied"]
        lines.append(
            f"| {r['scenario']} | {r['proxy']} | {d['rps']:.0f} | {p['rps']:.0f} | "
            f"{r['throughput_kept']} | {d['p50_ms']:.2f} / {p['p50_ms']:.2f} | {r['added_p50_ms']:+.2f} | "
            f"{d['p99_ms']:.2f} / {p['p99_ms']:.2f} | {r['added_p99_ms']:+.2f} | "
            f"{d['errors']} / {p['errors']} | {'-'.join(map(str, r.get('loadavg_1m') or ['?']))} |"
        )
    for run in data.get("runs", []):
        lines.append(
            f"\n- {run['proxy']}: judged {run.get('exchanges')} exchanges, {run.get('violations')} violations"
        )
    return [*lines, ""]
