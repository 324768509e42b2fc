"""server.php: one URL, routed by wsfunction to the function's operation, answered as Moodle does."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from .conftest import WS

DATA = Path(__file__).resolve().parents[1] / "data"
INVALID_PARAMETER = {"exception": "core\\exception\\invalid_parameter_exception",
                     "errorcode": "invalidparameter", "message": "Invalid parameter value detected"}
FORM = {"content-type": "application/x-www-form-urlencoded"}


def observed(seq: int) -> dict:
    for line in (DATA / "moodle-ws-observed.jsonl").open(encoding="utf-8"):
        record = json.loads(line)
        if record["seq"] == seq:
            return record
    raise KeyError(seq)


@pytest.mark.parametrize("seq", [40, 41, 42, 81, 85])
def test_request_level_errors_are_byte_for_byte_moodle(http: httpx.Client, tokens, seq):
    """Replays of recorded calls whose answer does not depend on the site's data."""
    record = observed(seq)
    request = record["request"]
    url = request["url"].replace("http://moodle.test", "").replace("ADMIN_TOKEN", tokens["ws"])
    body = (request["body"] or "").replace("ADMIN_TOKEN", tokens["ws"]).encode()
    r = http.request(request["method"], url, content=body, headers=request["headers"])
    expected = record["response"]
    assert r.status_code == expected["status"] == 200
    assert r.text == expected["body"]
    expected_type = {k.lower(): v for k, v in expected["headers"].items()}["content-type"]
    assert r.headers["content-type"] == expected_type
    assert r.headers["cache-control"] == expected["headers"]["Cache-Control"]


def test_get_and_post_reach_the_same_function(http: httpx.Client, tokens):
    params = {"wstoken": tokens["ws"], "wsfunction": "core_webservice_get_site_info",
              "moodlewsrestformat": "json"}
    via_get = http.get(WS, params=params)
    via_post = http.post(WS, data=params)
    assert via_get.status_code == via_post.status_code == 200
    assert via_get.json() == via_post.json() and "exception" not in via_get.json()
    assert via_get.headers["content-type"] == "application/json"


def test_xml_format_for_results_and_errors(http: httpx.Client, tokens):
    r = http.post(WS, data={"wstoken": tokens["ws"], "wsfunction": "core_webservice_get_site_info"})
    assert r.headers["content-type"] == "application/xml; charset=utf-8"
    assert r.text.startswith('<?xml version="1.0" encoding="UTF-8" ?>\n<RESPONSE>\n<SINGLE>\n<KEY name=')
    assert r.text.endswith("</SINGLE>\n</RESPONSE>\n")
    r = http.post(WS, data={"wstoken": tokens["ws"], "wsfunction": "core_group_add_group_members",
                            "moodlewsrestformat": "xml", "members[0][groupid]": "abc"})
    assert r.text == ('<?xml version="1.0" encoding="UTF-8" ?>\n'
                      '<EXCEPTION class="core\\exception\\invalid_parameter_exception">\n'
                      "<ERRORCODE>invalidparameter</ERRORCODE>\n"
                      "<MESSAGE>Invalid parameter value detected</MESSAGE>\n</EXCEPTION>\n")
    # anything but json or xml means xml, as in Moodle
    r = http.get(WS, params={"wstoken": "x", "wsfunction": "x", "moodlewsrestformat": "yaml"})
    assert r.headers["content-type"] == "application/xml; charset=utf-8"


def call(http: httpx.Client, token: str, function: str, body: str) -> httpx.Response:
    return http.post(WS, content=f"wstoken={token}&wsfunction={function}&moodlewsrestformat=json&{body}",
                     headers=FORM)


@pytest.mark.parametrize("body", [
    "members[0][groupid]=abc&members[0][userid]=1",      # PARAM_INT not an integer
    "members[0][groupid]=05&members[0][userid]=1",       # PARAM_INT not canonical
    "members[0][groupid]=1.5&members[0][userid]=1",
    "members[0][groupid]=1&members[0][userid]=1&members[0][extra]=1",  # unknown nested key
    "members[0][groupid]=1",                             # missing nested key
    "members=5",                                         # scalar where a list is expected
    "members=",                                          # empty array
    "",                                                  # missing parameter
    "members[0][groupid]=1&members[0][userid]=1&bogus=1",  # unknown top-level parameter
], ids=["abc", "leading-zero", "float", "extra-key", "missing-key", "scalar", "empty", "missing", "extra"])
def test_bad_parameters_are_invalidparameter(http: httpx.Client, tokens, body):
    r = call(http, tokens["ws"], "core_group_add_group_members", body)
    assert r.status_code == 200 and r.json() == INVALID_PARAMETER
    assert r.headers.get("x-mock-detail")


def test_bracket_parameters_reach_the_domain_decoded(http: httpx.Client, tokens):
    # valid shape: validation passes and the domain answers (an unknown group: invalidrecordunknown)
    r = call(http, tokens["ws"], "core_group_add_group_members",
             "members[0][groupid]=999999&members[0][userid]=2")
    assert r.status_code == 200
    assert r.json() != INVALID_PARAMETER, r.headers.get("x-mock-detail")


def test_json_body_is_not_read(http: httpx.Client, tokens):
    r = http.post(WS, params={"wstoken": tokens["ws"], "wsfunction": "core_group_add_group_members",
                              "moodlewsrestformat": "json"},
                  json={"members": [{"groupid": 1, "userid": 2}]})
    assert r.json() == INVALID_PARAMETER


def test_unknown_and_missing_function(http: httpx.Client, tokens):
    r = http.post(WS, data={"wstoken": tokens["ws"], "wsfunction": "local_nosuch_function",
                            "moodlewsrestformat": "json"})
    assert r.json()["errorcode"] == "invalidrecordunknown"
    # A real Moodle function that is not in the token's service (as recorded for
    # core_user_get_users_by_field) is an access problem, not an unknown record.
    r = http.post(WS, data={"wstoken": tokens["ws"], "wsfunction": "core_user_get_users",
                            "moodlewsrestformat": "json"})
    assert r.json()["errorcode"] == "accessexception"
    r = http.post(WS, data={"wstoken": tokens["ws"], "moodlewsrestformat": "json"})
    assert r.json() == INVALID_PARAMETER


def test_unknown_query_parameter_with_control_characters_is_an_envelope(http: httpx.Client, tokens):
    """Found by `nexsis check`: a fuzzed name once reached a response header and dropped the line."""
    r = http.post(f"{WS}?wstoken={tokens['ws']}&a%11b=1", headers=FORM,
                  content=b"wsfunction=core_webservice_get_site_info&moodlewsrestformat=json")
    assert r.status_code == 200
    assert r.json()["errorcode"] == "invalidparameter"
    assert all(" " <= c <= "~" for c in r.headers.get("x-mock-detail", ""))


@pytest.mark.parametrize("token", ["valid", "wrong", None])
def test_a_calls_token_is_checked_once(monkeypatch: pytest.MonkeyPatch, token: str | None):
    """Issue 9: one token check per call (the domain's), none in the pipeline but for forced answers."""
    from starlette.testclient import TestClient

    from nexsis_mock.app import create_app
    from nexsis_mock.domain import Service, dispatch

    service = Service.create()
    checks: list[str | None] = []
    real = dispatch.ws_token_problem

    def counted(state, wstoken):
        checks.append(wstoken)
        return real(state, wstoken)

    monkeypatch.setattr(dispatch, "ws_token_problem", counted)
    monkeypatch.setattr(service, "ws_token_problem", lambda wstoken: pytest.fail("checked by the pipeline"))
    form = {"wsfunction": "core_webservice_get_site_info", "moodlewsrestformat": "json"}
    if token is not None:
        form["wstoken"] = next(iter(service.tokens()["moodle-ws"])) if token == "valid" else "wrong"
    with TestClient(create_app(service)) as client:
        answer = client.post(WS, data=form).json()
    assert checks == [form.get("wstoken")]
    assert ("errorcode" in answer) == (token != "valid")
