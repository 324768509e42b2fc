"""Load generators: wrk (preferred) and a small built-in httpx generator (fallback).

Both run in a second process (pinned to other cores than the server where the machine allows),
cycle every keep-alive connection through the same request list, and return the same result
dict, so a report says which one produced a figure but never mixes their formats. wrk is a C
event loop; the Python generator saturates at a few thousand requests per second, so figures
measured with it are a floor of the server's throughput, not its ceiling.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from bench import machine

LUA_DIR = Path(__file__).with_name("lua")
SEQ = "@SEQ@"
# "@SEQ@" = run base + (thread or connection + 1) * 1e8 + counter: unique across the loads of one
# harness process, so a warm-up and the rounds after it never create the same name twice.
SEQ_RUN_STRIDE = 10_000_000_000
_runs = itertools.count(1)
WRK_INSTALL_HINT = (
    "wrk not found: install it for real figures (Debian/Ubuntu: `apt-get update && apt-get install -y wrk`; "
    "macOS: `brew install wrk`). Falling back to the built-in Python load generator, whose own "
    "speed caps the figures."
)


@dataclass(frozen=True)
class Req:
    """One HTTP request of a load profile. "@SEQ@" in path or body becomes a unique number."""

    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)
    body: str | None = None

    @property
    def dynamic(self) -> bool:
        return SEQ in self.path or (self.body is not None and SEQ in self.body)


@dataclass(frozen=True)
class Capture:
    """A JSON string member whose value, in a 2xx answer, proves a write was acknowledged.

    Values must start with `prefix` followed by digits (the unique @SEQ@ number), so a read that
    returns fixture data never counts as an acknowledgement.
    """

    key: str
    prefix: str

    def lua(self) -> str:
        return f'"{self.key}":%s*"({_lua_escape_pattern(self.prefix)}%d+)"'

    def regex(self) -> re.Pattern[str]:
        return re.compile(rf'"{re.escape(self.key)}":\s*"({re.escape(self.prefix)}\d+)"')


@dataclass
class LoadSpec:
    base_url: str
    requests: list[Req]
    connections: int
    duration: float
    captures: list[Capture] = field(default_factory=list)
    ack_file: str | None = None
    timeout: float = 10.0
    seq_base: int = field(default_factory=lambda: next(_runs) * SEQ_RUN_STRIDE)


def _lua_escape_pattern(text: str) -> str:
    return re.sub(r"([%^$().\[\]*+\-?])", r"%\1", text)


def lua_string(text: str) -> str:
    """A Lua string literal for any text (bytes outside printable ASCII as decimal escapes)."""
    out = []
    for byte in text.encode():
        char = chr(byte)
        if char in '"\\':
            out.append("\\" + char)
        elif 32 <= byte < 127:
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def lua_prelude(spec: LoadSpec) -> str:
    lines = ["bench_requests = {"]
    for req in spec.requests:
        headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in req.headers.items())
        body = lua_string(req.body) if req.body is not None else "nil"
        lines.append(f"  {{method = {lua_string(req.method)}, path = {lua_string(req.path)}, "
                     f"headers = {{{headers}}}, body = {body}, dynamic = {str(req.dynamic).lower()}}},")
    lines.append("}")
    if spec.captures:
        lines.append("bench_capture = {" + ", ".join(lua_string(c.lua()) for c in spec.captures) + "}")
    else:
        lines.append("bench_capture = nil")
    lines.append(f"bench_ack_file = {lua_string(spec.ack_file) if spec.ack_file else 'nil'}")
    lines.append(f"bench_seq_base = {spec.seq_base}")
    return "\n".join(lines) + "\n"


def wrk_path() -> str | None:
    return shutil.which("wrk")


def name(prefer_wrk: bool = True) -> str:
    """Which generator `run` will use."""
    return "wrk" if prefer_wrk and wrk_path() else "python-httpx"


def run(spec: LoadSpec, *, prefer_wrk: bool = True, cores: list[int] | None = None,
        workdir: Path | None = None) -> dict:
    """Run one timed load and return the result dict (see `_result`)."""
    if prefer_wrk and wrk_path():
        return _run_wrk(spec, cores, workdir)
    return _run_python(spec, cores, workdir)


def _pin(cmd: list[str], cores: list[int] | None) -> list[str]:
    if cores and shutil.which("taskset"):
        return ["taskset", "-c", ",".join(map(str, cores)), *cmd]
    return cmd


def _run_wrk(spec: LoadSpec, cores: list[int] | None, workdir: Path | None) -> dict:
    threads = max(1, min(len(cores) if cores else 1, spec.connections))
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        script = Path(tmp, "load.lua")
        script.write_text(lua_prelude(spec) + (LUA_DIR / "cycle.lua").read_text())
        cmd = _pin([wrk_path() or "wrk", f"-t{threads}", f"-c{spec.connections}",
                    f"-d{max(1, round(spec.duration))}s", f"--timeout={int(spec.timeout)}s",
                    "--latency", "-s", str(script), spec.base_url], cores)
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=spec.duration + 60)
    if proc.returncode != 0:
        raise RuntimeError(f"wrk failed ({proc.returncode}): {proc.stderr.strip() or proc.stdout.strip()}")
    match = re.search(r"^BENCH_JSON (\{.*\})$", proc.stdout, re.MULTILINE)
    if not match:
        raise RuntimeError(f"wrk printed no BENCH_JSON line:\n{proc.stdout}\n{proc.stderr}")
    raw = json.loads(match.group(1))
    socket = raw["socket_errors"]
    return _result(
        generator=f"wrk {machine.wrk_version()}",
        requests=raw["requests"],
        duration_s=raw["duration_us"] / 1e6,
        latency_ms={k: v / 1000 for k, v in raw["latency_us"].items()},
        http_errors=max(raw["http_errors"], raw["status_errors"]),
        app_errors=raw["app_errors"],
        socket_errors=socket["connect"] + socket["read"] + socket["write"] + socket["timeout"],
        acked=raw["acked"],
        text=proc.stdout.replace(match.group(0), "").strip(),
    )


def _run_python(spec: LoadSpec, cores: list[int] | None, workdir: Path | None) -> dict:
    with tempfile.TemporaryDirectory(dir=workdir) as tmp:
        spec_file = Path(tmp, "spec.json")
        out_file = Path(tmp, "result.json")
        payload = asdict(spec)
        spec_file.write_text(json.dumps(payload))
        cmd = _pin([sys.executable, "-m", "bench.pyload", str(spec_file), str(out_file)], cores)
        env = {**os.environ, "PYTHONPATH": _repo_root() + os.pathsep + os.environ.get("PYTHONPATH", "")}
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=spec.duration + 120,
                              env=env, cwd=_repo_root())
        if proc.returncode != 0:
            raise RuntimeError(f"python load generator failed: {proc.stderr.strip()}")
        return json.loads(out_file.read_text())


def _repo_root() -> str:
    return str(Path(__file__).resolve().parent.parent)


def _result(*, generator: str, requests: int, duration_s: float, latency_ms: dict[str, float],
            http_errors: int, app_errors: int, socket_errors: int, acked: int, text: str = "") -> dict:
    """The one result format of both generators."""
    return {
        "generator": generator,
        "requests": requests,
        "duration_s": round(duration_s, 3),
        "rps": round(requests / duration_s, 1) if duration_s else 0.0,
        "latency_ms": {k: round(v, 3) for k, v in latency_ms.items()},
        "errors": {"http": http_errors, "app": app_errors, "socket": socket_errors,
                   "total": http_errors + app_errors + socket_errors},
        "acked_writes": acked,
        "text": text,
    }
