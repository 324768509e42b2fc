"""Web-service calls answered in XML (no ``moodlewsrestformat``, Moodle's default, or ``=xml``) are
judged like JSON ones (contracts/proxy/moodle_xml.py): the mock's XML draws nothing, and each fault
planted in an XML answer is reported by its rule on its function."""

from __future__ import annotations

import re

import httpx
import pytest

from nexsis_mock.app import create_app
from tests.contracts.conftest import ServerThread
from tests.proxy.conftest import WS_TOKEN, ProxyProcess
from tests.proxy.test_proxy_ws_results import FUNCTION
from tests.proxy.ws_upstream import WS, Upstream

HEAD = b'<?xml version="1.0" encoding="UTF-8" ?>\n'


def _call(client: httpx.Client, function: str, fmt: str | None, get: bool = False, **params: str) -> str:
    data = {"wstoken": WS_TOKEN, "wsfunction": function, **params}
    if fmt is not None:
        data["moodlewsrestformat"] = fmt
    answer = client.get(WS, params=data) if get else client.post(WS, data=data)
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/xml"), answer.text
    return answer.text


def test_clean_xml_client_run_in_front_of_the_mock_draws_no_violation(tmp_path):
    with ServerThread(create_app(swagger_ui=False)) as mock:
        proxy = ProxyProcess(mock.url, report_dir=tmp_path)
        try:
            with httpx.Client(base_url=proxy.url, timeout=30, trust_env=False) as c:
                _call(c, "core_webservice_get_site_info", None)
                _call(c, "tool_muprog_get_programs", "xml")
                _call(c, "tool_muprog_get_program_allocations", None, get=True, programid="1")
                assert "<EXCEPTION" in _call(c, "tool_muprog_get_program_allocations", "xml", programid="999")
                _call(c, "tool_muprog_source_cohort_get_cohorts", None, programid="1")
                created = _call(
                    c,
                    "core_group_create_groups",
                    None,
                    **{
                        "groups[0][courseid]": "2",
                        "groups[0][name]": "PX XML group",
                        "groups[0][description]": "<b>made</b> & sent in XML",
                    },
                )
                match = re.search(r'<KEY name="id"><VALUE>(\d+)</VALUE>', created)
                assert match, created
                assert "<EXCEPTION" in _call(
                    c, "core_group_create_groups", "xml", **{"groups[0][courseid]": "2"}
                )
                deleted = _call(c, "core_group_delete_groups", "xml", **{"groupids[0]": match.group(1)})
                assert "<RESPONSE>" in deleted and "<VALUE" not in deleted  # a function without result
                bad = c.post(
                    WS, data={"wstoken": "not-a-token", "wsfunction": "core_webservice_get_site_info"}
                )
                assert "invalidtoken" in bad.text
        finally:
            code = proxy.stop()
    report = proxy.report()
    assert report["violations"] == 0, report["exchanges_with_violations"]
    assert report["not_judged"] == {}  # XML exchanges are judged now, none skipped
    assert report["advisories"]["count"] == 0, report["advisories"]  # the mock refuses what Moodle refuses
    assert code == 0, proxy.output + proxy.stderr
    judged = {key: op["exchanges"] for key, op in report["operations"].items()}
    assert judged["moodle-ws:core_group_create_groups"] == 2
    assert judged["moodle-ws:tool_muprog_get_program_allocations"] == 2
    assert judged["moodle-ws:core_group_delete_groups"] == 1
    assert report["exchanges"] == 9


def _allocation(**values: str | None) -> bytes:
    """One allocation as Moodle's xmlize_result writes it (every key of the description)."""
    fields = {
        "id": "1",
        "programid": "1",
        "userid": "10",
        "sourceid": "2",
        "sourcetype": "cohort",
        "archived": "0",
        "timeallocated": "1767193200",
        "timestart": "1767193200",
        "timedue": None,
        "timeend": None,
        "timecompleted": None,
        "timecreated": "1767193200",
        "deletepossible": "0",
        "archivepossible": "0",
        "restorepossible": "0",
        "editpossible": "1",
    }
    fields.update(values)
    keys = []
    for name, value in fields.items():
        if value == "(absent)":
            continue
        inner = '<VALUE null="null"/>' if value is None else f"<VALUE>{value}</VALUE>"
        keys.append(f'<KEY name="{name}">{inner}\n</KEY>\n'.encode())
    return b"<SINGLE>\n" + b"".join(keys) + b"</SINGLE>\n"


def _response(*items: bytes) -> bytes:
    return HEAD + b"<RESPONSE>\n<MULTIPLE>\n" + b"".join(items) + b"</MULTIPLE>\n</RESPONSE>\n"


def _through(tmp_path, body: bytes, fmt: str | None = None, status_code: int = 200) -> dict:
    upstream = Upstream({FUNCTION: body}, status=status_code)
    data = {"wstoken": WS_TOKEN, "wsfunction": FUNCTION, "programid": "1"}
    if fmt is not None:
        data["moodlewsrestformat"] = fmt
    with ServerThread(upstream.app()) as server:
        proxy = ProxyProcess(server.url, report_dir=tmp_path)
        try:
            answer = httpx.post(proxy.url + WS, data=data, timeout=30)
        finally:
            proxy.stop()
    assert answer.content == body  # forwarded unchanged
    report = proxy.report()
    assert report["not_judged"] == {}, report
    return report


#: Answers a correct Moodle may give: none may draw a violation.
CORRECT = {
    "every key": _response(_allocation(), _allocation(id="2", userid="11")),
    "empty list": HEAD + b"<RESPONSE>\n<MULTIPLE>\n</MULTIPLE>\n</RESPONSE>\n",
    "booleans as PHP writes them": _response(_allocation(archived="", editpossible="1")),
    "control character written raw": _response(_allocation(sourcetype="co\x01hort")),
    "exception": HEAD + b'<EXCEPTION class="dml_missing_record_exception">\n<ERRORCODE>invalidrecordunknown'
    b"</ERRORCODE>\n<MESSAGE>Can't find data record in database.</MESSAGE>\n</EXCEPTION>\n",
    "exception with debuginfo": HEAD + b'<EXCEPTION class="invalid_parameter_exception">\n<ERRORCODE>'
    b"invalidparameter</ERRORCODE>\n<MESSAGE>Invalid parameter value detected</MESSAGE>\n"
    b"<DEBUGINFO>programid =&gt; Invalid parameter value detected</DEBUGINFO>\n</EXCEPTION>\n",
}


@pytest.mark.parametrize("name", sorted(CORRECT))
@pytest.mark.parametrize("fmt", [None, "xml"])
def test_correct_xml_answers_draw_nothing(tmp_path, name, fmt):
    report = _through(tmp_path, CORRECT[name], fmt)
    assert report["violations"] == 0, report["exchanges_with_violations"]
    assert report["operations"][f"moodle-ws:{FUNCTION}"]["exchanges"] == 1


#: fault -> (answer, rule, words of the reason)
PLANTED = {
    "exception without errorcode": (
        HEAD + b'<EXCEPTION class="moodle_exception">\n<MESSAGE>boom</MESSAGE>\n</EXCEPTION>\n',
        "ws_exception_envelope",
        "`errorcode` is missing",
    ),
    "missing field": (
        _response(_allocation(), _allocation(userid="(absent)")),
        "ws_result_matches_function",
        "'userid' is a required property",
    ),
    "wrong type": (
        _response(_allocation(timestart="next week")),
        "ws_result_matches_function",
        "'next week' is not of type 'integer', 'null'",
    ),
    "object instead of list": (
        HEAD + b"<RESPONSE>\n" + _allocation() + b"</RESPONSE>\n",
        "ws_result_matches_function",
        "does not match its return schema at (root)",
    ),
    "not Moodle's XML": (b"<html><body>Fatal error</body></html>", "ws_xml_response", "<html>"),
    "not XML at all": (
        b"Notice: Undefined index\n" + HEAD + b"<RESPONSE/>",
        "ws_xml_response",
        "well-formed",
    ),
}


@pytest.mark.parametrize("fault", sorted(PLANTED))
def test_planted_xml_fault_is_reported_by_rule(tmp_path, fault):
    body, rule, words = PLANTED[fault]
    report = _through(tmp_path, body)
    found = [(v["operation"], v["rule"], v["reason"]) for v in report["exchanges_with_violations"]]
    assert any(op == FUNCTION and r == rule and words in reason for op, r, reason in found), found


def test_xml_exception_with_http_500_is_reported(tmp_path):
    body = CORRECT["exception"]
    report = _through(tmp_path, body, status_code=500)
    rules = {v["rule"] for v in report["exchanges_with_violations"]}
    assert {"ws_exception_envelope", "not_a_server_error"} <= rules, rules


def _observed(xml_only: bool) -> list[dict]:
    """What a real Moodle 5.0 answered to form requests (tests/data/moodle-ws-observed.jsonl)."""
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "data" / "moodle-ws-observed.jsonl"
    out = []
    for line in path.read_text().splitlines():
        entry = json.loads(line)
        form = entry["request"]["headers"].get("Content-Type", "").startswith("application/x-www-form")
        xml = entry["response"]["body"].lstrip().startswith("<?xml")
        if form and entry["request"]["method"] == "POST" and (xml or not xml_only):
            out.append(entry)
    return out


@pytest.mark.parametrize("xml_only", [True, False], ids=["xml", "all"])
def test_real_moodle_answers_draw_no_violation_and_no_note(tmp_path, xml_only):
    """Each request a real Moodle answered, replayed in order to an upstream that gives the very
    answer it gave: no violation (XML or JSON) and no advisory note (a note on a call Moodle
    answered with a result would claim a refusal that did not happen)."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    observed = _observed(xml_only)
    assert len(observed) >= (2 if xml_only else 40)
    pending = list(observed)

    async def replay(request: Request) -> Response:
        recorded = pending.pop(0)
        assert await request.body() == recorded["request"]["body"].encode()
        answer = recorded["response"]
        return Response(answer["body"].encode(), answer["status"], headers=answer["headers"])

    with ServerThread(Starlette(routes=[Route(WS, replay, methods=["POST"])])) as server:
        proxy = ProxyProcess(server.url, report_dir=tmp_path)
        try:
            with httpx.Client(base_url=proxy.url, timeout=30, trust_env=False) as client:
                for entry in observed:
                    headers = {"Content-Type": "application/x-www-form-urlencoded"}
                    sent = client.post(WS, content=entry["request"]["body"].encode(), headers=headers)
                    assert sent.status_code == entry["response"]["status"]
        finally:
            code = proxy.stop()
    report = proxy.report()
    assert report["violations"] == 0, report["exchanges_with_violations"]
    assert report["advisories"]["count"] == 0, report["advisories"]["notes"]
    assert report["exchanges"] == len(observed)
    if xml_only:
        assert report["not_judged"] == {}
    assert code == 0


def test_xml_result_to_a_call_without_wstoken_is_ignored_auth(tmp_path):
    with ServerThread(Upstream({FUNCTION: CORRECT["every key"]}).app()) as server:
        proxy = ProxyProcess(server.url, report_dir=tmp_path)
        try:
            httpx.post(proxy.url + WS, data={"wsfunction": FUNCTION, "programid": "1"}, timeout=30)
        finally:
            code = proxy.stop()
    assert code == 1
    rules = {(v["operation"], v["rule"]) for v in proxy.report()["exchanges_with_violations"]}
    assert rules == {(FUNCTION, "ignored_auth")}, rules
