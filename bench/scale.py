"""Scale: a 1M-enrolment site: fixture load time, peak memory, and latency against the small site.

Load time and peak RSS are measured in a fresh interpreter that does nothing but
`Service.create(fixtures=[file])` (ru_maxrss of that process), once per fixture format: JSON
(parsed with orjson) and YAML (libyaml's CSafeLoader when available), so the cost of each format
is separated from the server's. The server started on the same JSON fixture then gives the
startup figure and the latency of the scale scenarios, compared scenario by scenario with the
same scenarios on the small site measured just before, back to back: figures taken minutes apart
on a shared machine are not comparable.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from bench import gen_fixture, servers
from bench.scenarios import BY_KEY

if TYPE_CHECKING:
    from pathlib import Path

    from bench.measure import BenchContext as Bench

SCALE_SCENARIOS = ("get_user", "put_user_json", "course_enrol", "ws_get_allocations")
LOADER = """
import json, resource, sys, time
from pathlib import Path
started = time.perf_counter()
from nexsis_mock.domain import Service
imported = time.perf_counter()
svc = Service.create(fixtures=[Path(sys.argv[1])])
loaded = time.perf_counter()
stats = svc.stats()
print(json.dumps({"import_s": imported - started, "load_s": loaded - imported,
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "users": stats.get("users"), "courses": stats.get("courses"),
                  "enrolments": stats.get("enrolments")}))
"""


def measure_load(fixture: Path, timeout: float) -> dict:
    """Load time and peak RSS of the domain alone, in a fresh interpreter."""
    try:
        proc = subprocess.run([sys.executable, "-c", LOADER, str(fixture)], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"error": f"did not finish within {timeout:.0f} s", "load_s": None}
    if proc.returncode != 0:
        return {"error": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed",
                "load_s": None}
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    data["file_mb"] = round(fixture.stat().st_size / 1e6, 1)
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in data.items()}


def run(bench: Bench) -> dict:
    from bench.measure import log, measure

    settings = bench.s
    size = gen_fixture.SIZES[settings.large_size]
    out: dict = {"size": {"users": size.users, "courses": size.courses, "enrolments": size.enrolments},
                 "compared_with": settings.site_size}
    started = time.perf_counter()
    json_fixture = gen_fixture.write(size, bench.workdir / f"site-{settings.large_size}.json")
    yaml_fixture = gen_fixture.write(size, bench.workdir / f"site-{settings.large_size}.yaml")
    out["generate_s"] = round(time.perf_counter() - started, 1)
    log(f"scale: {settings.large_size} fixture generated in {out['generate_s']} s")

    load_timeout = 600.0 if settings.mode == "full" else 120.0
    out["load"] = {}
    for name, fixture in (("json", json_fixture), ("yaml", yaml_fixture)):
        out["load"][name] = measure_load(fixture, load_timeout)
        log(f"  load {name}: {out['load'][name]}")

    small = {}
    command = servers.mock_command([bench.small_fixture], bench.site.nexsis_token,
                                   label="nexsis-mock-small")
    with servers.launch(command, bench.logs, cores=bench.pin["server"]) as srv:
        for key in SCALE_SCENARIOS:
            small[key] = measure(settings, srv.base_url, BY_KEY[key], bench.site,
                                 label="nexsis-mock-small")
            bench.data["throughput"].append(small[key])
    site = gen_fixture.site(size)
    command = servers.mock_command([json_fixture], site.nexsis_token, label="nexsis-mock-large")
    with servers.launch(command, bench.logs, cores=bench.pin["server"], timeout=load_timeout) as srv:
        out["startup_s"] = round(srv.startup_s, 3)
        out["server_rss_after_load_mib"] = srv.peak_rss_mib()
        bench.data.setdefault("startup", {})[f"{settings.large_size} site (JSON)"] = {
            "median_s": out["startup_s"], "runs_s": [out["startup_s"]]}
        log(f"  server on the {settings.large_size} site: first 200 after {out['startup_s']} s, "
            f"RSS {out['server_rss_after_load_mib']} MiB")
        comparisons = []
        for key in SCALE_SCENARIOS:
            large = measure(settings, srv.base_url, BY_KEY[key], site, label="nexsis-mock-large")
            bench.data["throughput"].append(large)
            ref = small.get(key)
            comparisons.append({
                "scenario": key, "small_p99_ms": ref["p99_ms"] if ref else None,
                "large_p99_ms": large["p99_ms"],
                "p99_ratio": round(large["p99_ms"] / ref["p99_ms"], 2) if ref and ref["p99_ms"] else None,
                "small_rps": ref["rps"] if ref else None, "large_rps": large["rps"],
                "errors": large["errors"]})
        out["peak_rss_mib"] = srv.peak_rss_mib()
        out["latency"] = comparisons
    bench.data["servers"]["nexsis-mock-large"] = {"notes": command.notes, "startup_s": out["startup_s"],
                                                  "peak_rss_mib": out["peak_rss_mib"]}
    return out
