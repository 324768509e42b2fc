"""The passive "invalid request accepted" check: an advisory note, never a violation.

A web-service call Moodle's validate_parameters refuses (a parameter the function does not have, a
required one missing, a list sent as a single value, an integer that is none) answered with a
result is noted by rule ``invalid_request_accepted``, live, in report.json and report.md; the exit
code stays 0. The mock refuses those calls, so in front of it the same calls draw no note.
"""

from __future__ import annotations

import httpx
import orjson
import pytest

from nexsis_mock.app import create_app
from tests.contracts.conftest import ServerThread
from tests.proxy.conftest import WS_TOKEN, ProxyProcess
from tests.proxy.test_proxy_ws_results import ALLOCATION, FUNCTION
from tests.proxy.ws_upstream import WS, Upstream

#: (extra form fields, words of the note's reason); each call is one Moodle refuses.
REFUSED = [
    ({"programid": "1", "bogus": "1"}, "unexpected parameter bogus"),
    ({}, "required parameter programid missing"),
    ({"programid": "one"}, "'one' is no integer"),
    ({"programid": "1", "userids": "5"}, "userids: a single value where Moodle expects a list"),
    ({"programid": "1", "userids[0][x]": "5"}, "userids[0]: a list or structure"),
]
#: Calls Moodle takes: no note.
ACCEPTED = [{"programid": "1"}, {"programid": "1", "userids[0]": "10", "userids[1]": "11"}]


def _run(
    upstream_url: str, tmp_path, calls: list[dict[str, str]], fmt: str = "json"
) -> tuple[int, ProxyProcess]:
    proxy = ProxyProcess(upstream_url, report_dir=tmp_path)
    try:
        with httpx.Client(base_url=proxy.url, timeout=30, trust_env=False) as client:
            for fields in calls:
                data = {"wstoken": WS_TOKEN, "wsfunction": FUNCTION, "moodlewsrestformat": fmt, **fields}
                assert client.post(WS, data=data).status_code == 200
    finally:
        code = proxy.stop()
    return code, proxy


def _xml_value(value: object) -> str:
    return (
        '<VALUE null="null"/>'
        if value is None
        else f"<VALUE>{int(value) if isinstance(value, bool) else value}</VALUE>"
    )


#: The same result in Moodle's XML (every key of the description, nulls written as null).
XML_RESULT = (
    b'<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n<MULTIPLE>\n<SINGLE>\n'
    + b"".join(f'<KEY name="{k}">{_xml_value(v)}\n</KEY>\n'.encode() for k, v in ALLOCATION.items())
    + b"</SINGLE>\n</MULTIPLE>\n</RESPONSE>\n"
)


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_refused_calls_answered_with_a_result_are_noted_not_violated(tmp_path, fmt):
    upstream = Upstream({FUNCTION: orjson.dumps([ALLOCATION]) if fmt == "json" else XML_RESULT})
    with ServerThread(upstream.app()) as server:
        code, proxy = _run(server.url, tmp_path, [fields for fields, _ in REFUSED] + ACCEPTED, fmt=fmt)
    report = proxy.report()
    assert code == 0, proxy.output + proxy.stderr  # notes never change the exit code
    assert report["violations"] == 0, report["exchanges_with_violations"]
    notes = report["advisories"]["notes"]
    assert report["advisories"]["count"] == len(REFUSED) == len(notes)
    for note, (_fields, words) in zip(notes, REFUSED, strict=True):
        assert (note["operation"], note["rule"]) == (FUNCTION, "invalid_request_accepted")
        assert words in note["reason"], note["reason"]
    live = [line for line in proxy.output.splitlines() if line.startswith("NOTE ")]
    assert len(live) == len(REFUSED) and live[0].startswith(f"NOTE {FUNCTION} invalid_request_accepted: ")
    assert "## Advisory notes" in (tmp_path / "report.md").read_text()
    assert WS_TOKEN not in (tmp_path / "report.json").read_text()
    assert f"{len(REFUSED)} advisory notes" in proxy.output
    # The proxy's own report.json, written once (not the suite's, then overwritten).
    assert [line for line in proxy.output.splitlines() if line.endswith("report.json")] == [
        f"report: {tmp_path / 'report.json'}"
    ]


def test_an_exception_to_a_refused_call_is_no_note_and_xml_answers_are_read(tmp_path):
    xml = b'<?xml version="1.0" encoding="UTF-8" ?>\n<EXCEPTION class="invalid_parameter_exception">\n'
    xml += b"<ERRORCODE>invalidparameter</ERRORCODE>\n<MESSAGE>Invalid parameter value detected</MESSAGE>\n"
    xml += b"</EXCEPTION>\n"
    with ServerThread(Upstream({FUNCTION: xml}).app()) as server:
        code, proxy = _run(server.url, tmp_path, [{"programid": "1", "bogus": "1"}], fmt="xml")
    assert code == 0
    assert proxy.report()["advisories"]["count"] == 0


def test_in_front_of_the_mock_refused_calls_draw_no_note(tmp_path):
    with ServerThread(create_app(swagger_ui=False)) as mock:
        code, proxy = _run(mock.url, tmp_path, [fields for fields, _ in REFUSED] + ACCEPTED)
    report = proxy.report()
    assert report["advisories"]["count"] == 0, report["advisories"]
    assert report["violations"] == 0, report["exchanges_with_violations"]
    assert code == 0
