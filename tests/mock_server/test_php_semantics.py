"""Where the mock used Python's idea of a string and Moodle PHP's: `trim()` and `empty()`.

Python's `str.strip()` removes every Unicode space and `\\x1c`-`\\x1f`; PHP's `trim()` only
" \\t\\n\\r\\0\\x0B", so a name with a no-break space kept it in Moodle and lost it in the mock.
Moodle's create_course checks a short name for uniqueness only when `!empty($shortname)`, and
PHP's `empty()` holds for "" and "0": the mock refused a second course with either (400).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from .conftest import NX, WS, Server, first_token


@pytest.fixture(scope="module")
def site() -> Iterator[tuple[httpx.Client, dict[str, str], str]]:
    with Server() as srv, httpx.Client(base_url=srv.base_url, timeout=30) as client:
        listing = client.get("/__admin/tokens").json()
        nexsis, ws = first_token(listing["nexsis"]), first_token(listing["moodle-ws"], ("full",))
        yield client, {"Authorization": f"Bearer {nexsis}"}, ws


@pytest.mark.parametrize(("sent", "stored"), [
    ("\u00a0Bob\u2003", "\u00a0Bob\u2003"),   # Unicode spaces: PHP's trim() keeps them
    ("\x1cBob\x1f", "\x1cBob\x1f"),           # so are the separators \x1c-\x1f
    (" \t\n\r\x0bBob \t\n\r\x0b", "Bob"),      # what trim() does take off
])
def test_names_are_trimmed_as_php_trims(site, sent, stored) -> None:
    client, auth, _ws = site
    put = client.put(f"{NX}/user/TRIM1", json={"username": "trim1", "firstname": sent}, headers=auth)
    assert put.status_code == 200, put.text
    assert client.get(f"{NX}/user/TRIM1", headers=auth).json()["firstname"] == stored
    course = client.put(f"{NX}/course/TRIMC", json={"fullname": sent}, headers=auth)
    assert course.status_code == 200, course.text
    assert course.json()["fullname"] == stored


def test_ws_group_name_is_trimmed_as_php_trims(site) -> None:
    client, _auth, token = site
    body = {"wstoken": token, "wsfunction": "core_group_create_groups", "moodlewsrestformat": "json",
            "groups[0][courseid]": "2", "groups[0][name]": " \u00a0Tutors\t", "groups[0][description]": ""}
    made = client.post(WS, data=body).json()
    assert isinstance(made, list), made
    assert made[0]["name"] == "\u00a0Tutors"


@pytest.mark.parametrize("shortname", ["", "0"])
def test_php_empty_short_names_may_be_shared(site, shortname) -> None:
    client, auth, _ws = site
    for cid in (f"EMPTY{shortname}A", f"EMPTY{shortname}B"):
        put = client.put(f"{NX}/course/{cid}", json={"shortname": shortname, "fullname": cid}, headers=auth)
        assert put.status_code == 200, put.text
        assert put.json()["shortname"] == shortname
    # Renaming one away and back keeps the other's record intact.
    assert client.put(f"{NX}/course/EMPTY{shortname}A", json={"shortname": f"S{shortname}A"},
                      headers=auth).status_code == 200
    assert client.get(f"{NX}/course/EMPTY{shortname}B", headers=auth).json()["shortname"] == shortname
    assert client.put(f"{NX}/course/EMPTY{shortname}A", json={"shortname": shortname},
                      headers=auth).status_code == 200


def test_a_real_short_name_is_still_unique(site) -> None:
    client, auth, _ws = site
    assert client.put(f"{NX}/course/UNIQA", json={"shortname": "UNIQ"}, headers=auth).status_code == 200
    taken = client.put(f"{NX}/course/UNIQB", json={"shortname": "UNIQ"}, headers=auth)
    assert taken.status_code == 400 and "already used" in taken.json()["message"]


def test_shared_empty_short_names_survive_export_and_import(site) -> None:
    client, auth, _ws = site
    for cid in ("RTRIPA", "RTRIPB"):
        assert client.put(f"{NX}/course/{cid}", json={"shortname": ""}, headers=auth).status_code == 200
    exported = client.get("/__admin/state").json()
    imported = client.put("/__admin/state", json=exported)
    assert imported.status_code == 200, imported.text
    assert client.get("/__admin/state").json() == exported
