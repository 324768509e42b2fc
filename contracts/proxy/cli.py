"""`nexsis proxy --upstream URL`: forward both APIs to a site and judge every exchange.

Exit codes: 0 no violation seen, 1 at least one violation (or an upstream failure answered 502/504),
2 usage error (bad --upstream, the address cannot be bound).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import socket
import sys
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

EPILOG = """\
Exit codes: 0 no violation, 1 violations (or upstream failures), 2 usage error.
Stops on Ctrl-C, SIGTERM or after --duration seconds, then writes the reports.
"""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "proxy",
        help="reverse proxy that checks live traffic against the specs",
        description=__doc__,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--upstream", required=True, help="site root (wwwroot) to forward to")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8081, help="port to listen on (0: any free port)")
    parser.add_argument("--record", type=Path, metavar="FILE.har", help="write the traffic as HAR 1.2")
    parser.add_argument("--report-dir", type=Path, help="write junit.xml, report.md/.html/.json here")
    parser.add_argument("--duration", type=float, metavar="S", help="stop after S seconds")
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to wait for the upstream before answering 504 (default 30)",
    )
    parser.set_defaults(func=main)


def _check_upstream(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return f"--upstream must be an absolute http(s) URL, got {url!r}"
    if parts.query or parts.fragment:
        return "--upstream must not have a query or fragment"
    return None


def main(args: argparse.Namespace) -> int:
    problem = _check_upstream(args.upstream)
    if problem:
        print(f"nexsis proxy: {problem}", file=sys.stderr)
        return 2
    try:
        sock = listen_socket(args.host, args.port)
    except OSError as exc:
        print(f"nexsis proxy: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 2
    return _run(_serve(args, sock))


def _run(main: Coroutine[Any, Any, int]) -> int:
    """On uvloop when it is installed (uvicorn's own choice too): its transports cost less per
    exchange than asyncio's, and every exchange crosses four of them."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)


def listen_socket(host: str, port: int) -> socket.socket:
    """The listening socket, bound and listening before the server loop starts (connections queue)."""
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        # Inherited by accepted connections (Linux): headers and body go out as separate writes,
        # and Nagle plus the client's delayed ACK would hold every answer's body back 40 ms.
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


async def _serve(args: argparse.Namespace, sock: socket.socket) -> int:
    import uvicorn

    from nexsis_contracts.proxy.collector import Collector
    from nexsis_contracts.proxy.forward import Proxy
    from nexsis_contracts.proxy.har import HarWriter
    from nexsis_contracts.proxy.judge import Judge

    upstream = args.upstream.rstrip("/")
    har = HarWriter(args.record, upstream) if args.record else None
    collector = Collector(Judge(upstream), har)
    _freeze_heap()
    collector.start()
    proxy = Proxy(upstream, collector.submit, timeout=args.timeout)
    # No Server or Date of the proxy's own: the upstream's come through unchanged (not twice).
    config = uvicorn.Config(
        proxy,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=5,
        server_header=False,
        date_header=False,
        backlog=2048,
    )
    server = _make_server(config)
    host, port = sock.getsockname()[:2]
    collector.line(f"nexsis proxy: listening on http://{host}:{port} -> {upstream}")
    stopper = None
    if args.duration:
        stopper = asyncio.get_running_loop().call_later(args.duration, setattr, server, "should_exit", True)
    try:
        await server.serve(sockets=[sock])
    finally:
        if stopper is not None:
            stopper.cancel()
        await proxy.aclose()
        await collector.finish()
    if args.report_dir:
        for path in collector.write_reports(args.report_dir, upstream):
            collector.line(f"report: {path}")
    if har is not None:
        collector.line(f"recorded {har.count} exchanges to {args.record}")
    collector.line(f"nexsis proxy: {collector.summary()}")
    return 1 if collector.violations else 0


def _freeze_heap() -> None:
    """Move everything loaded so far (both specs, schemathesis, the checks) out of the collector's reach.

    Python's full collection walks every live object; with the specs loaded that walk stalled the
    event loop 80-180 ms a few times a second under load (the proxy's p99), for objects that live
    as long as the process anyway. Frozen, a full collection walks only what the traffic made.
    """
    import gc

    gc.collect()
    gc.freeze()


def _make_server(config: Any) -> Any:
    """uvicorn's server, stopping on SIGINT/SIGTERM without re-raising the signal afterwards.

    uvicorn re-delivers a captured signal once it has shut down, which would kill the process
    before the reports are written; here the signal only asks the server to stop.
    """
    import uvicorn

    class Server(uvicorn.Server):
        @contextlib.contextmanager
        def capture_signals(self) -> Iterator[None]:
            if threading.current_thread() is not threading.main_thread():
                yield
                return
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server(config)
