"""core_group_create_groups with a taken idnumber answers Moodle's own ``idnumbertaken`` (facts file).

Moodle's external function checks only the name (``invalidparameter``); ``groups_create_group``
then throws ``moodle_exception('idnumbertaken')`` for an idnumber another group of the course has,
inside the call's transaction, so the whole batch changes nothing.
"""

from __future__ import annotations

import httpx

from nexsis_openapi import codec
from nexsis_openapi.moodle import IDNUMBER_TAKEN

from .conftest import NX, WS


def _group(courseid: int, name: str, idnumber: str | None = None) -> dict:
    group: dict = {"courseid": courseid, "name": name, "description": ""}
    if idnumber is not None:
        group["idnumber"] = idnumber
    return group


def _create(http: httpx.Client, token: str, groups: list[dict]) -> httpx.Response:
    body = codec.encode({"wstoken": token, "wsfunction": "core_group_create_groups",
                         "moodlewsrestformat": "json", "groups": groups})
    return http.post(WS, content=body, headers={"Content-Type": "application/x-www-form-urlencoded"})


def _course(server) -> int:
    """The Moodle id of the default fixtures' course C789 (NexSIS names courses by idnumber only)."""
    return server.service.state.course_by_idnumber["C789"]


def test_a_taken_idnumber_is_idnumbertaken_and_the_batch_changes_nothing(server, http, tokens) -> None:
    courseid = _course(server)
    first = _create(http, tokens["ws"], [_group(courseid, "Idn first", "IDN-T1")])
    assert first.status_code == 200 and first.json()[0]["idnumber"] == "IDN-T1", first.text
    again = _create(http, tokens["ws"], [
        _group(courseid, "Idn fresh", "IDN-T2"),
        _group(courseid, "Idn second", " IDN-T1 "),  # trimmed, as Moodle does
    ])
    assert again.status_code == 200
    assert again.json() == IDNUMBER_TAKEN
    assert IDNUMBER_TAKEN["errorcode"] == "idnumbertaken"
    assert IDNUMBER_TAKEN["exception"] == "core\\exception\\moodle_exception"
    listing = http.get(NX + "/course/C789/group", headers={"Authorization": f"Bearer {tokens['nexsis']}"})
    names = {g["name"] for g in listing.json()}
    assert "Idn first" in names and "Idn fresh" not in names


def test_a_taken_name_stays_invalidparameter(server, http, tokens) -> None:
    courseid = _course(server)
    assert _create(http, tokens["ws"], [_group(courseid, "Idn name")]).status_code == 200
    dup = _create(http, tokens["ws"], [_group(courseid, "Idn name", "IDN-T9")])
    assert dup.json()["errorcode"] == "invalidparameter"
