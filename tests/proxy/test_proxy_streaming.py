"""Bodies larger than what the proxy keeps stream through whole; many connections at once."""

from __future__ import annotations

import asyncio
import hashlib
import json

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from tests.contracts.conftest import ServerThread
from tests.proxy.conftest import ProxyProcess

BIG = 9 * 1024 * 1024  # over the 4 MiB each body is kept up to


async def digest(request: Request) -> JSONResponse:
    h = hashlib.sha256()
    size = 0
    async for chunk in request.stream():
        h.update(chunk)
        size += len(chunk)
    return JSONResponse({"size": size, "sha256": h.hexdigest()})


async def download(request: Request) -> StreamingResponse:
    async def chunks():
        for _ in range(BIG // 65536):
            yield b"x" * 65536

    return StreamingResponse(chunks(), media_type="application/octet-stream")


async def slowish(request: Request) -> JSONResponse:
    await asyncio.sleep(0.2)
    return JSONResponse({"n": request.query_params["n"]})


APP = Starlette(
    routes=[Route("/up", digest, methods=["PUT"]), Route("/down", download), Route("/s", slowish)]
)


def test_large_bodies_stream_through_unchanged_and_the_har_says_what_it_kept(tmp_path):
    payload = bytes(range(256)) * (BIG // 256)

    def body():
        for i in range(0, len(payload), 1 << 20):
            yield payload[i : i + (1 << 20)]

    har = tmp_path / "big.har"
    with ServerThread(APP) as server:
        proxy = ProxyProcess(server.url, "--record", str(har), report_dir=tmp_path)
        try:
            up = httpx.put(proxy.url + "/up", content=body(), timeout=60)
            down = httpx.get(proxy.url + "/down", timeout=60)
        finally:
            code = proxy.stop()
    assert up.json() == {"size": len(payload), "sha256": hashlib.sha256(payload).hexdigest()}
    assert len(down.content) == BIG // 65536 * 65536
    assert code == 0  # paths of neither spec are not judged, never violations
    entries = json.loads(har.read_text())["log"]["entries"]
    assert entries[0]["request"]["bodySize"] == len(payload)
    assert f"of {len(payload)} bytes" in entries[0]["request"]["postData"]["comment"]
    assert entries[1]["response"]["content"]["size"] == len(down.content)
    assert proxy.report()["not_judged"] == {"no operation of either spec": 2}


def test_many_concurrent_connections_all_answered(tmp_path):
    async def burst(url: str) -> list[str]:
        limits = httpx.Limits(max_connections=100)
        async with httpx.AsyncClient(timeout=60, limits=limits, trust_env=False) as client:
            responses = await asyncio.gather(*(client.get(url + f"/s?n={i}") for i in range(100)))
        return [r.json()["n"] for r in responses]

    with ServerThread(APP) as server:
        proxy = ProxyProcess(server.url, report_dir=tmp_path)
        try:
            seen = asyncio.run(burst(proxy.url))
        finally:
            code = proxy.stop()
    assert seen == [str(i) for i in range(100)]
    assert code == 0
    assert proxy.report()["exchanges"] == 100


def test_accepted_connections_do_not_wait_for_nagle():
    """Headers and body leave in separate writes; without TCP_NODELAY each answer's body waited for
    the client's delayed ACK (40 ms per request, measured in bench/proxy.py)."""
    import socket

    from nexsis_contracts.proxy.cli import listen_socket

    listener = listen_socket("127.0.0.1", 0)
    with listener, socket.create_connection(listener.getsockname()) as _client:
        accepted, _addr = listener.accept()
        with accepted:
            assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0


def test_a_client_gone_mid_upload_is_no_exchange_and_the_proxy_goes_on(tmp_path):
    """The upstream request is given up (no 502 counted, nothing judged); the next one is served."""
    import socket
    import time
    from urllib.parse import urlsplit

    with ServerThread(APP) as server:
        proxy = ProxyProcess(server.url, report_dir=tmp_path)
        try:
            parts = urlsplit(proxy.url)
            with socket.create_connection((parts.hostname, parts.port)) as sock:
                sock.sendall(b"PUT /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n" + b"a" * 70000)
                time.sleep(0.3)  # the proxy is now streaming the body to the upstream
            time.sleep(0.3)
            after = httpx.get(proxy.url + "/s?n=1", timeout=30)
        finally:
            code = proxy.stop()
    assert after.json() == {"n": "1"}
    assert code == 0, proxy.output + proxy.stderr
    report = proxy.report()
    assert report["exchanges"] == 1 and report["violations"] == 0, report
    assert "Traceback" not in proxy.stderr, proxy.stderr
