"""Every bad input gets its documented answer (mock/README.md) and changes nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from .conftest import NX, WS, Server, raw_http

BIG = 1024 * 1024 + 1


@pytest.fixture
def unchanged(http: httpx.Client) -> Iterator[None]:
    """The state export is identical before and after the test: nothing reached the domain."""
    before = http.get("/__admin/state").json()
    yield
    assert http.get("/__admin/state").json() == before


def without_logs(state: dict) -> dict:
    state = dict(state)
    state.pop("logs", None)
    state["sequences"] = {k: v for k, v in state.get("sequences", {}).items() if k != "log"}
    return state


@pytest.fixture
def data_unchanged(http: httpx.Client) -> Iterator[None]:
    """For requests the domain answers (a 404 is logged, as NexSIS logs it): no data changed."""
    before = without_logs(http.get("/__admin/state").json())
    yield
    assert without_logs(http.get("/__admin/state").json()) == before


def nexsis_error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code and isinstance(body["message"], str) and body["message"]
    return body["message"]


def ws_invalid_parameter(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    assert response.json() == {"exception": "core\\exception\\invalid_parameter_exception",
                               "errorcode": "invalidparameter",
                               "message": "Invalid parameter value detected"}
    return response.headers.get("x-mock-detail", "")


@pytest.fixture
def auth(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['nexsis']}"}


# ---- NexSIS ---------------------------------------------------------------------------------
def test_declared_body_over_limit_is_413(http, auth, unchanged):
    r = http.put(f"{NX}/user/LIMIT1", content=b"{" + b" " * BIG + b"}",
                 headers={**auth, "content-type": "application/json"})
    assert "limit of 1048576 bytes" in nexsis_error(r, 413, "payload_too_large")


def test_streamed_body_over_limit_is_413(http, auth, unchanged):
    def chunks() -> Iterator[bytes]:  # no Content-Length: chunked transfer encoding
        yield b'{"firstname": "'
        for _ in range(20):
            yield b"x" * 65536
        yield b'"}'

    r = http.put(f"{NX}/user/LIMIT2", content=chunks(), headers={**auth, "content-type": "application/json"})
    nexsis_error(r, 413, "payload_too_large")


@pytest.mark.parametrize("body", [b"{bad", b'{"firstname": }', b"\xff\xfe{}", b"[" * 10_000 + b"]" * 10_000,
                                  b'{"firstname": "a\xc3"}', b'{"firstname": 1' + b"0" * 400 + b"}"],
                         ids=["syntax", "missing-value", "bom-garbage", "nested-10000", "bad-utf8",
                              "huge-int"])
def test_malformed_json_is_400(http, auth, unchanged, body):
    r = http.put(f"{NX}/user/JSON1", content=body, headers={**auth, "content-type": "application/json"})
    assert nexsis_error(r, 400, "bad_request").startswith("malformed JSON body")


def test_wrong_content_type_is_415(http, auth, unchanged):
    r = http.put(f"{NX}/user/CT1", content=b"firstname=x", headers={**auth, "content-type": "text/plain"})
    nexsis_error(r, 415, "unsupported_media_type")


@pytest.mark.parametrize(("body", "reason"), [
    (b"firstname" + b"[a]" * 70 + b"=x", "bracket nesting too deep"),
    (b"&".join(b"f%d=1" % i for i in range(1001)), "too many input variables"),
    (b"firstname=%ff", "not valid UTF-8"),
])
def test_form_body_codec_limits_are_400(http, auth, unchanged, body, reason):
    r = http.put(f"{NX}/user/FORM1", content=body,
                 headers={**auth, "content-type": "application/x-www-form-urlencoded"})
    assert reason in nexsis_error(r, 400, "bad_request")


def test_invalid_utf8_in_query_and_path_is_400(server: Server, http, tokens, unchanged):
    r = http.get(f"{NX}/ping?token={tokens['nexsis']}&x=%ff")
    assert "query string is not valid UTF-8" in nexsis_error(r, 400, "bad_request")
    status, body = raw_http(server.port, f"GET {NX}/user/%ff%fe HTTP/1.1\r\nHost: x\r\n"
                                         f"Authorization: Bearer {tokens['nexsis']}\r\n"
                                         "Connection: close\r\n\r\n".encode())
    assert status == 400 and b"path is not valid UTF-8" in body


def test_ids_with_slash_dotdot_and_length(server: Server, http, auth, tokens, data_unchanged):
    # %2F splits nothing: it is one segment the route does not match, as Apache answers 404.
    nexsis_error(http.get(f"{NX}/user/a%2Fb", headers=auth), 404, "not_found")
    for path in (f"{NX}/user/..", f"{NX}/user/%2E%2E"):
        status, body = raw_http(server.port, f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer "
                                             f"{tokens['nexsis']}\r\nConnection: close\r\n\r\n".encode())
        assert status in (400, 404), body
    long_id = "U" * 5000
    r = http.get(f"{NX}/user/{long_id}", headers=auth)
    assert r.status_code in (400, 404), r.text


def test_huge_numbers_in_query_and_path(http, auth, data_unchanged):
    # NexSIS reads integers with PHP's saturating (int) cast: a huge limit is PHP_INT_MAX.
    r = http.get(f"{NX}/logs", params={"limit": "9" * 400}, headers=auth)
    assert r.status_code == 200 and isinstance(r.json(), list)
    r = http.get(f"{NX}/logs", params={"limit": "9.5"}, headers=auth)
    assert "is not of type 'integer'" in nexsis_error(r, 400, "bad_request")
    r = http.get(f"{NX}/course/C1/categorygrade/1/override/1e999999", headers=auth)
    assert r.status_code < 500, r.text


# ---- Moodle web services --------------------------------------------------------------------
def ws_form(token: str, function: str, extra: bytes = b"") -> bytes:
    return f"wstoken={token}&wsfunction={function}&moodlewsrestformat=json".encode() + extra


def test_ws_codec_limits_answer_invalidparameter(http, tokens, unchanged):
    form = {"content-type": "application/x-www-form-urlencoded"}
    deep = b"&members" + b"[0]" * 70 + b"=1"
    assert "nesting" in ws_invalid_parameter(
        http.post(WS, content=ws_form(tokens["ws"], "core_group_add_group_members", deep), headers=form))
    many = b"&" + b"&".join(b"x%d=1" % i for i in range(1001))
    assert "too many" in ws_invalid_parameter(
        http.post(WS, content=ws_form(tokens["ws"], "core_group_add_group_members", many), headers=form))
    assert "UTF-8" in ws_invalid_parameter(
        http.post(WS, content=ws_form(tokens["ws"], "core_group_create_groups", b"&groups[0][name]=%ff"),
                  headers=form))
    # Over the size limit nothing of the body is read (PHP's post_max_size empties $_POST too),
    # so the answer format comes from the query.
    assert "limit" in ws_invalid_parameter(
        http.post(WS + "?moodlewsrestformat=json",
                  content=ws_form(tokens["ws"], "core_group_create_groups", b"&x=" + b"a" * BIG),
                  headers=form))
    r = http.post(WS, content=b"x=" + b"a" * BIG, headers=form)
    assert r.status_code == 200 and r.headers["content-type"] == "application/xml; charset=utf-8"
    assert b"<ERRORCODE>invalidparameter</ERRORCODE>" in r.content


def test_ws_huge_array_index_costs_one_element(http, tokens, unchanged):
    start = time.monotonic()
    r = http.post(WS, content=ws_form(tokens["ws"], "core_group_delete_group_members",
                                      b"&members[999999999][groupid]=abc&members[999999999][userid]=1"),
                  headers={"content-type": "application/x-www-form-urlencoded"})
    assert time.monotonic() - start < 5
    assert "groupid" in ws_invalid_parameter(r)  # decoded, then refused by the schema: "abc" is no int


def test_nexsis_ignores_unknown_query_parameters_but_validates_known_ones(http, auth):
    """A PHP endpoint reads the parameters it knows; the mock must not be stricter than that."""
    r = http.get(f"{NX}/logs", params={"limit": "2", "utm_source": "x"}, headers=auth)
    assert r.status_code == 200 and len(r.json()) <= 2
    r = http.get(f"{NX}/logs", params={"limit": "two"}, headers=auth)
    assert r.status_code == 400 and r.json()["error"] == "bad_request"


def test_comma_separated_log_levels_as_the_document_shows(http, auth):
    r = http.get(f"{NX}/logs?limit=10&offset=0&level=fatal,error,warning,info", headers=auth)
    assert r.status_code == 200
    r = http.get(f"{NX}/logs?level=info", headers=auth)
    assert r.status_code == 200 and {e["level"] for e in r.json()} <= {"info"}
    r = http.get(f"{NX}/logs?level=info,bogus", headers=auth)
    assert r.status_code == 400


def test_405_names_every_method_of_the_path(http, auth):
    r = http.request("OPTIONS", f"{NX}/user/S1001", headers=auth)
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == {"GET", "PUT", "DELETE", "HEAD"}
    r = http.request("PATCH", f"{NX}/course/C1/group/G1/user/U1", headers=auth)
    assert r.status_code == 405 and set(r.headers["allow"].split(", ")) == {"PUT", "DELETE"}


def test_huge_integers_saturate_like_php_casts(http, auth):
    r = http.get(f"{NX}/logs?limit=5908365609997860601856&offset=0", headers=auth)
    assert r.status_code == 200
    r = http.get(f"{NX}/logs?offset=" + "9" * 5000, headers=auth)
    assert r.status_code == 200 and r.json() == []


def test_ids_no_record_can_have_are_unknown_on_lookup_and_invalid_on_create(http, auth, data_unchanged):
    assert http.get(f"{NX}/user/%20", headers=auth).status_code == 404
    assert http.get(f"{NX}/course/%C2%A0/group/x", headers=auth).status_code == 404
    r = http.put(f"{NX}/user/%20", headers=auth, json={"username": "blank", "firstname": "B",
                                                       "lastname": "L", "email": "b@example.com"})
    assert r.status_code == 400
