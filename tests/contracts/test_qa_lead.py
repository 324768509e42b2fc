"""What a QA lead sees: each failure's rule, reason, request and a curl that runs as pasted; a wrong
--base-url is exit 3 with a hint; an operation never answered with success is `unverified` everywhere.
"""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any
from urllib.parse import urlsplit

from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

from nexsis_openapi import codec
from tests.contracts.conftest import ServerThread, run_check, set_faults
from tests.contracts.test_against_mock import _check as check_mock
from tests.contracts.test_against_mock import mock_url  # noqa: F401 (fixture)
from tests.faulty_server.app import NEXSIS_TOKEN, PREFIX, WS_TOKEN


def _fails_with_500(entry: dict[str, Any]) -> bool:
    """The faulty server's `nonascii_500` condition for PUT /user (tests/faulty_server/app.py)."""
    if entry["method"] != "PUT" or not entry["path"].startswith(PREFIX + "/user/") or not entry["body"]:
        return False
    try:
        data = json.loads(entry["body"])
    except ValueError:
        try:
            data = codec.decode(entry["body"])
        except codec.CodecError:
            return False
    if not isinstance(data, dict):
        return False
    fields = ("username", "firstname", "lastname", "email")
    if any(k in data and not isinstance(data[k], str) for k in fields):
        return False
    return any(not str(v).isascii() for v in data.values())


def test_terminal_names_rule_reason_request_and_curl_runs_as_pasted(faulty, tmp_path):
    server, state = faulty
    set_faults(server, "nonascii_500")
    proc = run_check(
        "--base-url", server.url, "--only", "nexsis", "-o", "putUser", "--max-examples", "20",
        "--seed", "3", "--no-stateful", "--report-dir", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    title = "FAIL nexsis putUser [not_a_server_error]"
    head = next(i for i, line in enumerate(lines) if line.startswith(title))
    assert "Server error" in lines[head]  # the one-line reason, not only the rule's name
    assert lines[head + 1].strip().startswith("PUT " + server.url + PREFIX + "/user/")
    assert lines[head + 1].endswith("-> HTTP 500")
    curl = lines[head + 2].strip()
    assert curl.startswith("curl ") and '"$NEXSIS_TOKEN"' in curl and "[REDACTED]" not in curl
    assert NEXSIS_TOKEN not in proc.stdout + proc.stderr

    # The report holds the smallest body that broke the rule, not the first fuzz that did.
    report = json.loads((tmp_path / "report.json").read_text())
    failure = next(
        f for op in report["operations"] for f in op["failures"] if f["check"] == "not_a_server_error"
    )
    assert failure["curl"] == curl
    failing = [len(e["body"]) for e in state.journal if _fails_with_500(e)]
    assert len(failing) > 1 and len(set(failing)) > 1, failing  # else the test proves nothing
    assert len(failure["request"]["body"]) == min(failing), (failure["request"]["body"], sorted(failing))

    # Pasted into a shell with the token in the environment, it reproduces the 500.
    env = {"PATH": os.environ["PATH"], "NEXSIS_TOKEN": NEXSIS_TOKEN}
    command = curl + " -o /dev/null -w '%{http_code}'"
    out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=30)
    assert out.stdout == "500", out


def test_ws_curl_carries_the_token_as_a_variable(faulty, tmp_path):
    server, _ = faulty
    set_faults(server, "ws_no_errorcode")
    proc = run_check(
        "--base-url", server.url, "--only", "moodle-ws", "-o", "tool_muprog_get_program_allocations",
        "--max-examples", "4", "--seed", "3", "--no-stateful", "--report-dir", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    failures = [f for op in report["operations"] for f in op["failures"]]
    assert {f["check"] for f in failures} >= {"ws_exception_envelope"}
    envelope = next(f for f in failures if f["check"] == "ws_exception_envelope")
    assert "[REDACTED]" not in envelope["curl"], envelope["curl"]
    env = {"PATH": os.environ["PATH"], "MOODLE_WS_TOKEN": WS_TOKEN}
    command = envelope["curl"]
    out = subprocess.run(["bash", "-c", command], capture_output=True, text=True, env=env, timeout=30)
    assert json.loads(out.stdout) == json.loads(envelope["response"]["body"]), (envelope["curl"], out)


def test_wrong_base_url_exits_3_with_a_hint(faulty):
    server, _ = faulty
    proc = run_check("--base-url", server.url + "/moodle", "--max-examples", "2")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert f"GET {server.url}/moodle{PREFIX}/ping answered a 404" in proc.stderr
    assert "hint: --base-url is the Moodle site root" in proc.stderr
    proc = run_check("--base-url", server.url + "/moodle", "--only", "moodle-ws", "--max-examples", "2")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "no moodle-ws API at this URL" in proc.stderr and "hint:" in proc.stderr


def test_a_site_that_is_not_moodle_exits_3():
    """A web server that answers every path with a page (a CMS, a login portal) is not a violation."""

    async def page(_request: Any) -> HTMLResponse:
        return HTMLResponse("<html><body>Welcome</body></html>")

    app = Starlette(routes=[Route("/{rest:path}", page, methods=["GET", "POST", "PUT", "DELETE"])])
    with ServerThread(app) as server:
        for only in ("nexsis", "moodle-ws"):
            proc = run_check("--base-url", server.url, "--only", only, "--max-examples", "2")
            assert proc.returncode == 3, proc.stdout + proc.stderr
            assert "an HTML page (HTTP 200)" in proc.stderr and "hint:" in proc.stderr


def test_operation_without_success_is_unverified_in_every_report(mock_url, tmp_path):  # noqa: F811
    proc = check_mock(
        "--base-url", mock_url, "--only", "nexsis", "-o", "getUser,getCertificationAllocation",
        "--max-examples", "3", "--seed", "1", "--no-stateful", "--report-dir", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    terminal = next(line for line in proc.stdout.splitlines() if "getCertificationAllocation" in line)
    assert "unverified" in terminal and "pass" not in terminal
    last = "nexsis check: conformant; 1 of 2 operations verified by a success answer, 1 unverified"
    assert last in proc.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    verdicts = {op["name"]: op["verdict"] for op in report["operations"]}
    assert verdicts == {"getUser": "pass", "getCertificationAllocation": "unverified"}
    assert report["unverified"] == ["nexsis:getCertificationAllocation"]
    markdown = (tmp_path / "report.md").read_text()
    assert "| nexsis | getCertificationAllocation | unverified |" in markdown
    html = (tmp_path / "report.html").read_text()
    assert "<b class='unverified'>(1 unverified)</b>" in html
    assert "<td>getCertificationAllocation</td><td class='unverified'>unverified</td>" in html
    junit = (tmp_path / "junit.xml").read_text()
    case = junit[junit.index('name="getCertificationAllocation"') :].split("</testcase>")[0]
    assert 'type="unverified"' in case and "<skipped" in case
    assert urlsplit(mock_url).hostname == "127.0.0.1"


def test_curl_sends_the_very_bytes_and_tokens_of_the_request():
    """Invalid UTF-8 and control characters in a fuzzed body, tokens in header, query and body."""
    import requests

    from nexsis_contracts.evidence import reproduction

    seen: list[tuple[bytes, str, str]] = []

    async def echo(request: Any) -> HTMLResponse:
        seen.append((await request.body(), request.headers.get("authorization", ""), request.url.query))
        return HTMLResponse("ok")

    app = Starlette(routes=[Route("/{rest:path}", echo, methods=["PUT", "POST"])])
    body = b'{"name": "\xff\xfe bad \x01\x1b it\'s \\ $HOME `id`"}&wstoken=secret-ws-1234&x=1'
    with ServerThread(app) as server:
        req = requests.Request(
            "PUT",
            server.url + "/enrol/nexsis/api/index.php/user/A%20B",
            params={"token": "wrong-probe-token"},
            headers={"Authorization": "Bearer secret-nx-5678", "Content-Type": "application/json"},
            data=body,
        ).prepare()
        curl = reproduction(req, {"NEXSIS_TOKEN": "secret-nx-5678", "MOODLE_WS_TOKEN": "secret-ws-1234"})
        assert "secret-" not in curl and '"$NEXSIS_TOKEN"' in curl and '"$MOODLE_WS_TOKEN"' in curl
        from nexsis_openapi import redact_text

        assert redact_text(curl, ("secret-nx-5678",)) == curl  # the reports' redaction pass leaves it whole
        env = {"PATH": os.environ["PATH"], "NEXSIS_TOKEN": "secret-nx-5678"}
        env["MOODLE_WS_TOKEN"] = "secret-ws-1234"
        out = subprocess.run(["bash", "-c", curl], capture_output=True, text=True, env=env, timeout=30)
        assert out.returncode == 0, (curl, out.stderr)
    assert seen == [(body, "Bearer secret-nx-5678", "token=wrong-probe-token")], (curl, seen)
