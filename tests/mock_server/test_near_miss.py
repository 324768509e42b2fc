"""Near misses (issue 12): a refused request names the closest operation(s) and what differed.

Over real HTTP on the shared mock: 404 and 405 for NexSIS paths, validation refusals, unknown
web-service functions; and ``Allow`` lists exactly the methods a path really has.
"""

from __future__ import annotations

import re

import httpx
import pytest

from nexsis_mock.endpoints import table
from nexsis_mock.near_miss import explain

from .conftest import NX, WS


@pytest.fixture
def auth(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['nexsis']}"}


def detail(r: httpx.Response) -> str:
    text = r.headers.get("X-Mock-Detail", "")
    assert text.startswith("near miss: "), (r.status_code, r.headers)
    return text


def test_unknown_path_names_the_closest_operation_and_the_segment(http, auth):
    r = http.get(f"{NX}/usr/S1001", headers=auth)
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert detail(r) == ("near miss: no operation has this path; closest: GET /user/{userid} "
                         "(segment 0 is 'usr', expected 'user')")
    r = http.get(f"{NX}/user/S1001/enrols", headers=auth)
    assert "closest: GET /user/{userid}/enrol (segment 2 is 'enrols', expected 'enrol')" in detail(r)
    r = http.get(f"{NX}/user", headers=auth)
    assert "GET /user/{userid} (segment 1 missing, expected {userid})" in detail(r)
    r = http.get(f"{NX}/course/C1/categorygrade/1/U1/abc", headers=auth)
    assert "method GET, the path has PUT; segment 5 is 'abc', expected {grade} (a number)" in detail(r)


def test_wrong_method_is_a_405_naming_the_methods_the_path_has(http, auth):
    r = http.post(f"{NX}/user/S1001", headers=auth)
    assert r.status_code == 405 and r.headers["Allow"] == "GET, PUT, DELETE, HEAD"
    text = detail(r)
    assert "POST is not a method of this path" in text
    assert "GET /user/{userid} (method POST, the path has GET)" in text
    assert "PUT /user/{userid} (method POST, the path has PUT)" in text


def _concrete(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "0", template)  # "0": no record of the shared mock has it


@pytest.mark.parametrize("template", sorted({e.template for e in table().nexsis}))
def test_allow_lists_exactly_the_methods_that_route(http, auth, template):
    path = NX + _concrete(template)
    statuses = {m: http.request(m, path, headers=auth).status_code
                for m in ("GET", "PUT", "POST", "DELETE", "PATCH")}
    refused = {m for m, s in statuses.items() if s == 405}
    routed = set(statuses) - refused
    assert routed, statuses
    if refused:
        allow = http.request(next(iter(refused)), path, headers=auth).headers["Allow"]
        assert set(allow.split(", ")) == routed | ({"HEAD"} if "GET" in routed else set()), statuses


def test_validation_refusal_names_the_parameter(http, auth):
    r = http.get(f"{NX}/logs", params={"limit": "abc"}, headers=auth)
    assert r.status_code == 400
    text = detail(r)
    assert "closest: GET /logs (query parameter 'limit': " in text and "'integer'" in text


def test_validation_refusal_names_the_body_field(http, auth):
    r = http.put(f"{NX}/user/NEAR1", json={"username": "near1", "firstname": ["x"]}, headers=auth)
    assert r.status_code == 400, r.text
    assert "closest: PUT /user/{userid} (body field 'firstname': " in detail(r)
    r = http.put(f"{NX}/user/NEAR1", content=b"x", headers={**auth, "content-type": "text/csv"})
    assert r.status_code == 415 and "(content type: Invalid Content-type (text/csv)" in detail(r)


def test_unknown_ws_function_names_the_closest_functions(http, tokens):
    r = http.post(WS, data={"wstoken": tokens["ws"], "wsfunction": "core_group_create_group",
                            "moodlewsrestformat": "json"})
    assert r.json()["errorcode"] == "invalidrecordunknown"
    assert detail(r).startswith("near miss: no function 'core_group_create_group'; closest: "
                                "core_group_create_groups (did you mean 'core_group_create_groups')")


def test_explain_is_the_same_explanation_as_a_dict():
    # What the admin API's unmatched listing calls on journal entries.
    near = explain("GET", NX + "/usr/S1001")
    assert near is not None and near.as_dict() == {
        "status": 404, "reason": "no operation has this path",
        "closest": [{"operation": "getUser", "api": "nexsis", "method": "GET", "path": "/user/{userid}",
                     "differs": [{"kind": "segment", "index": 0, "sent": "usr", "expected": "'user'"}]}]}
    assert explain("GET", NX + "/user/S1001") is None
    refused = explain("GET", "/logs", "'abc' is not of type 'integer' (query parameter 'limit')")
    assert refused is not None and refused.closest[0].differs[0]["kind"] == "parameter"
