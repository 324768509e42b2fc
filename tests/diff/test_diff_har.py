"""`nexsis diff --reference FILE.har`: traffic recorded by `nexsis proxy` replayed against a mock.

The recorded client uses an id the site assigned (a group it created, then gives a member and
deletes); the candidate assigns other ids, and the replay addresses its own records by the mapping
learned from the answers.
"""

from __future__ import annotations

import httpx

from nexsis_mock.app import create_app
from tests.contracts.conftest import ServerThread
from tests.diff.conftest import diff_lines, identical, run_diff, shift_ids
from tests.proxy import client
from tests.proxy.conftest import WS_TOKEN, ProxyProcess

WS = "/webservice/rest/server.php"


def _ws(http: httpx.Client, function: str, **params: str) -> httpx.Response:
    data = {"wstoken": WS_TOKEN, "wsfunction": function, "moodlewsrestformat": "json", **params}
    return http.post(WS, data=data)


def _group_client(base: str) -> None:
    """Create a group, give it a member, read it through NexSIS, delete it: ids from the answers."""
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as http:
        created = _ws(
            http,
            "core_group_create_groups",
            **{"groups[0][courseid]": "2", "groups[0][name]": "HAR group", "groups[0][description]": "-"},
        )
        group = str(created.json()[0]["id"])
        _ws(
            http, "core_group_add_group_members", **{"members[0][groupid]": group, "members[0][userid]": "10"}
        )
        http.get("/enrol/nexsis/api/index.php/course/C789/group", headers=client.BEARER)
        _ws(
            http,
            "core_group_delete_group_members",
            **{"members[0][groupid]": group, "members[0][userid]": "10"},
        )
        _ws(http, "core_group_delete_groups", **{"groupids[0]": group})


def _record(tmp_path) -> str:
    har = tmp_path / "staging.har"
    with ServerThread(create_app(swagger_ui=False)) as site:
        proxy = ProxyProcess(site.url, "--record", str(har))
        try:
            client.run(proxy.url)
            _group_client(proxy.url)
        finally:
            assert proxy.stop() == 0, proxy.output
    return str(har)


def test_recorded_har_against_the_mock_is_identical_with_other_ids(tmp_path):
    har = _record(tmp_path)
    with ServerThread(create_app(swagger_ui=False)) as candidate:
        shift_ids(candidate.url)
        proc = run_diff("--reference", har, "--candidate", candidate.url, "--report-dir", str(tmp_path / "r"))
        groups = httpx.get(
            candidate.url + "/enrol/nexsis/api/index.php/course/C789/group", headers=client.BEARER
        )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    same, total = identical(proc.stdout)
    assert same == total == len(client.STEPS) + 5
    assert groups.status_code == 200
    assert "HAR group" not in groups.text  # the replay deleted the candidate's own group, by its own id


def test_recorded_har_against_a_changed_mock_names_the_call(tmp_path):
    har = _record(tmp_path)
    with ServerThread(create_app(swagger_ui=False)) as candidate:
        rule = {
            "wsfunction": "core_group_add_group_members",
            "moodle_exception": {
                "exception": "core\\exception\\moodle_exception",
                "errorcode": "nopermissions",
                "message": "No permission",
            },
        }
        httpx.post(candidate.url + "/__admin/faults", json=rule).raise_for_status()
        proc = run_diff("--reference", har, "--candidate", candidate.url)
    assert proc.returncode == 1
    lines = diff_lines(proc.stdout)
    assert len(lines) == 1 and "core_group_add_group_members: shape at (root)" in lines[0], lines
