"""A client's regular expression cannot stall the mock (issue 13 #5).

With Python's backtracking ``re``, ``(a+)+$`` against a path of 30 letters and one other
character takes minutes, during which the event loop answers nothing. The journal filter and
fault rules match with RE2, in time linear in the path; patterns RE2 cannot run in linear time
(backreferences, lookaround) are a documented 400.
"""

from __future__ import annotations

import httpx

from .conftest import NX

EVIL = "(a+)+$"
VICTIM = f"{NX}/" + "a" * 30 + "!"


def test_journal_filter_with_a_catastrophic_pattern_answers_at_once(http: httpx.Client):
    assert http.get(VICTIM).status_code == 404  # journalled
    # Without a linear-time matcher this request runs for minutes: the timeout fails the test.
    r = http.get("/__admin/requests", params={"path_regex": EVIL}, timeout=10)
    assert r.status_code == 200 and r.json()["requests"] == [], r.text
    r = http.get("/__admin/requests", params={"path_regex": "a{30}!$"}, timeout=10)
    assert [e["path"] for e in r.json()["requests"]] == [VICTIM]


def test_fault_rule_with_a_catastrophic_pattern_does_not_block_requests(http: httpx.Client):
    r = http.post("/__admin/faults", json={"path_regex": EVIL, "status": 503})
    assert r.status_code == 201, r.text
    assert http.get(VICTIM, timeout=10).status_code == 404  # the rule runs, matches nothing
    assert http.get(f"{NX}/aaaa", timeout=10).status_code == 503  # and still fires where it matches


def test_patterns_that_need_backtracking_are_a_documented_400(http: httpx.Client):
    for pattern in ("(?=a)", "(a)\\1", "(", "x" * 1001):
        r = http.get("/__admin/requests", params={"path_regex": pattern})
        assert r.status_code == 400 and r.json()["error"] == "bad_request", (pattern, r.text)
        assert "regex" in r.json()["message"]
        r = http.post("/__admin/faults", json={"path_regex": pattern, "status": 500})
        assert r.status_code == 400, (pattern, r.text)
    assert http.get("/__admin/faults").json() == []


def test_count_and_find_filters_match_in_linear_time(http: httpx.Client):
    assert http.get(VICTIM).status_code == 404  # journalled
    for op in ("count", "find"):
        r = http.post(f"/__admin/requests/{op}", json={"path_regex": EVIL}, timeout=10)
        assert r.status_code == 200, r.text
        assert r.json() in ({"count": 0}, {"requests": []})
        r = http.post(f"/__admin/requests/{op}", json={"path_regex": "(a)\\1"})
        assert r.status_code == 400 and "regex" in r.json()["message"], r.text
    assert http.post("/__admin/requests/count", json={"path_regex": "a{30}!$"}).json() == {"count": 1}
