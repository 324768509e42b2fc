"""Built-in load generator for machines without wrk: `python -m bench.pyload SPEC.json OUT.json`.

N asyncio tasks, each with its own keep-alive httpx client of one connection, cycle through the
request list for a fixed time, exactly like bench/lua/cycle.lua does in wrk, and write the same
result dict. It exists so that CI and a laptop without wrk still exercise the whole harness end
to end; its own cost caps what it can measure (about 1,500 requests per second on one core),
which the report states.
One client per connection rather than one pooled client: httpcore's pool costs O(connections)
per request and cut throughput fourfold at 32 connections when measured. Without `sniffio`
installed, httpcore retries a failing `import sniffio` on every request (2.5x slower).
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import httpx

from bench.loadgen import SEQ, Capture, Req, _result


def _is_app_error(body: bytes) -> bool:
    return b'"exception"' in body and b'"errorcode"' in body


async def _worker(index: int, seq_base: int, client: httpx.AsyncClient, requests: list[Req],
                  deadline: float, latencies: list[float], counters: dict[str, int], captures: list[Capture],
                  acked: set[str]) -> None:
    position = index % len(requests)
    seq = 0
    patterns = [c.regex() for c in captures]
    while time.perf_counter() < deadline:
        req = requests[position]
        position = (position + 1) % len(requests)
        path, body = req.path, req.body
        if req.dynamic:
            seq += 1
            unique = str(seq_base + (index + 1) * 100000000 + seq)
            path = path.replace(SEQ, unique)
            body = body.replace(SEQ, unique) if body is not None else None
        started = time.perf_counter()
        try:
            response = await client.request(req.method, path, headers=req.headers,
                                            content=body.encode() if body is not None else None)
        except httpx.HTTPError:
            counters["socket"] += 1
            continue
        latencies.append(time.perf_counter() - started)
        counters["requests"] += 1
        if response.status_code >= 400:
            counters["http"] += 1
        elif _is_app_error(response.content):
            counters["app"] += 1
        elif response.status_code < 300:
            text = response.text
            for pattern in patterns:
                acked.update(pattern.findall(text))


def _percentile(sorted_values: list[float], pct: float) -> float:
    if not sorted_values:
        return 0.0
    rank = min(len(sorted_values) - 1, max(0, round(pct / 100 * len(sorted_values)) - 1))
    return sorted_values[rank]


async def generate(spec: dict) -> dict:
    requests = [Req(r["method"], r["path"], r["headers"], r["body"]) for r in spec["requests"]]
    captures = [Capture(**c) for c in spec.get("captures", [])]
    connections = int(spec["connections"])
    latencies: list[float] = []
    counters = {"requests": 0, "http": 0, "app": 0, "socket": 0}
    acked: set[str] = set()
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(base_url=spec["base_url"], limits=limits,
                                 timeout=float(spec.get("timeout", 10.0))) for _ in range(connections)]
    try:
        started = time.perf_counter()
        deadline = started + float(spec["duration"])
        seq_base = int(spec["seq_base"])
        await asyncio.gather(*(_worker(i, seq_base, client, requests, deadline, latencies, counters, captures,
                                       acked) for i, client in enumerate(clients)))
        elapsed = time.perf_counter() - started
    finally:
        for client in clients:
            await client.aclose()
    if spec.get("ack_file"):
        Path(spec["ack_file"]).write_text("".join(f"{value}\n" for value in sorted(acked)))
    latencies.sort()
    ms = [v * 1000 for v in latencies]
    return _result(
        generator=f"python-httpx {httpx.__version__} ({connections} connections)",
        requests=counters["requests"], duration_s=elapsed,
        latency_ms={"p50": _percentile(ms, 50), "p90": _percentile(ms, 90), "p99": _percentile(ms, 99),
                    "max": ms[-1] if ms else 0.0, "mean": sum(ms) / len(ms) if ms else 0.0},
        http_errors=counters["http"], app_errors=counters["app"], socket_errors=counters["socket"],
        acked=len(acked),
    )


def main(argv: list[str]) -> int:
    spec_file, out_file = argv
    result = asyncio.run(generate(json.loads(Path(spec_file).read_text())))
    Path(out_file).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
