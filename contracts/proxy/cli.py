"""`nexsis proxy --upstream URL`: forward both APIs to a site and judge every exchange.

Exit codes: 0 no violation seen, 1 at least one violation (or an upstream failure answered 502/504),
2 usage error (bad --upstream, the address cannot be bound), 3 exchanges could not all be judged
(the judging process did not start or ended early).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import signal
import socket
import sys
import threading
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

EPILOG = """\
Exit codes: 0 no violation, 1 violations (or upstream failures), 2 usage error,
3 exchanges not all judged (the judging process failed).
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

    from nexsis_contracts.proxy.forward import Proxy
    from nexsis_contracts.proxy.judging import NOT_JUDGED, USAGE, JudgingProcess, JudgingStopped

    upstream = args.upstream.rstrip("/")
    judging = JudgingProcess(upstream, record=args.record, report_dir=args.report_dir)
    try:
        await judging.start()
    except JudgingStopped as exc:
        if exc.code != USAGE:  # a usage error has said what it was
            print(f"nexsis proxy: {exc}", file=sys.stderr)
        sock.close()
        return USAGE if exc.code == USAGE else NOT_JUDGED
    gc.collect()
    gc.freeze()  # what is loaded stays loaded: full collections walk only what the traffic makes
    proxy = Proxy(upstream, judging.submit, timeout=args.timeout)
    # No Server or Date of the proxy's own: the upstream's come through unchanged (not twice).
    config = uvicorn.Config(
        proxy,
        log_level="warning",
        lifespan="off",
        access_log=False,
        timeout_graceful_shutdown=5,
        server_header=False,
        date_header=False,
        proxy_headers=False,  # X-Forwarded-* go to the upstream untouched, not read here
        backlog=2048,
    )
    server = _make_server(config)
    host, port = sock.getsockname()[:2]
    print(f"nexsis proxy: listening on http://{host}:{port} -> {upstream}", flush=True)
    stopper = None
    if args.duration:
        stopper = asyncio.get_running_loop().call_later(args.duration, setattr, server, "should_exit", True)
    try:
        await server.serve(sockets=[sock])
    finally:
        if stopper is not None:
            stopper.cancel()
        await proxy.aclose()
        try:
            code = await judging.finish()  # the child judges what is left, writes the reports
        except JudgingStopped as exc:
            print(f"nexsis proxy: {exc}", file=sys.stderr)
            code = NOT_JUDGED
    return code if code in (0, 1) else NOT_JUDGED


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
