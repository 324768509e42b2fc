"""`nexsis mock` as a real process: its admin API keeps foreign pages out and bounds admin bodies."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .conftest import mock_process


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with mock_process(tmp_path_factory.mktemp("mock") / "mock.log", "--admin-max-body", "200") as port:
        yield f"http://127.0.0.1:{port}"


def test_admin_max_body_flag_bounds_admin_bodies(base_url: str):
    small = {"path": "/x", "status": 503}
    big = {**small, "body": {"padding": "x" * 300}}
    assert httpx.post(base_url + "/__admin/faults", json=small).status_code == 201
    r = httpx.post(base_url + "/__admin/faults", json=big)
    assert r.status_code == 413 and "200 bytes" in r.json()["message"], r.text
    assert len(httpx.get(base_url + "/__admin/faults").json()) == 1


def test_the_real_server_refuses_a_cross_site_reset(base_url: str):
    httpx.post(base_url + "/__admin/faults", json={"path": "/marker", "status": 418})
    before = httpx.get(base_url + "/__admin/faults").json()
    r = httpx.post(base_url + "/__admin/reset", content=b"{}", headers={
        "Content-Type": "text/plain", "Origin": "http://evil.example", "Host": "evil.example"})
    assert r.status_code == 403
    r = httpx.post(base_url + "/__admin/reset", content=b"x", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415
    assert httpx.get(base_url + "/__admin/faults").json() == before  # nothing was reset
