"""The admin API: reset, state export/import, the journal, fault injection, its own token."""

from __future__ import annotations

import time

import httpx
import pytest

from .conftest import NX, WS, Server


def ping(http: httpx.Client, tokens: dict[str, str], **params: str) -> httpx.Response:
    return http.get(f"{NX}/ping", params={"token": tokens["nexsis"], **params})


def site_info(http: httpx.Client, tokens: dict[str, str], fmt: str = "json") -> httpx.Response:
    return http.post(WS, data={"wstoken": tokens["ws"], "wsfunction": "core_webservice_get_site_info",
                               "moodlewsrestformat": fmt})


def test_health_tokens_stats(http: httpx.Client):
    health = http.get("/__admin/health").json()
    assert health["status"] == "ok" and isinstance(health["stats"], dict)
    assert set(http.get("/__admin/tokens").json()) >= {"nexsis", "moodle-ws"}
    assert http.get("/__admin/stats").json() == health["stats"]


def test_export_import_round_trip_and_reset(http: httpx.Client, tokens):
    http.post("/__admin/reset")  # the shared server: whatever tests ran before left their records
    original = http.get("/__admin/state").json()
    r = http.put(f"{NX}/user/ADMINRT1", json={"firstname": "Round", "lastname": "Trip",
                                              "email": "rt@example.com", "username": "roundtrip1"},
                 headers={"Authorization": f"Bearer {tokens['nexsis']}"})
    assert r.status_code == 200, r.text
    changed = http.get("/__admin/state").json()
    assert changed != original
    assert http.post("/__admin/reset").json() == {"status": "reset"}
    assert http.get("/__admin/state").json() == original
    assert http.put("/__admin/state", json=changed).json() == {"status": "imported"}
    assert http.get("/__admin/state").json() == changed
    assert http.get(f"{NX}/user/ADMINRT1", params={"token": tokens["nexsis"]}).status_code == 200
    http.post("/__admin/reset")


def test_import_of_garbage_is_400_and_changes_nothing(http: httpx.Client):
    before = http.get("/__admin/state").json()
    for body in ({"not": "a state"}, {"users": "nope"}):
        r = http.put("/__admin/state", json=body)
        assert r.status_code == 400 and r.json()["error"] == "bad_request", r.text
    assert http.put("/__admin/state", content=b"{", headers={"content-type": "application/json"}
                    ).status_code == 400
    assert http.get("/__admin/state").json() == before


def test_journal_records_filters_and_redacts(http: httpx.Client, tokens):
    http.delete("/__admin/requests")
    ping(http, tokens)
    http.get(f"{NX}/ping", headers={"Authorization": f"Bearer {tokens['nexsis']}"})
    site_info(http, tokens)
    http.post(WS, params={"wstoken": tokens["ws"]}, data={"wsfunction": "core_group_add_group_members",
                                                          "moodlewsrestformat": "json",
                                                          "members[0][groupid]": "x"})
    http.get("/__admin/health")  # not journaled
    everything = http.get("/__admin/requests").json()
    assert everything["total"] == 4 and len(everything["requests"]) == 4
    text = str(everything)
    assert tokens["nexsis"] not in text and tokens["ws"] not in text
    first = everything["requests"][0]
    assert first["method"] == "GET" and first["path"] == f"{NX}/ping" and first["status"] == 200
    assert first["query"] == {"token": "[REDACTED]"} and first["response"] == {"message": "pong"}
    assert first["duration_ms"] > 0 and first["timestamp"].endswith("Z")

    ws_calls = http.get("/__admin/requests", params={"wsfunction": "core_group_add_group_members"}).json()
    [entry] = ws_calls["requests"]
    assert entry["body"]["members"] == [{"groupid": "x"}] and entry["query"] == {"wstoken": "[REDACTED]"}
    assert entry["response"]["errorcode"] == "invalidparameter"
    assert len(http.get("/__admin/requests", params={"method": "POST"}).json()["requests"]) == 2
    assert len(http.get("/__admin/requests", params={"path": WS}).json()["requests"]) == 2
    assert len(http.get("/__admin/requests", params={"path_regex": "ping$", "limit": 1}).json()
               ["requests"]) == 1
    assert http.get("/__admin/requests", params={"path_regex": "("}).status_code == 400
    assert http.delete("/__admin/requests").json()["removed"] == 4
    assert http.get("/__admin/requests").json()["total"] == 0


def test_journal_is_a_ring_buffer():
    with Server(journal_size=3) as small, httpx.Client(base_url=small.base_url) as http:
        token = http.get("/__admin/tokens").json()["nexsis"][0]
        for _ in range(5):
            http.get(f"{NX}/ping", params={"token": token})
        listing = http.get("/__admin/requests").json()
        assert listing["total"] == 3 and [e["id"] for e in listing["requests"]] == [3, 4, 5]


def add_fault(http: httpx.Client, **rule) -> dict:
    r = http.post("/__admin/faults", json=rule)
    assert r.status_code == 201, r.text
    return r.json()


def test_status_fault_for_next_n_calls(http: httpx.Client, tokens):
    rule = add_fault(http, method="GET", path=f"{NX}/ping", status=503, times=2)
    assert rule["action"] == "status" and rule["times"] == 2
    assert [ping(http, tokens).status_code for _ in range(3)] == [503, 503, 200]
    assert http.get("/__admin/faults").json() == []
    faulted = http.get("/__admin/requests", params={"status": 503}).json()["requests"]
    assert [e["fault"] for e in faulted] == [f"status#{rule['id']}"] * 2


def test_moodle_exception_fault_in_json_and_xml(http: httpx.Client, tokens):
    add_fault(http, wsfunction="core_webservice_get_site_info",
              moodle_exception={"exception": "moodle_exception", "errorcode": "servicenotavailable",
                                "message": "Web service is not available"})
    r = site_info(http, tokens)
    assert r.status_code == 200 and r.json() == {"exception": "moodle_exception",
                                                 "errorcode": "servicenotavailable",
                                                 "message": "Web service is not available"}
    r = site_info(http, tokens, fmt="xml")
    assert "<ERRORCODE>servicenotavailable</ERRORCODE>" in r.text
    assert ping(http, tokens).status_code == 200  # other calls are untouched


def test_latency_fault(http: httpx.Client, tokens):
    add_fault(http, path_regex="/ping$", latency_ms=300, times=1)
    start = time.monotonic()
    assert ping(http, tokens).status_code == 200
    assert time.monotonic() - start >= 0.3
    start = time.monotonic()
    ping(http, tokens)
    assert time.monotonic() - start < 0.3


def test_drop_fault_is_a_transport_error(http: httpx.Client, tokens):
    add_fault(http, wsfunction="core_webservice_get_site_info", drop=True, times=1)
    with pytest.raises(httpx.TransportError):
        site_info(http, tokens)
    assert "exception" not in site_info(http, tokens).json()


def test_probability_fault(http: httpx.Client, tokens):
    add_fault(http, path=f"{NX}/ping", status=500, probability=0.5)
    statuses = [ping(http, tokens).status_code for _ in range(60)]
    assert 10 <= statuses.count(500) <= 50 and statuses.count(200) == 60 - statuses.count(500)
    [rule] = http.get("/__admin/faults").json()
    assert rule["matched"] == statuses.count(500)


def test_fault_list_delete_clear_and_validation(http: httpx.Client):
    a = add_fault(http, path="/x", status=500)
    add_fault(http, method="get", path="/y", latency_ms=10)
    assert [r["id"] for r in http.get("/__admin/faults").json()] == [a["id"], a["id"] + 1]
    assert http.delete(f"/__admin/faults/{a['id']}").json() == {"status": "deleted"}
    assert http.delete(f"/__admin/faults/{a['id']}").status_code == 404
    assert http.delete("/__admin/faults").json()["removed"] == 1
    for bad in ({"status": 500}, {"path": "/x"}, {"path": "/x", "status": 99}, {"path": "/x", "drop": True,
                "status": 500}, {"path_regex": "(", "status": 500}, {"path": "/x", "status": 500, "bogus": 1},
                {"path": "/x", "status": 500, "probability": 2}):
        r = http.post("/__admin/faults", json=bad)
        assert r.status_code == 400, (bad, r.text)
    assert http.get("/__admin/faults").json() == []


def test_admin_token_protects_the_admin_api():
    with Server(admin_token="s3cret-admin") as guarded, httpx.Client(base_url=guarded.base_url) as http:
        assert http.get("/__admin/health").status_code == 401
        assert http.get("/__admin/health", headers={"Authorization": "Bearer wrong"}).status_code == 401
        good = {"Authorization": "Bearer s3cret-admin"}
        assert http.get("/__admin/health", headers=good).status_code == 200
        assert http.get("/__admin/ui/").status_code == 200  # the UI page itself stays reachable


@pytest.mark.parametrize("path", ["/__admin/ui/", f"{NX}/ui/", "/ui/", "/__admin/openapi.json"])
def test_swagger_ui_and_specs_are_served(http: httpx.Client, path):
    r = http.get(path)
    assert r.status_code == 200, path
