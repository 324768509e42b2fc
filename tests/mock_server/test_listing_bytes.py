"""Memoised listings are encoded once while valid, and never answered stale after a change.

`dispatch._encode` keeps the bytes of a listing that `State.memo` returned (a 1,000-row course
listing is 200 KB of JSON per answer); these tests pin that the bytes follow every change.
"""

from __future__ import annotations

import httpx

from nexsis_openapi import codec

from .conftest import NX, WS, Server

SIS = {"Authorization": "Bearer nexsis-demo-api-key-0001"}


def _ws(client: httpx.Client, function: str, **params: object) -> object:
    body = codec.encode({"wstoken": "ws-admin-token-0001", "wsfunction": function,
                         "moodlewsrestformat": "json", **params})
    answer = client.post(WS, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 200
    return answer.json()


def test_course_listing_follows_enrolments_and_user_edits() -> None:
    with Server() as srv, httpx.Client(base_url=srv.base_url, timeout=30) as client:
        first = client.get(f"{NX}/course/C789/enrol", headers=SIS)
        again = client.get(f"{NX}/course/C789/enrol", headers=SIS)
        assert first.status_code == again.status_code == 200 and first.content == again.content
        assert client.put(f"{NX}/user/LB1", json={"username": "lb1", "firstname": "Lis",
                                                   "lastname": "Ting", "email": "lb1@example.edu"},
                          headers=SIS).status_code == 200
        assert client.put(f"{NX}/user/LB1/enrol/C789", json={}, headers=SIS).status_code == 200
        after = client.get(f"{NX}/course/C789/enrol", headers=SIS).json()
        assert len(after) == len(first.json()) + 1 and any(r["idnumber"] == "LB1" for r in after)
        # A user edit changes rows built earlier: the listing must show it at once.
        assert client.put(f"{NX}/user/LB1", json={"firstname": "Renamed"}, headers=SIS).status_code == 200
        renamed = client.get(f"{NX}/course/C789/enrol", headers=SIS).json()
        assert [r["firstname"] for r in renamed if r["idnumber"] == "LB1"] == ["Renamed"]


def test_program_allocations_follow_allocations() -> None:
    programid = 2  # the default site's program with a manual source
    with Server() as srv, httpx.Client(base_url=srv.base_url, timeout=30) as client:
        before = _ws(client, "tool_muprog_get_program_allocations", programid=programid)
        assert isinstance(before, list) and before
        assert _ws(client, "tool_muprog_get_program_allocations", programid=programid) == before
        users = {r["userid"] for r in before}
        added = None
        for candidate in (uid for uid in range(2, 60) if uid not in users):
            answer = _ws(client, "tool_muprog_source_manual_allocate_users", programid=programid,
                         userids=[candidate])
            if isinstance(answer, list):
                added = candidate
                break
        assert added is not None, "no user of the default site could be allocated"
        after = _ws(client, "tool_muprog_get_program_allocations", programid=programid)
        assert {r["userid"] for r in after} == users | {added}
