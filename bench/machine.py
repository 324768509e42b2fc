"""What the figures were measured on: a benchmark without its machine is not a result."""

from __future__ import annotations

import functools
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

PACKAGES = ["connexion", "starlette", "uvicorn", "uvloop", "httptools", "orjson", "pyyaml",
            "jsonschema", "schemathesis", "hypothesis", "httpx", "qs-codec", "nexsis-contracts"]


@functools.cache
def wrk_version() -> str:
    wrk = shutil.which("wrk")
    if not wrk:
        return "absent"
    proc = subprocess.run([wrk, "--version"], capture_output=True, text=True)
    first = (proc.stdout or proc.stderr).splitlines()
    return first[0].split("[")[0].replace("wrk", "").strip() if first else "unknown"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def usable_cores() -> list[int]:
    try:
        return sorted(os.sched_getaffinity(0))
    except AttributeError:
        return list(range(os.cpu_count() or 1))


def pinning() -> dict[str, list[int] | None]:
    """Server on one core, the load generator on the others (nothing pinned on a 1-core box)."""
    cores = usable_cores()
    if len(cores) < 2 or not shutil.which("taskset"):
        return {"server": None, "loadgen": None}
    return {"server": [cores[0]], "loadgen": cores[1:]}


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def git_revision(root: Path) -> str:
    try:
        rev = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
                             capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain"],
                               capture_output=True, text=True).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def describe(root: Path) -> dict:
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    return {
        "cpu_model": cpu_model(),
        "cores": os.cpu_count(),
        "usable_cores": usable_cores(),
        "pinning": pinning(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "python_implementation": platform.python_implementation(),
        "packages": package_versions(),
        "wrk": wrk_version(),
        "git": git_revision(root),
    }


def peak_rss_mib(pid: int) -> float | None:
    """Peak resident set (VmHWM) of a live process and its children, in MiB (Linux only)."""
    try:
        import psutil
        procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
        pids = [p.pid for p in procs]
    except Exception:
        pids = [pid]
    peak = 0
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return round(peak / 1024, 1) if peak else None
