"""Results as JSON (the record) and Markdown (the table docs/benchmarks.md quotes).

Every throughput figure is also given as a ratio to the Starlette ceiling measured in the same
run on the same machine: absolute requests per second move with the hardware, the ratio much
less, and the issue's targets are stated as ratios.
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from typing import Any

import orjson

# The reference figures (measured elsewhere), shown beside this machine's.
REFERENCE = {"starlette-ceiling": 13_000, "connexion-example-mock": 1_100}
GIB = 1024


def ceiling_rps(data: dict) -> float | None:
    for row in data.get("throughput", []):
        if row["server"] == "starlette-ceiling":
            return row["rps"]
    return None


def add_ratios(data: dict) -> None:
    ceiling = ceiling_rps(data)
    data["ceiling_rps"] = ceiling
    for row in data.get("throughput", []):
        row["ratio"] = round(row["rps"] / ceiling, 3) if ceiling else None


def targets(data: dict) -> list[dict[str, Any]]:
    """The issue's targets with what this run measured (None: not measured in this run)."""
    out: list[dict[str, Any]] = []

    def add(name: str, target: str, measured: Any, ok: bool | None) -> None:
        out.append({"target": name, "wanted": target, "measured": measured, "ok": ok})

    rows = {(r["server"], r["scenario"]): r for r in data.get("throughput", [])}
    ceiling = data.get("ceiling_rps")
    for key, wanted in (("get_user", 0.40), ("put_user_json", 0.25), ("put_user_form", 0.25),
                        ("ws_get_allocations", 0.25), ("ws_create_groups", 0.25)):
        row = rows.get(("nexsis-mock", key))
        if row and ceiling:
            add(f"{row['title']} >= {wanted:.0%} of the Starlette ceiling",
                f">= {wanted * ceiling:.0f} req/s", f"{row['rps']:.0f} req/s ({row['ratio']:.0%})",
                row["ratio"] >= wanted)
    startup = data.get("startup", {}).get("default fixtures")
    if startup:
        add("first 200 with default fixtures", "< 1.5 s", f"{startup['median_s']:.2f} s",
            startup["median_s"] < 1.5)
    scale = data.get("scale") or {}
    for row in scale.get("latency", []):
        if row.get("p99_ratio") is not None:
            add(f"p99 of {row['scenario']} at {scale['size']['enrolments']:,} enrolments vs small site",
                "<= 1.5x",
                f"{row['p99_ratio']:.2f}x ({row['small_p99_ms']:.2f} -> {row['large_p99_ms']:.2f} ms)",
                row["p99_ratio"] <= 1.5)
    for fmt, load in (scale.get("load") or {}).items():
        if load.get("load_s") is not None:
            add(f"{scale['size']['enrolments']:,}-enrolment fixture ({fmt}) load", "< 60 s, < 1.5 GiB RSS",
                f"{load['load_s']:.1f} s, {load['peak_rss_mib'] / GIB:.2f} GiB",
                load["load_s"] < 60 and load["peak_rss_mib"] < 1.5 * GIB)
        elif load:
            add(f"{scale['size']['enrolments']:,}-enrolment fixture ({fmt}) load", "< 60 s, < 1.5 GiB RSS",
                load.get("error"), False)
    soak = data.get("soak")
    if soak:
        add(f"mixed profile, {soak['connections']} connections, {soak['duration_s']:.0f} s: zero errors, "
            "consistent state", "0 errors, all checks", f"{soak['load']['errors']['total']} errors, "
            f"{sum(soak['checks'].values())}/{len(soak['checks'])} checks", soak["consistent"])
    return out


def _fmt_range(values: list[float], digits: int = 0) -> str:
    return f"{values[0]:,.{digits}f}-{values[1]:,.{digits}f}"


def markdown(data: dict) -> str:
    m = data["machine"]
    settings = data["settings"]
    lines = [
        f"# nexsis benchmark ({data['mode']}, {data['started']})",
        "",
        f"- Machine: {m['cpu_model']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}; "
        f"Python {m['python']}; git {m['git']}",
        f"- Pinning: server on cores {m['pinning']['server']}, load generator on {m['pinning']['loadgen']}",
        f"- Load generator: {data['loadgen']}; {settings['connections']} keep-alive connections, "
        f"{settings['rounds']} round(s) of {settings['duration']:.0f} s after {settings['warmup']:.0f} s "
        "warm-up; medians, min-max across rounds",
        "- Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items() if v != "absent"),
        f"- Starlette ceiling on this machine: {data.get('ceiling_rps') or 0:,.0f} req/s "
        f"(issue's reference: {REFERENCE['starlette-ceiling']:,}); Connexion example mock reference "
        f"{REFERENCE['connexion-example-mock']:,}",
        "",
        "## Throughput and latency",
        "",
        "| server | scenario | req/s (median) | min-max | x ceiling | p50 ms | p99 ms | p99 min-max "
        "| errors | load avg |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in data.get("throughput", []):
        ratio = f"{r['ratio']:.2f}" if r.get("ratio") is not None else "-"
        lines.append(f"| {r['server']} | {r['title']} | {r['rps']:,.0f} | {_fmt_range(r['rps_min_max'])} "
                     f"| {ratio} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {_fmt_range(r['p99_min_max'], 2)} "
                     f"| {r['errors']} | {r.get('loadavg_1m_before', '-')} |")
    if data.get("targets"):
        lines += ["", "## Targets", "", "| target | wanted | measured | met |", "|---|---|---|---|"]
        for t in data["targets"]:
            met = {True: "yes", False: "**no**", None: "-"}[t["ok"]]
            lines.append(f"| {t['target']} | {t['wanted']} | {t['measured']} | {met} |")
    if data.get("startup"):
        lines += ["", "## Startup (launch to first 200)", "", "| case | median s | runs |", "|---|---:|---|"]
        for name, s in data["startup"].items():
            lines.append(f"| {name} | {s['median_s']:.3f} | {', '.join(f'{v:.3f}' for v in s['runs_s'])} |")
    scale = data.get("scale")
    if scale:
        size = scale["size"]
        lines += ["", f"## Scale: {size['users']:,} users, {size['courses']:,} courses, "
                      f"{size['enrolments']:,} enrolments (vs the {scale['compared_with']} site)", "",
                  "| fixture | file MB | load s | peak RSS MiB |", "|---|---:|---:|---:|"]
        for fmt, load in scale.get("load", {}).items():
            if load.get("load_s") is None:
                lines.append(f"| {fmt} | - | {load.get('error')} | - |")
            else:
                lines.append(f"| {fmt} | {load['file_mb']} | {load['load_s']:.2f} "
                             f"| {load['peak_rss_mib']:.0f} |")
        lines += ["", f"Server: first 200 after {scale.get('startup_s')} s; "
                      f"peak RSS {scale.get('peak_rss_mib')} MiB.",
                  "", "| scenario | small p99 ms | large p99 ms | ratio | small req/s | large req/s |",
                  "|---|---:|---:|---:|---:|---:|"]
        for r in scale.get("latency", []):
            small_p99 = f"{r['small_p99_ms']:.2f}" if r["small_p99_ms"] is not None else "-"
            small_rps = f"{r['small_rps']:,.0f}" if r["small_rps"] is not None else "-"
            ratio = f"{r['p99_ratio']:.2f}" if r["p99_ratio"] is not None else "-"
            lines.append(f"| {r['scenario']} | {small_p99} | {r['large_p99_ms']:.2f} | {ratio} | "
                         f"{small_rps} | {r['large_rps']:,.0f} |")
    soak = data.get("soak")
    if soak:
        load = soak["load"]
        lines += ["", f"## Soak: mixed profile, {soak['connections']} connections, "
                      f"{soak['duration_s']:.0f} s", "",
                  f"{load['rps']:,.0f} req/s, p50 {load['latency_ms']['p50']:.2f} ms, p99 "
                  f"{load['latency_ms']['p99']:.2f} ms, {load['errors']['total']} errors; "
                  "acknowledged creates: "
                  f"{soak['acked']['users']} users, {soak['acked']['groups']} groups; journal: "
                  f"{soak['journal']['requests']} requests for {load['requests']} completed.", "",
                  "| check | ok |", "|---|---|"]
        lines += [f"| {name} | {'yes' if ok else '**no**'} |" for name, ok in soak["checks"].items()]
    conf = data.get("conformance")
    if conf:
        lines += ["", "## Conformance run against the local mock", ""]
        if conf.get("skipped"):
            lines.append(f"Skipped: {conf['skipped']}")
        else:
            lines.append(f"`{conf['command'].strip()}`: exit {conf['exit_code']}, wall {conf['wall_s']} s, "
                         f"{conf['cases']} test cases over {conf['operations']} operations/scenarios "
                         f"({conf['cases_per_s']} cases/s), {conf['requests_journal']} requests "
                         f"({conf['requests_per_s']} req/s).")
    lines += ["", "## Servers", "", "| server | how | startup s | peak RSS MiB |", "|---|---|---:|---:|"]
    for name, s in data.get("servers", {}).items():
        lines.append(f"| {name} | {s['notes']} | {s['startup_s']} | {s['peak_rss_mib']} |")
    lines.append(f"\nTotal wall time {data.get('wall_s')} s.")
    return "\n".join(lines) + "\n"


def write(data: dict, out: Path, started: dt.datetime) -> list[Path]:
    add_ratios(data)
    data["targets"] = targets(data)
    out.mkdir(parents=True, exist_ok=True)
    stamp = started.strftime("%Y%m%dT%H%M%SZ") + ("-smoke" if data["mode"] == "smoke" else "")
    json_path, md_path = out / f"{stamp}.json", out / f"{stamp}.md"
    json_path.write_bytes(orjson.dumps(data, option=orjson.OPT_INDENT_2))
    md_path.write_text(markdown(data))
    shutil.copyfile(json_path, out / "latest.json")
    shutil.copyfile(md_path, out / "latest.md")
    return [json_path, md_path]
