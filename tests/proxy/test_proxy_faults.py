"""`nexsis proxy` in front of tests/faulty_server: each planted fault reported by its rule, live and
in the reports; upstream failures answered 502/504 and reported; never a false alarm on the clean server."""

from __future__ import annotations

import asyncio
import signal
import socket

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.contracts.conftest import ServerThread, free_port
from tests.faulty_server.app import NEXSIS_TOKEN, WS_TOKEN, State, create_app
from tests.proxy.conftest import ProxyProcess

API = "/enrol/nexsis/api/index.php"
WS = "/webservice/rest/server.php"
AUTH = {"Authorization": f"Bearer {NEXSIS_TOKEN}"}


def _ws(function: str, **params: str) -> dict:
    return {
        "method": "POST",
        "url": WS,
        "data": {"wstoken": WS_TOKEN, "wsfunction": function, "moodlewsrestformat": "json", **params},
    }


#: What an integration sends; each fault breaks the answer to one of these requests.
TRAFFIC = [
    {"method": "GET", "url": f"{API}/ping", "headers": AUTH},
    {"method": "GET", "url": f"{API}/user/SEED-U1", "headers": AUTH},
    {"method": "GET", "url": f"{API}/course/SEED-C1"},  # no credentials: must be refused
    {
        "method": "PUT",
        "url": f"{API}/user/NEW-Ü1",
        "headers": AUTH,
        "json": {"username": "new1", "firstname": "Jürgen", "lastname": "Ünal", "email": "j@example.invalid"},
    },
    _ws("core_webservice_get_site_info"),
    _ws("tool_muprog_get_program_allocations", programid="99"),  # an error: the exception envelope
    _ws("tool_muprog_get_program_allocations", programid="1"),
]

#: fault -> (operation, rule) the proxy must report.
PLANTED = {
    "missing_field": ("getUser", "response_schema_conformance"),
    "wrong_type": ("getUser", "response_schema_conformance"),
    "nonascii_500": ("putUser", "not_a_server_error"),
    "auth_ignored": ("getCourse", "ignored_auth"),
    "ws_error_500": ("tool_muprog_get_program_allocations", "ws_exception_envelope"),
    "ws_no_errorcode": ("tool_muprog_get_program_allocations", "ws_exception_envelope"),
}


def _send(base: str) -> None:
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as client:
        for step in TRAFFIC:
            client.request(**step)


def _run(tmp_path, faults: set[str]) -> tuple[int, ProxyProcess]:
    state = State()
    state.faults = faults
    with ServerThread(create_app(state)) as server:
        proxy = ProxyProcess(server.url, report_dir=tmp_path)
        try:
            _send(proxy.url)
        finally:
            code = proxy.stop()
    return code, proxy


def test_clean_faulty_server_draws_no_violation(tmp_path):
    code, proxy = _run(tmp_path, set())
    report = proxy.report()
    assert report["violations"] == 0, report["exchanges_with_violations"]
    assert report["exchanges"] == len(TRAFFIC)
    assert code == 0


@pytest.mark.parametrize("fault", sorted(PLANTED))
def test_planted_fault_is_reported_by_rule(tmp_path, fault):
    operation, rule = PLANTED[fault]
    code, proxy = _run(tmp_path, {fault})
    assert code == 1, proxy.output + proxy.stderr
    report = proxy.report()
    found = {(v["operation"], v["rule"]) for v in report["exchanges_with_violations"]}
    assert (operation, rule) in found, found
    # Only the faulty operation is blamed.
    assert {op for op, _rule in found} == {operation}, found
    # Shown live, one line: operation, rule, short reason.
    live = [line for line in proxy.output.splitlines() if line.startswith("VIOLATION ")]
    assert any(line.startswith(f"VIOLATION {operation} {rule}: ") for line in live), proxy.output
    junit = (tmp_path / "junit.xml").read_text()
    assert f'type="{rule}"' in junit
    assert NEXSIS_TOKEN not in (tmp_path / "report.json").read_text()
    assert WS_TOKEN not in (tmp_path / "report.md").read_text()


def test_unreachable_upstream_is_answered_502_and_reported(tmp_path):
    port = free_port()  # nothing listens there
    proxy = ProxyProcess(f"http://127.0.0.1:{port}", report_dir=tmp_path)
    try:
        response = httpx.get(proxy.url + f"{API}/ping", headers=AUTH, timeout=30)
    finally:
        code = proxy.stop()
    assert response.status_code == 502
    assert response.json()["error"] == "upstream_unreachable"
    assert code == 1
    assert [(v["operation"], v["rule"]) for v in proxy.report()["exchanges_with_violations"]] == [
        ("ping", "upstream_error")
    ]


def test_slow_upstream_is_answered_504_within_the_timeout_and_reported(tmp_path):
    async def slow(request):
        await asyncio.sleep(30)
        return JSONResponse({"message": "pong"})

    app = Starlette(routes=[Route(API + "/ping", slow)])
    with ServerThread(app) as server:
        proxy = ProxyProcess(server.url, "--timeout", "0.5", report_dir=tmp_path)
        try:
            response = httpx.get(proxy.url + f"{API}/ping", headers=AUTH, timeout=20)
        finally:
            code = proxy.stop(signal.SIGTERM)
        server.server.force_exit = True
    assert response.status_code == 504
    assert response.json()["error"] == "upstream_timeout"
    assert code == 1
    assert [v["rule"] for v in proxy.report()["exchanges_with_violations"]] == ["upstream_timeout"]


def test_duration_ends_the_run_and_bad_arguments_exit_2(tmp_path):
    with ServerThread(create_app(State())) as server:
        proxy = ProxyProcess(server.url, "--duration", "1", report_dir=tmp_path)
        assert proxy.wait(60) == 0
    assert proxy.report()["exchanges"] == 0
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        import subprocess

        from tests.proxy.conftest import REPO

        nexsis = str(REPO / ".venv" / "bin" / "nexsis")
        taken = subprocess.run(
            [nexsis, "proxy", "--upstream", "http://127.0.0.1:1", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert taken.returncode == 2 and "cannot listen" in taken.stderr
    bad = subprocess.run(
        [nexsis, "proxy", "--upstream", "ftp://x"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2 and "--upstream" in bad.stderr
