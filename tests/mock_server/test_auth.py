"""Credentials in every position: where each API reads them, and what a wrong one gets."""

from __future__ import annotations

import httpx
import pytest

from .conftest import NX, WS

INVALID_TOKEN = {"exception": "core\\exception\\moodle_exception", "errorcode": "invalidtoken",
                 "message": "Invalid token - token not found"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


def unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "unauthorized"


def test_nexsis_token_in_header_or_query(http: httpx.Client, tokens):
    good = tokens["nexsis"]
    assert http.get(f"{NX}/ping", headers={"Authorization": f"Bearer {good}"}).json() == {"message": "pong"}
    assert http.get(f"{NX}/ping", params={"token": good}).json() == {"message": "pong"}
    # the scheme name is case-insensitive, as in RFC 7235
    assert http.get(f"{NX}/ping", headers={"Authorization": f"bearer {good}"}).status_code == 200


@pytest.mark.parametrize("headers,params", [
    ({}, {}),
    ({"Authorization": "Bearer wrong-token"}, {}),
    ({}, {"token": "wrong-token"}),
    ({}, {"token": ""}),
    ({"Authorization": "Bearer"}, {}),
    ({"Authorization": "Basic dXNlcjpwYXNz"}, {}),
], ids=["missing", "wrong-header", "wrong-query", "empty-query", "bearer-without-token", "basic"])
def test_nexsis_missing_or_wrong_token_is_401(http: httpx.Client, headers, params):
    unauthorized(http.get(f"{NX}/ping", headers=headers, params=params))


def test_nexsis_token_in_the_body_is_not_read(http: httpx.Client, tokens):
    good = tokens["nexsis"]
    unauthorized(http.put(f"{NX}/user/AUTHBODY", json={"token": good, "firstname": "x"}))
    unauthorized(http.put(f"{NX}/user/AUTHBODY", content=f"token={good}&firstname=x", headers=FORM))
    unauthorized(http.get(f"{NX}/ping", headers={"X-Api-Key": good, "Cookie": f"token={good}"}))


def test_ws_token_in_query_or_body(http: httpx.Client, tokens):
    good = tokens["ws"]
    base = {"wsfunction": "core_webservice_get_site_info", "moodlewsrestformat": "json"}
    for response in (http.post(WS, data={**base, "wstoken": good}),
                     http.post(WS, params={"wstoken": good}, data=base),
                     http.get(WS, params={**base, "wstoken": good})):
        assert response.status_code == 200
        assert "exception" not in response.json(), response.text


def test_ws_post_wins_over_query(http: httpx.Client, tokens):
    base = {"wsfunction": "core_webservice_get_site_info", "moodlewsrestformat": "json"}
    # array_merge($_GET, $_POST): the body's token replaces the query's
    r = http.post(WS, params={"wstoken": tokens["ws"]}, data={**base, "wstoken": "wrong"})
    assert r.json() == INVALID_TOKEN
    r = http.post(WS, params={"wstoken": "wrong"}, data={**base, "wstoken": tokens["ws"]})
    assert "exception" not in r.json(), r.text


@pytest.mark.parametrize("token", [None, "", "0123456789abcdef0123456789abcdef"])
def test_ws_missing_or_wrong_token(http: httpx.Client, token):
    data = {"wsfunction": "tool_muprog_get_programs", "moodlewsrestformat": "json",
            "fieldvalues[0][field]": "id", "fieldvalues[0][value]": "1"}
    if token is not None:
        data["wstoken"] = token
    r = http.post(WS, data=data)
    assert r.status_code == 200 and r.json() == INVALID_TOKEN


def test_ws_token_is_checked_before_the_function_and_its_parameters(http: httpx.Client):
    for data in ({"wsfunction": "no_such_function"}, {}, {"wsfunction": "tool_muprog_get_programs"}):
        r = http.post(WS, data={**data, "wstoken": "wrong", "moodlewsrestformat": "json"})
        assert r.json() == INVALID_TOKEN, data


def test_ws_token_in_a_header_is_not_read(http: httpx.Client, tokens):
    r = http.post(WS, data={"wsfunction": "core_webservice_get_site_info", "moodlewsrestformat": "json"},
                  headers={"Authorization": f"Bearer {tokens['ws']}"})
    assert r.json() == INVALID_TOKEN
