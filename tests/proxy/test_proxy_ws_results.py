"""A web-service answer judged against the called function's return schema, through the proxy.

The upstream (tests/proxy/ws_upstream.py) answers exactly what each test plants, so a test proves
both sides: a correct answer draws nothing, a wrong one is reported by its rule on its function.
"""

from __future__ import annotations

import httpx
import orjson

from tests.contracts.conftest import ServerThread
from tests.proxy.conftest import WS_TOKEN, ProxyProcess
from tests.proxy.ws_upstream import WS, Upstream

FUNCTION = "tool_muprog_get_program_allocations"
ALLOCATION = {
    "id": 1,
    "programid": 1,
    "userid": 10,
    "sourceid": 2,
    "sourcetype": "cohort",
    "archived": False,
    "timeallocated": 1767193200,
    "timestart": 1767193200,
    "timedue": None,
    "timeend": None,
    "timecompleted": None,
    "timecreated": 1767193200,
    "deletepossible": False,
    "archivepossible": False,
    "restorepossible": False,
    "editpossible": True,
}


def _call(upstream: Upstream, tmp_path, fmt: str | None = "json") -> dict:
    data = {"wstoken": WS_TOKEN, "wsfunction": FUNCTION, "programid": "1"}
    if fmt is not None:
        data["moodlewsrestformat"] = fmt
    with ServerThread(upstream.app()) as server:
        proxy = ProxyProcess(server.url, report_dir=tmp_path)
        try:
            answer = httpx.post(proxy.url + WS, data=data, timeout=30)
        finally:
            proxy.stop()
    assert answer.status_code == 200
    return proxy.report()


def _found(report: dict) -> set[tuple[str, str]]:
    return {(v["operation"], v["rule"]) for v in report["exchanges_with_violations"]}


def test_json_result_of_the_function_draws_nothing(tmp_path):
    report = _call(Upstream({FUNCTION: orjson.dumps([ALLOCATION, {**ALLOCATION, "id": 2}])}), tmp_path)
    assert report["violations"] == 0, report["exchanges_with_violations"]
    assert report["not_judged"] == {}
    assert report["operations"][f"moodle-ws:{FUNCTION}"]["exchanges"] == 1


def test_json_result_missing_a_field_is_reported_by_rule(tmp_path):
    broken = {k: v for k, v in ALLOCATION.items() if k != "userid"}
    report = _call(Upstream({FUNCTION: orjson.dumps([ALLOCATION, broken])}), tmp_path)
    assert (FUNCTION, "ws_result_matches_function") in _found(report)
    reasons = [v["reason"] for v in report["exchanges_with_violations"]]
    assert any("'userid' is a required property" in r for r in reasons), reasons
