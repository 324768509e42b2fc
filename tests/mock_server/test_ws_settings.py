"""Moodle's settings parameters are accepted with every function; other extras stay refused.

tests/data/moodle-ws-facts.md ("Settings parameters"): ``moodlewssettingfilter``, ``..fileurl``,
``..lang`` and ``..raw`` (and ``..timezone``, which the same Moodle code reads) are taken by the
server before the function sees its parameters, in the body or the query; ``moodlewssettingfoo``
and ``lang`` are ordinary unknown parameters: ``invalidparameter``.
"""

from __future__ import annotations

import httpx
import pytest

from nexsis_openapi.moodle import INVALID_PARAMETER, SETTINGS

from .conftest import WS

FORM = {"content-type": "application/x-www-form-urlencoded"}
VALUES = {"moodlewssettingfilter": "1", "moodlewssettingfileurl": "1", "moodlewssettinglang": "en",
          "moodlewssettingraw": "0", "moodlewssettingtimezone": "Europe/Paris"}
#: One read call of each kind: no parameters, scalar parameters, nested list parameters.
CALLS = {
    "core_webservice_get_site_info": "",
    "tool_muprog_get_program_allocations": "&programid=1",
    "tool_muprog_get_programs": "&fieldvalues[0][field]=id&fieldvalues[0][value]=1",
}


def _plain(http: httpx.Client, token: str, function: str) -> httpx.Response:
    body = f"wstoken={token}&wsfunction={function}&moodlewsrestformat=json{CALLS[function]}"
    return http.post(WS, content=body.encode(), headers=FORM)


@pytest.mark.parametrize("function", list(CALLS))
@pytest.mark.parametrize("setting", SETTINGS)
@pytest.mark.parametrize("where", ["body", "query", "get"])
def test_setting_accepted_and_answer_unchanged(http: httpx.Client, tokens, function, setting, where):
    expected = _plain(http, tokens["ws"], function)
    assert "exception" not in expected.text
    pair = f"{setting}={VALUES[setting]}"
    body = f"wstoken={tokens['ws']}&wsfunction={function}&moodlewsrestformat=json{CALLS[function]}"
    if where == "body":
        r = http.post(WS, content=f"{body}&{pair}".encode(), headers=FORM)
    elif where == "query":
        r = http.post(f"{WS}?{pair}", content=body.encode(), headers=FORM)
    else:
        r = http.get(f"{WS}?{body}&{pair}")
    assert r.status_code == 200
    assert r.json() == expected.json()


@pytest.mark.parametrize("extra", ["moodlewssettingfoo=1", "lang=en", "moodlewssetting=1"])
def test_other_extra_parameters_stay_refused(http: httpx.Client, tokens, extra):
    for function in CALLS:
        body = f"wstoken={tokens['ws']}&wsfunction={function}&moodlewsrestformat=json{CALLS[function]}"
        r = http.post(WS, content=f"{body}&{extra}".encode(), headers=FORM)
        assert r.json() == INVALID_PARAMETER, (function, extra)
        assert "X-Mock-Detail" in r.headers


def test_settings_in_xml_calls(http: httpx.Client, tokens):
    pairs = "&".join(f"{k}={v}" for k, v in VALUES.items())
    r = http.post(WS, content=f"wstoken={tokens['ws']}&wsfunction=core_webservice_get_site_info&{pairs}"
                  .encode(), headers=FORM)
    assert r.headers["content-type"].startswith("application/xml")
    assert "<RESPONSE>" in r.text and "EXCEPTION" not in r.text
