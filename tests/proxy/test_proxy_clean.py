"""`nexsis proxy` in front of the mock: a clean client run draws no violation and the same answers."""

from __future__ import annotations

import httpx

from nexsis_mock.app import create_app
from tests.contracts.conftest import ServerThread
from tests.proxy import client
from tests.proxy.conftest import NEXSIS_TOKEN, WS_TOKEN, ProxyProcess


def _site(answer: tuple[int, str, bytes], url: str) -> tuple[int, str, bytes]:
    status, ctype, body = answer
    return status, ctype, body.replace(url.replace("/", "\\/").encode(), b"<site>")


def test_clean_client_run_through_the_proxy_has_no_violation_and_the_same_answers(tmp_path):
    # Two mocks from the same fixture: one reached directly, one through the proxy.
    with (
        ServerThread(create_app(swagger_ui=False)) as direct,
        ServerThread(create_app(swagger_ui=False)) as behind,
    ):
        expected = client.run(direct.url)
        proxy = ProxyProcess(behind.url, "--record", str(tmp_path / "run.har"), report_dir=tmp_path)
        try:
            seen = client.run(proxy.url)
            url = "/enrol/nexsis/api/index.php/user/S1001"
            direct_headers = httpx.get(direct.url + url, headers=client.BEARER).headers
            proxied_headers = httpx.get(proxy.url + url, headers=client.BEARER).headers
        finally:
            code = proxy.stop()
    # Headers unchanged: the same names, once each (no Server/Date added by the proxy), same values.
    assert sorted(k for k, _v in proxied_headers.multi_items()) == sorted(
        k for k, _v in direct_headers.multi_items()
    )
    assert {k: v for k, v in proxied_headers.items() if k != "date"} == {
        k: v for k, v in direct_headers.items() if k != "date"
    }
    assert [s[0] for s in seen] == [e[0] for e in expected]
    # The mock names the site by the Host it was reached on (siteurl); the proxy sends the
    # upstream's own Host, as name-based virtual hosts need: each answer names its own mock.
    for step, got, want in zip(client.STEPS, seen, expected, strict=True):
        assert _site(got, behind.url) == _site(want, direct.url), step
    report = proxy.report()
    assert code == 0, proxy.output + proxy.stderr
    assert report["violations"] == 0, report["exchanges_with_violations"]
    assert report["exchanges"] == len(client.STEPS) + 1
    # Every exchange was judged against its operation (none fell through as unknown).
    assert report["not_judged"] == {}
    assert report["advisories"]["count"] == 0, report["advisories"]  # the mock refuses what Moodle refuses
    judged = {key for key, op in report["operations"].items() if op["exchanges"]}
    assert {
        "nexsis:ping",
        "nexsis:putUser",
        "nexsis:getUser",
        "moodle-ws:core_group_create_groups",
        "moodle-ws:tool_muprog_get_programs",
    } <= judged
    assert "0 violations" in proxy.output
    for name in ("junit.xml", "report.md", "report.html", "report.json", "run.har"):
        text = (tmp_path / name).read_text()
        assert NEXSIS_TOKEN not in text and WS_TOKEN not in text, name
