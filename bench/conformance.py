"""Conformance throughput: `nexsis check` against a local `nexsis mock`.

A conformance run gates every release, so its wall time is a product figure. The harness starts
the mock on its default fixtures (what the suite is developed against), reads the tokens from
/__admin/tokens, runs the suite's default configuration, and reports wall time, test cases per
second (the `cases` the suite's report.md counts per operation) and requests per second, with the
mock's journal as a cross-check of the request count.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bench import servers

if TYPE_CHECKING:
    from bench.measure import BenchContext as Bench

SMOKE_ARGS = ["--max-examples", "1", "--no-stateful", "--time-budget", "30s"]


def _tokens(base_url: str) -> tuple[str | None, str | None, str | None]:
    data = httpx.get(f"{base_url}/__admin/tokens", timeout=10).json()
    nexsis = (data.get("nexsis") or [None])[0]
    ws = data.get("moodle-ws") or {}
    full = next((t for t, v in ws.items() if v.get("capabilities") == "all"), None)
    # The suite's MOODLE_WS_NOCAP_TOKEN is a user without any tool/muprog capability (its check
    # expects tool_muprog_* to be refused for it): a read-only token that has tool/muprog:view is
    # not one, and passing it made every run fail that check.
    nocap = next((t for t, v in ws.items() if v.get("capabilities") != "all"
                  and not any(str(c).startswith("tool/muprog:") for c in v.get("capabilities") or ())),
                 None)
    return nexsis, full, nocap


def parse_report(markdown: str) -> dict:
    """Cases per operation and the request count from the suite's report.md."""
    cases = 0
    operations = 0
    in_table = False
    header: list[str] = []
    for line in markdown.splitlines():
        if line.startswith("| API | operation |"):
            header = [c.strip() for c in line.strip("|").split("|")]
            in_table = True
            continue
        if in_table:
            if not line.startswith("|"):
                in_table = False
                continue
            cells = [c.strip() for c in line.strip("|").split("|")]
            if set(cells[0]) <= {"-", ":", " "}:
                continue
            row = dict(zip(header, cells, strict=False))
            if row.get("cases", "").isdigit():
                cases += int(row["cases"])
                operations += 1
    match = re.search(r"Requests:\s*(\d+)", markdown)
    return {"cases": cases, "operations": operations, "requests": int(match.group(1)) if match else None}


def run(bench: Bench) -> dict:
    from bench.measure import log

    nexsis = servers.console_script("nexsis")
    if not shutil.which(nexsis) and not Path(nexsis).exists():
        return {"skipped": "`nexsis` not installed"}
    token = servers.default_fixture_token()
    command = servers.mock_command(None, token, label="nexsis-mock-conformance",
                                   extra=["--journal-size", "1000000"])
    extra = bench.s.conformance_args or (SMOKE_ARGS if bench.s.mode == "smoke" else [])
    report_dir = bench.workdir / "conformance-report"
    with servers.launch(command, bench.logs, cores=bench.pin["server"]) as srv:
        nexsis_token, ws_token, nocap = _tokens(srv.base_url)
        before = _journal_total(srv.base_url)
        argv = [nexsis, "check", "--base-url", srv.base_url, "--report-dir", str(report_dir), *extra]
        env_tokens = {"NEXSIS_TOKEN": nexsis_token or "", "MOODLE_WS_TOKEN": ws_token or "",
                      "MOODLE_WS_NOCAP_TOKEN": nocap or ""}
        log(f"conformance: nexsis check {' '.join(argv[2:])}")
        started = time.perf_counter()
        # The suite runs on the load generator's cores: it is the mock's client here.
        cores = bench.pin["loadgen"]
        pinned = ["taskset", "-c", ",".join(map(str, cores)), *argv] if cores else argv
        proc = subprocess.run(pinned, capture_output=True, text=True,
                              env={**_environ(), **{k: v for k, v in env_tokens.items() if v}},
                              timeout=3600)
        wall = time.perf_counter() - started
        after = _journal_total(srv.base_url)
    report_md = report_dir / "report.md"
    parsed = parse_report(report_md.read_text()) if report_md.exists() else {"cases": None, "requests": None}
    out = {
        "command": "nexsis check --base-url URL --report-dir DIR " + " ".join(extra),
        "exit_code": proc.returncode, "wall_s": round(wall, 2),
        "cases": parsed.get("cases"), "operations": parsed.get("operations"),
        "requests_reported": parsed.get("requests"), "requests_journal": after - before,
        "cases_per_s": round(parsed["cases"] / wall, 1) if parsed.get("cases") else None,
        "requests_per_s": round((after - before) / wall, 1) if wall else None,
        "output_tail": "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-4:]),
        # The report folder is temporary: keep what failed, so a red run can be read afterwards.
        "failures": [line.strip() for line in (proc.stdout + proc.stderr).splitlines()
                     if ": fail (" in line],
    }
    log(f"  conformance: exit {out['exit_code']}, {out['wall_s']} s, {out['cases']} cases, "
        f"{out['requests_journal']} requests")
    return out


def _journal_total(base_url: str) -> int:
    return httpx.get(f"{base_url}/__admin/requests", params={"limit": 1}, timeout=10).json()["total"]


def _environ() -> dict[str, str]:
    import os
    return dict(os.environ)
