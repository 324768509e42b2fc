"""``Prefer: code=`` and ``Prefer: example=`` (issue 12): forced answers that change nothing.

Over real HTTP on the shared mock; the whole state export (logs included) is compared before and
after each test, so a forced answer that reached the domain would show.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .conftest import NX, WS


@pytest.fixture
def unchanged(http: httpx.Client) -> Iterator[None]:
    before = http.get("/__admin/state").json()
    yield
    assert http.get("/__admin/state").json() == before


@pytest.fixture
def auth(tokens: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {tokens['nexsis']}"}


FORCED = {"error": "not_found", "message": "answer forced by the Prefer header"}


def test_code_forces_a_documented_error_status(http, auth, unchanged):
    r = http.get(f"{NX}/user/S1001", headers={**auth, "Prefer": "code=404"})
    assert r.status_code == 404 and r.json() == FORCED
    assert r.headers["Preference-Applied"] == "code=404"
    r = http.put(f"{NX}/user/PREFER1", json={"username": "prefer1"}, headers={**auth, "Prefer": "code=404"})
    assert r.status_code == 404  # nothing created: `unchanged` checks the whole state


def test_forcing_skips_validation_but_not_authentication(http, auth, unchanged):
    r = http.get(f"{NX}/logs", params={"limit": "abc"}, headers={**auth, "Prefer": "code=401"})
    assert r.status_code == 401 and r.json()["error"] == "unauthorized"
    r = http.get(f"{NX}/user/S1001", headers={"Prefer": "code=404"})
    assert r.status_code == 401 and "Preference-Applied" not in r.headers


@pytest.mark.parametrize(("prefer", "status", "words"), [
    ("code=418", 400, "is not a status getUser documents (200, 400, 401, 404)"),
    ("code=abc", 400, "is not a status getUser documents"),
    ("code=200", 422, "getUser documents no example for 200"),
    ("example=nope", 400, "is not an example of getUser (it has none)"),
])
def test_preferences_the_spec_cannot_honour_are_refused(http, auth, unchanged, prefer, status, words):
    r = http.get(f"{NX}/user/S1001", headers={**auth, "Prefer": prefer})
    assert r.status_code == status and words in r.json()["message"], r.text


def test_unknown_preferences_are_ignored(http, auth):
    r = http.get(f"{NX}/user/S1001", headers={**auth, "Prefer": "return=minimal"})
    assert r.status_code == 200 and r.json()["userid"] == "S1001"


def _ws(http: httpx.Client, tokens: dict[str, str], prefer: str, fmt: str = "json") -> httpx.Response:
    return http.post(WS, headers={"Prefer": prefer},
                     data={"wstoken": tokens["ws"], "wsfunction": "tool_muprog_get_programs",
                           "moodlewsrestformat": fmt, "fieldname": "id", "fieldvalues[0]": "1"})


def test_ws_example_by_name_in_the_calls_format(http, tokens, unchanged):
    r = _ws(http, tokens, "example=seq07_get_programs_no_match_empty_list")
    assert r.status_code == 200 and r.json() == []
    assert r.headers["Preference-Applied"] == "example=seq07_get_programs_no_match_empty_list"
    r = _ws(http, tokens, "example=seq39_bad_token", fmt="xml")
    assert r.status_code == 200 and b"<ERRORCODE>invalidtoken</ERRORCODE>" in r.content


def test_ws_refused_preferences_are_invalidparameter(http, tokens, unchanged):
    r = _ws(http, tokens, "example=nope")
    assert r.json()["errorcode"] == "invalidparameter"
    assert "is not an example of tool_muprog_get_programs (examples: seq03_" in r.headers["X-Mock-Detail"]
    r = _ws(http, tokens, "code=404")
    assert r.json()["errorcode"] == "invalidparameter"
    assert "is not a status tool_muprog_get_programs documents (200)" in r.headers["X-Mock-Detail"]
