"""Moodle's ``siteurl`` (and the URLs built on it) name the mock as the client reached it (issue 12)."""

from __future__ import annotations

import httpx

from nexsis_openapi import codec

from .conftest import WS, Server


def _site_info(base: str, host: str | None = None) -> dict:
    body = codec.encode({"wstoken": "ws-admin-token-0001", "wsfunction": "core_webservice_get_site_info",
                         "moodlewsrestformat": "json"})
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if host:
        headers["Host"] = host
    answer = httpx.post(base + WS, content=body, headers=headers)
    assert answer.status_code == 200
    return answer.json()


def test_siteurl_is_the_host_and_port_the_client_used(server: Server) -> None:
    info = _site_info(server.base_url)
    assert info["siteurl"] == server.base_url  # the fixtures say http://localhost:8080
    assert info["userpictureurl"].startswith(server.base_url + "/theme/image.php/")
    assert _site_info(server.base_url, "moodle.test:9090")["siteurl"] == "http://moodle.test:9090"


def test_a_malformed_host_header_is_not_copied_into_siteurl(server: Server) -> None:
    assert _site_info(server.base_url, "evil.example/path@x")["siteurl"] == server.base_url


def test_siteurl_is_the_public_url_when_one_is_given() -> None:
    with Server(public_url="https://moodle.example:8443/lms/") as srv:
        assert _site_info(srv.base_url)["siteurl"] == "https://moodle.example:8443/lms"


def test_without_http_the_domain_answers_the_fixtures_site_url(server: Server) -> None:
    result = server.service.call("moodle-ws", "core_webservice_get_site_info", {}, "ws-admin-token-0001")
    assert result.body["siteurl"] == "http://localhost:8080"
