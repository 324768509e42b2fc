"""The admin API refuses what a foreign web page could send it (issue 13 #3), over real HTTP.

Before: a cross-site simple POST (``text/plain``, foreign ``Origin`` and ``Host``) to
``/__admin/reset`` wiped the site, ``PUT /__admin/state`` with ``{}`` was "imported", and an admin
body had no size limit.
"""

from __future__ import annotations

import httpx
import pytest

from .conftest import NX, Server, raw_http

MARK = {"path": f"{NX}/guard-marker", "status": 418}


def _marked(http: httpx.Client) -> bool:
    return any(rule.get("path") == MARK["path"] for rule in http.get("/__admin/faults").json())


@pytest.fixture
def marked(http: httpx.Client) -> httpx.Client:
    """A fault rule that a reset would remove: its survival proves a refused call changed nothing."""
    assert http.post("/__admin/faults", json=MARK).status_code == 201
    return http


def test_cross_site_simple_post_cannot_reset(marked: httpx.Client):
    r = marked.post("/__admin/reset", content=b"x", headers={
        "Content-Type": "text/plain", "Origin": "http://evil.example", "Host": "evil.example"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden", r.text
    assert "Host" in r.json()["message"]
    assert _marked(marked)


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1"])
def test_foreign_origin_is_refused_even_with_our_host(marked: httpx.Client, origin: str):
    r = marked.post("/__admin/reset", headers={"Origin": origin})
    assert r.status_code == 403 and "Origin" in r.json()["message"], r.text
    assert _marked(marked)


def test_dns_rebinding_host_cannot_read_the_tokens(http: httpx.Client):
    r = http.get("/__admin/tokens", headers={"Host": "attacker.example:8080"})
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert "nexsis" not in r.text


def test_own_origin_and_loopback_names_are_accepted(server: Server, marked: httpx.Client):
    own = server.base_url
    assert marked.get("/__admin/health", headers={"Origin": own}).status_code == 200
    for host in ("localhost", f"localhost:{server.port}", "api.localhost", "[::1]:1", "127.0.0.2"):
        assert marked.get("/__admin/health", headers={"Host": host}).status_code == 200, host


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x"])
def test_admin_writes_refuse_the_types_a_page_sends_without_preflight(marked: httpx.Client,
                                                                      content_type: str):
    r = marked.post("/__admin/reset", content=b"a=1", headers={"Content-Type": content_type})
    assert r.status_code == 415 and r.json()["error"] == "unsupported_media_type", r.text
    r = marked.post("/__admin/faults", content=b'{"method": "GET", "status": 500}',
                    headers={"Content-Type": content_type})
    assert r.status_code == 415
    assert marked.delete("/__admin/faults", headers={"Content-Type": content_type}).status_code == 415
    assert [rule["path"] for rule in marked.get("/__admin/faults").json()] == [MARK["path"]]


def test_a_body_needs_a_json_type_and_a_bodiless_write_needs_none(marked: httpx.Client):
    port = int(str(marked.base_url).rsplit(":", 1)[1].rstrip("/"))
    status, body = raw_http(port, b"POST /__admin/faults HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                  b"Content-Length: 32\r\nConnection: close\r\n\r\n"
                                  b'{"method": "GET", "status": 500}')
    assert status == 415, body
    r = marked.post("/__admin/faults", json={"method": "GET", "status": 500, "times": 1},
                    headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 201, r.text
    assert marked.post("/__admin/reset?keep_journal=true").status_code == 200  # curl -X POST
    assert not _marked(marked)


def test_public_url_host_and_origin_are_the_mocks_own():
    with Server(public_url="https://mock.example.test:8443/") as srv, \
            httpx.Client(base_url=srv.base_url) as client:
        headers = {"Host": "mock.example.test:8443", "Origin": "https://mock.example.test:8443"}
        assert client.post("/__admin/reset", headers=headers).status_code == 200
        r = client.post("/__admin/reset", headers={"Host": "other.example.test"})
        assert r.status_code == 403


def test_admin_token_is_checked_with_the_guard():
    with Server(admin_token="s3cret-admin") as srv, httpx.Client(base_url=srv.base_url) as client:
        assert client.post("/__admin/reset").status_code == 401
        assert client.get("/__admin/ui/").status_code == 200
        ok = client.post("/__admin/reset", headers={"Authorization": "Bearer s3cret-admin"})
        assert ok.status_code == 200
        r = client.post("/__admin/reset", headers={"Authorization": "Bearer s3cret-admin",
                                                   "Origin": "http://evil.example"})
        assert r.status_code == 403  # a token does not make a foreign page welcome


def test_state_import_takes_only_a_complete_export(http: httpx.Client):
    before = http.get("/__admin/state").json()
    assert before["version"] == 1
    partial = {k: v for k, v in before.items() if k != "tokens"}
    for document in ({}, partial, {**before, "version": 2}, {**before, "extra": []},
                     {k: v for k, v in before.items() if k != "version"}):
        r = http.put("/__admin/state", json=document)
        assert r.status_code == 400 and r.json()["error"] == "bad_request", r.text
    assert "tokens" in http.put("/__admin/state", json=partial).json()["message"]
    assert http.get("/__admin/state").json() == before
    assert http.put("/__admin/state", json=before).json() == {"status": "imported"}
    assert http.get("/__admin/state").json() == before


def test_admin_bodies_have_a_limit_declared_or_chunked():
    with Server(admin_max_body=4096) as srv, httpx.Client(base_url=srv.base_url) as client:
        export = client.get("/__admin/state").content
        assert len(export) > 4096
        r = client.put("/__admin/state", content=export, headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["error"] == "payload_too_large", r.text

        def chunks(data: bytes = export):
            for i in range(0, len(data), 1000):
                yield data[i:i + 1000]

        r = client.put("/__admin/state", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and "4096" in r.json()["message"]
        small = b'{"method": "GET", "status": 503, "times": 1}'
        r = client.post("/__admin/faults", content=chunks(small),
                        headers={"Content-Type": "application/json"})
        assert r.status_code == 201, r.text  # chunked encoding is accepted like the APIs'


def test_a_chunked_state_import_within_the_limit_is_imported(http: httpx.Client):
    export = http.get("/__admin/state").content

    def chunks():
        for i in range(0, len(export), 4096):
            yield export[i:i + 4096]

    r = http.put("/__admin/state", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 200, r.text
