"""The Swagger UI pages and spec documents name this mock as it was reached (issue 12), over HTTP."""

from __future__ import annotations

import httpx
import pytest
from mock_server.conftest import Server

BASES = ["/enrol/nexsis/api/index.php", "", "/__admin"]


@pytest.mark.parametrize("base", BASES)
def test_the_spec_documents_name_the_host_and_port_the_client_used(ui_server: Server, base: str) -> None:
    got = httpx.get(f"{ui_server.base_url}{base}/openapi.json")
    assert got.status_code == 200
    assert [s["url"] for s in got.json()["servers"]] == [ui_server.base_url + base]
    as_yaml = httpx.get(f"{ui_server.base_url}{base}/openapi.yaml")
    assert as_yaml.status_code == 200 and f"url: {ui_server.base_url}{base}" in as_yaml.text


def test_a_host_name_used_to_reach_the_mock_is_the_server_of_the_api_specs(ui_server: Server) -> None:
    got = httpx.get(f"{ui_server.base_url}/openapi.json", headers={"Host": "mock.test:8081"})
    assert got.json()["servers"][0]["url"] == "http://mock.test:8081"


def test_a_malformed_host_header_falls_back_to_the_socket_address(ui_server: Server) -> None:
    got = httpx.get(f"{ui_server.base_url}/openapi.json", headers={"Host": "evil.example/x?y=@z"})
    assert got.json()["servers"][0]["url"] == ui_server.base_url


def test_with_public_url_every_spec_names_it() -> None:
    with Server(public_url="https://mock.example:8443/base/") as server:
        for base in BASES[:2]:
            spec = httpx.get(f"{server.base_url}{base}/openapi.json").json()
            assert spec["servers"] == [{"url": "https://mock.example:8443/base" + base,
                                        "description": spec["servers"][0]["description"]}]


@pytest.mark.parametrize("base", BASES)
def test_the_ui_page_loads_the_bundle_and_the_moodle_interceptor(ui_server: Server, base: str) -> None:
    page = httpx.get(f"{ui_server.base_url}{base}/ui/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "requestInterceptor: window.nexsisMoodleRequest" in page.text
    assert f'url: "{base}/openapi.json"' in page.text
    for asset in ("swagger-ui-bundle.js", "try-it-out.js", "swagger-ui.css"):
        assert httpx.get(f"{ui_server.base_url}{base}/ui/{asset}").status_code == 200, asset


def test_the_ws_page_names_each_functions_array_fields(ui_server: Server) -> None:
    page = httpx.get(f"{ui_server.base_url}/ui/").text
    assert '"core_group_create_groups": ["groups"]' in page
    assert '"tool_muprog_source_manual_allocate_users": ["userids", "cohortids"]' in page


@pytest.mark.parametrize("base", BASES)
def test_a_missing_ui_file_is_a_404_not_a_500(ui_server: Server, base: str) -> None:
    got = httpx.get(f"{ui_server.base_url}{base}/ui/swagger-ui-config.json")
    assert got.status_code == 404
