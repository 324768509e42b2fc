"""CPU per request, measured in-process: `python -m bench.percall [--scenario KEY ...] [--profile]`.

A wrk ratio needs a quiet machine; this figure does not. The mock's ASGI app (``create_app`` on
the generated small site, exactly what ``nexsis mock`` serves) is driven through uvicorn's own
HTTP protocol (``serving.BoundedHeadersProtocol``, httptools parsing the raw request bytes, the
answer written to a transport that keeps nothing), one keep-alive connection, one request at a
time, on uvloop as uvicorn uses it. ``time.process_time`` over N requests, best of R rounds
(other processes on a shared machine only ever add time), is the CPU one request costs; the
bare-Starlette ceiling (``bench.ceiling_app``) driven the same way gives the in-process ratio.
The socket's kernel cost is not in it, so the ratio reads higher than wrk's; what is compared is
before and after. ``--profile`` prints cProfile's top functions for one scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import itertools
import pstats
import sys
import tempfile
import time
import typing as t
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import gen_fixture
from bench.loadgen import SEQ, Req
from bench.scenarios import BY_KEY

DEFAULT_SCENARIOS = ["get_user", "put_user_json", "put_user_form", "ws_get_allocations", "ws_create_groups"]


class _Transport(asyncio.Transport):
    """A connection's transport that counts what is written and keeps nothing."""

    def __init__(self) -> None:
        super().__init__()
        self.written = 0
        self.last = b""
        self.closing = False
        self.done: asyncio.Future[None] | None = None

    def get_extra_info(self, name: str, default: t.Any = None) -> t.Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def write(self, data: t.Any) -> None:
        self.written += len(data)
        self.last += bytes(data)

    def is_closing(self) -> bool:
        return self.closing

    def close(self) -> None:
        self.closing = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def get_write_buffer_size(self) -> int:
        return 0


_SEQ = itertools.count(10_000_000)


def raw_requests(req: Req, count: int) -> list[bytes]:
    """``count`` requests as wire bytes ("@SEQ@" numbered as the load generators do)."""
    out = []
    for _ in range(count):
        path, body = req.path, req.body or ""
        if req.dynamic:
            seq = str(next(_SEQ))
            path, body = path.replace(SEQ, seq), body.replace(SEQ, seq)
        data = body.encode()
        head = [f"{req.method} {path} HTTP/1.1", "Host: 127.0.0.1:8000", "User-Agent: percall"]
        head += [f"{k}: {v}" for k, v in req.headers.items()]
        if req.body is not None:
            head.append(f"Content-Length: {len(data)}")
        out.append(("\r\n".join(head) + "\r\n\r\n").encode() + data)
    return out


class Driver:
    """One keep-alive connection into an ASGI app through uvicorn's protocol."""

    def __init__(self, app: t.Any) -> None:
        import uvicorn
        from uvicorn.server import ServerState

        from nexsis_mock.serving import BoundedHeadersProtocol

        config = uvicorn.Config(app, access_log=False, log_level="warning", proxy_headers=False,
                                lifespan="off")
        config.load()
        self.transport = _Transport()
        self.protocol = BoundedHeadersProtocol(config, ServerState(), {})
        self.protocol.connection_made(self.transport)

    async def send(self, data: bytes) -> None:
        """One request's bytes in; returns once its answer is written (``transport.last``)."""
        self.transport.last = b""
        self.protocol.data_received(data)
        tasks = list(self.protocol.server_state.tasks)
        if tasks:
            await asyncio.gather(*tasks)


async def _measure(driver: Driver, raws: list[bytes]) -> float:
    for raw in raws[:50]:  # warm-up
        await driver.send(raw)
    head = driver.transport.last.split(b"\r\n", 1)[0]
    if (b" 200 " not in head and b" 201 " not in head) or b'"exception"' in driver.transport.last:
        raise SystemExit(f"the request failed: {driver.transport.last[:300]!r}")
    started = time.process_time()
    for raw in raws[50:]:
        await driver.send(raw)
    return (time.process_time() - started) / (len(raws) - 50)


def mock_app(fixture: Path) -> t.Any:
    from nexsis_mock.app import create_app
    from nexsis_mock.domain import Service

    return create_app(Service.create(fixtures=[fixture]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.percall", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", action="append", choices=sorted(BY_KEY),
                        help="default: the five with targets")
    parser.add_argument("-n", type=int, default=2000, help="requests per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--profile", action="store_true", help="cProfile the (first) scenario instead")
    parser.add_argument("--top", type=int, default=45)
    parser.add_argument("--mock-only", action="store_true", help="no ceiling rounds (to sample with py-spy)")
    parser.add_argument("--serve", action="store_true",
                        help="rounds on request: read 'KEY N' (or 'ceiling KEY N') lines, answer us/req; "
                             "two such processes driven in turn compare two checkouts on a busy machine")
    args = parser.parse_args(argv)
    import uvloop

    keys = args.scenario or DEFAULT_SCENARIOS
    size = gen_fixture.SIZES["small"]
    site = gen_fixture.site(size)
    with tempfile.TemporaryDirectory() as tmp:
        fixture = gen_fixture.write(size, Path(tmp) / "site.json")
        app = mock_app(fixture)
    from bench.ceiling_app import app as ceiling

    async def run() -> None:
        mock, base = Driver(app), Driver(ceiling)
        if args.serve:
            print("ready", flush=True)
            for line in sys.stdin:
                *target, key, count = line.split()
                reqs = BY_KEY[key].build(site).requests
                driver = base if target == ["ceiling"] else mock
                cost = await _measure(driver, raw_requests(reqs[0], int(count) + 50))
                print(f"{cost * 1e6:.3f}", flush=True)
            return
        if args.profile:
            req = BY_KEY[keys[0]].build(site).requests[0]
            raws = raw_requests(req, args.n)
            await _measure(mock, raws[:60])
            prof = cProfile.Profile()
            prof.enable()
            for raw in raws:
                await mock.send(raw)
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(args.top)
            pstats.Stats(prof).sort_stats("cumtime").print_stats(args.top)
            return
        print(f"{'scenario':22} {'mock us/req':>11} {'ceiling us/req':>14} {'ratio':>6} {'mock mean':>10}")
        for key in keys:
            reqs = BY_KEY[key].build(site).requests
            costs, base_costs = [], []
            for r in range(args.rounds):
                raws = raw_requests(reqs[r % len(reqs)], args.n + 50)
                costs.append(await _measure(mock, raws))
                base_costs.append(1.0 if args.mock_only else await _measure(base, raws))
            cost, base_cost = min(costs), min(base_costs)
            mean = sum(costs) / len(costs)  # with the rare costs (full GC passes) the best round misses
            print(f"{key:22} {cost * 1e6:11.1f} {base_cost * 1e6:14.1f} {base_cost / cost:6.3f} "
                  f"{mean * 1e6:10.1f}", flush=True)

    uvloop.run(run())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
