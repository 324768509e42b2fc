"""Where a request's time goes in `nexsis mock`: `python -m bench profile [--scenario KEY ...]`.

Starts the mock on the small benchmark site (one core), drives one scenario with the load
generator and samples the server with py-spy (`pip install -e '.[bench]'`; sampling another process
needs ptrace rights: root, or CAP_SYS_PTRACE). Each sample is charged to the layer of its
innermost frame that belongs to a known layer (stdlib frames are looked through), so the table is
self time per layer: HTTP server, routing and the Moodle call, security, request validation,
response validation, the journal, rendering, the pipeline's own steps, other ASGI layers (the
Connexion host) and the domain (the module names are the mock's, ``LAYERS``). Dividing by the
requests served during the sampling window gives microseconds of CPU per request.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import orjson

from bench import gen_fixture, loadgen, machine, servers
from bench.scenarios import BY_KEY

# (layer, substrings of a py-spy frame "function (path:line)"); the first layer a frame matches wins.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("response validation", ("response_validation", "ResponseValidator", "mock/middleware/conformance.py")),
    ("security (token check)", ("connexion/middleware/security.py", "connexion/security.py",
                                "mock/middleware/auth.py", "check_nexsis_token", "ws_token_problem",
                                "TokenSecurity", "verify_scope")),
    ("journal", ("Recorder", "mock/middleware/journal.py")),
    ("domain (Service.call, handlers, store)", ("mock/domain/", "mock/handlers/", "mock/store/")),
    ("request validation (parameters, body)", (
        "connexion/validators/", "jsonschema/", "connexion/json_schema.py", "connexion/uri_parsing.py",
        "mock/middleware/validation.py", "mock/middleware/bodies.py", "mock/middleware/coercion.py",
        "mock/middleware/limits.py", "openapi/codec", "qs_codec/")),
    ("routing and the Moodle call", ("starlette/routing.py", "starlette/convertors.py",
                                     "connexion/middleware/routing.py", "mock/endpoints.py",
                                     "mock/middleware/moodle.py")),
    ("rendering", ("mock/middleware/render.py", "starlette/responses.py", "orjson", "json/encoder.py")),
    ("the pipeline's own steps", ("mock/middleware/pipeline.py",)),
    ("ASGI middleware layers", ("connexion/", "starlette/", "mock/middleware/")),
    ("HTTP server (uvicorn, httptools, mock/serving.py)", ("uvicorn/", "httptools", "mock/serving.py")),
    ("event loop", ("asyncio/", "uvloop")),
]
OTHER = "other"


def classify(frames: list[str]) -> str:
    for frame in reversed(frames):
        for layer, needles in LAYERS:
            if any(n in frame for n in needles):
                return layer
    return OTHER


def summarise(raw: str, requests: int, rate: int) -> dict:
    """Self time per layer and the hottest functions, from py-spy's raw (collapsed) output."""
    layers: Counter[str] = Counter()
    leaves: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        frames = stack.split(";")
        total += n
        layers[classify(frames)] += n
        leaves[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    per_request = (lambda n: round(n / rate / requests * 1e6, 1)) if requests else (lambda n: None)
    return {
        "samples": total, "rate_hz": rate, "requests": requests,
        "cpu_us_per_request": per_request(total),
        "layers": [{"layer": k, "share": round(v / total, 3), "us_per_request": per_request(v)}
                   for k, v in layers.most_common()] if total else [],
        "top_self": [{"frame": k, "share": round(v / total, 3)} for k, v in leaves.most_common(15)],
        "top_inclusive": [{"frame": k, "share": round(v / total, 3)} for k, v in inclusive.most_common(40)],
    }


def markdown(key: str, summary: dict, load: dict) -> str:
    lines = [f"### {BY_KEY[key].title}: {load['rps']:,.0f} req/s under py-spy, "
             f"{summary['cpu_us_per_request']} µs CPU per request ({summary['samples']} samples)", "",
             "| layer (self time) | share | µs/request |", "|---|---:|---:|"]
    lines += [f"| {r['layer']} | {r['share']:.1%} | {r['us_per_request']} |" for r in summary["layers"]]
    lines += ["", "| hottest frames (self) | share |", "|---|---:|"]
    lines += [f"| `{r['frame']}` | {r['share']:.1%} |" for r in summary["top_self"][:10]]
    return "\n".join(lines) + "\n"


def py_spy() -> str | None:
    local = Path(sys.executable).parent / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def profile(key: str, *, duration: float, connections: int, rate: int, workdir: Path,
            fixture: Path | None = None, extra: list[str] | None = None) -> tuple[dict, dict, str]:
    spy = py_spy()
    if not spy:
        raise SystemExit("py-spy not found: `pip install -e '.[bench]'` "
                         "(sampling needs root or CAP_SYS_PTRACE)")
    size = gen_fixture.SIZES["small"]
    site = gen_fixture.site(size)
    fixture = fixture or gen_fixture.write(size, workdir / "site-small.json")
    pin = machine.pinning()
    scenario = BY_KEY[key]
    command = servers.mock_command([fixture], site.nexsis_token, extra=extra)
    raw_file = workdir / f"profile-{key}.txt"
    with servers.launch(command, workdir / "logs", cores=pin["server"]) as srv:
        requests = scenario.build(site).requests
        loadgen.run(loadgen.LoadSpec(srv.base_url, requests, connections, 2.0), cores=pin["loadgen"])
        spy_cmd = [spy, "record", "--pid", str(srv.proc.pid), "--rate", str(rate), "--duration",
                   str(int(duration)), "--format", "raw", "--nonblocking", "-o", str(raw_file)]
        if pin["loadgen"]:
            spy_cmd = ["taskset", "-c", ",".join(map(str, pin["loadgen"])), *spy_cmd]
        sampler = subprocess.Popen(spy_cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(0.3)
        load = loadgen.run(loadgen.LoadSpec(srv.base_url, requests, connections, duration),
                           cores=pin["loadgen"])
        _, err = sampler.communicate(timeout=duration + 60)
        if sampler.returncode != 0 or not raw_file.exists():
            raise SystemExit(f"py-spy failed ({sampler.returncode}): {err.strip()[-500:]}")
    load.pop("text", None)
    raw = raw_file.read_text()
    return summarise(raw, load["requests"], rate), load, raw


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", choices=sorted(BY_KEY),
                        help="default: get_user, put_user_json")
    parser.add_argument("--duration", type=float, default=15.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=int, default=250, help="py-spy samples per second")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent / "results")
    parser.add_argument("--mock-arg", action="append", default=[], help="extra argument for `nexsis mock`")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    parts = []
    for key in args.scenario or ["get_user", "put_user_json"]:
        summary, load, _raw = profile(key, duration=args.duration, connections=args.connections,
                                     rate=args.rate, workdir=args.out, extra=args.mock_arg)
        (args.out / f"profile-{key}.json").write_bytes(orjson.dumps({"summary": summary, "load": load},
                                                                     option=orjson.OPT_INDENT_2))
        parts.append(markdown(key, summary, load))
        print(parts[-1])
    (args.out / "profile.md").write_text("\n".join(parts))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
