"""Memory under hostile traffic: RSS of the mock before and after PUTs carrying a huge ignored field.

Issue 13 #1: every accepted NexSIS request leaves an entry in NexSIS's request log, kept as its
inputs until someone reads the logs; 200 PUTs each carrying an ignored 900 KB field once took the
mock from 105 to 262 MB, and with the 20,000-entry log cap the worst case was many GB. This
section replays that traffic against `nexsis mock` (default fixtures, in memory) and reports the
resident set (VmRSS, not the peak) before, after the PUTs, and after the logs were read, so
docs/benchmarks.md can show that the growth stays bounded whatever the field's size.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from bench import servers
from nexsis_openapi import NEXSIS_BASE_PATH

if TYPE_CHECKING:
    from bench.measure import BenchContext as Bench

NX = NEXSIS_BASE_PATH
FIELD_BYTES = 900_000


def rss_mib(pid: int) -> float | None:
    """Current resident set (VmRSS) of a live process, in MiB (Linux only)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        return None
    return None


def run(bench: Bench) -> dict:
    from bench.measure import log

    puts = 20 if bench.s.mode == "smoke" else 200
    token = servers.default_fixture_token()
    out: dict = {"puts": puts, "field_bytes": FIELD_BYTES}
    command = servers.mock_command(None, token, label="nexsis-mock-memory")
    with servers.launch(command, bench.logs, cores=bench.pin["server"]) as srv, \
            httpx.Client(base_url=srv.base_url, timeout=60.0,
                         headers={"Authorization": f"Bearer {token}"}) as client:
        pid = srv.proc.pid
        client.get(f"{NX}/ping")
        out["rss_before_mib"] = rss_mib(pid)
        junk = "x" * FIELD_BYTES
        statuses: dict[int, int] = {}
        for i in range(puts):
            body = {"username": f"memory{i}", "firstname": "Memory", "ignored_field": junk}
            status = client.put(f"{NX}/user/MEM{i}", json=body).status_code
            statuses[status] = statuses.get(status, 0) + 1
        gc.collect()
        out["rss_after_puts_mib"] = rss_mib(pid)
        out["statuses"] = {str(k): v for k, v in sorted(statuses.items())}
        out["errors"] = sum(v for k, v in statuses.items() if k != 200)
        logs = client.get(f"{NX}/logs", params={"limit": puts})
        out["logs_status"] = logs.status_code
        out["rss_after_logs_read_mib"] = rss_mib(pid)
        out["peak_rss_mib"] = srv.peak_rss_mib()
    before, after = out["rss_before_mib"], out["rss_after_puts_mib"]
    if before is not None and after is not None:
        out["growth_mib"] = round(after - before, 1)
        out["growth_per_put_kib"] = round((after - before) * 1024 / puts, 1)
    log(f"memory: {puts} PUTs with a {FIELD_BYTES:,}-byte ignored field: RSS {before} -> {after} MiB "
        f"(after reading the logs {out['rss_after_logs_read_mib']} MiB), errors {out['errors']}")
    return out
