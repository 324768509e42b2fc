"""A HAR recorded on one site replayed against another site whose records have other ids.

The recording is made through `nexsis proxy` in front of the mock; the candidate is
tests/faulty_server, whose equivalent program and user carry other ids. With `--reference-config`
(the recorded site's sandbox) and `--candidate-config` (the candidate's, same order) the replay sends
the candidate's ids from the first request on, and compares the answers through those pairs.
"""

from __future__ import annotations

import httpx
import yaml

from nexsis_contracts.diff.compare import Comparer
from nexsis_contracts.diff.replay import rewrite_target
from nexsis_contracts.diff.scenario import Side
from nexsis_mock.app import create_app as create_mock
from tests.contracts.conftest import ServerThread
from tests.diff.conftest import diff_lines, identical, run_diff
from tests.faulty_server.app import NEXSIS_TOKEN, WS_TOKEN, State, create_app
from tests.proxy.conftest import WS_TOKEN as MOCK_WS_TOKEN
from tests.proxy.conftest import ProxyProcess

WS = "/webservice/rest/server.php"
#: The mock's program P30 (manual source, no allocations) and user 20 stand for the faulty site's
#: program 2 and user 5.
REFERENCE = {"moodle-ws": {"programs": [3], "users": [20]}}
CANDIDATE = {"moodle-ws": {"programs": [2], "users": [5]}}
ENV = {"CANDIDATE_NEXSIS_TOKEN": NEXSIS_TOKEN, "CANDIDATE_MOODLE_WS_TOKEN": WS_TOKEN}


def _allocation_client(base: str) -> None:
    """List the program, allocate the user, list again, deallocate: the ids of the recorded site."""
    with httpx.Client(base_url=base, timeout=30, trust_env=False) as http:

        def ws(function: str, **params: str) -> None:
            data = {"wstoken": MOCK_WS_TOKEN, "wsfunction": function, "moodlewsrestformat": "json", **params}
            http.post(WS, data=data).raise_for_status()

        ws("tool_muprog_get_program_allocations", programid="3")
        ws("tool_muprog_source_manual_allocate_users", programid="3", **{"userids[0]": "20"})
        ws("tool_muprog_get_program_allocations", programid="3")
        ws("tool_muprog_delete_program_allocations", programid="3", **{"userids[0]": "20"})
        ws("tool_muprog_get_program_allocations", programid="3")


def _replay(tmp_path, *configs: str):
    har = tmp_path / "site.har"
    with ServerThread(create_mock(swagger_ui=False)) as site:
        proxy = ProxyProcess(site.url, "--record", str(har))
        try:
            _allocation_client(proxy.url)
        finally:
            assert proxy.stop() == 0, proxy.output
    for side, sandbox in (("reference", REFERENCE), ("candidate", CANDIDATE)):
        (tmp_path / f"{side}.yaml").write_text(yaml.safe_dump({"sandbox": sandbox}))
    candidate = State()
    with ServerThread(create_app(candidate)) as b:
        proc = run_diff("--reference", str(har), "--candidate", b.url, *configs, env=ENV)
    return proc, candidate


def test_replay_names_the_candidates_sandbox_records(tmp_path):
    configs = [
        f"--{side}-config={tmp_path / (side + '.yaml')}" for side in ("reference", "candidate")
    ]
    proc, candidate = _replay(tmp_path, *configs)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert identical(proc.stdout) == (5, 5)
    bodies = [entry["body"] for entry in candidate.journal]
    assert any("programid=2&userids%5B0%5D=5" in b or "programid=2&userids[0]=5" in b for b in bodies), bodies
    assert not [a for a in candidate.allocations if a["programid"] == 2]


def test_without_the_sandboxes_the_replay_asks_for_the_recorded_sites_ids(tmp_path):
    proc, _candidate = _replay(tmp_path)
    assert proc.returncode == 1
    # The faulty site has no program 3: "invalidrecordunknown" where the mock listed the program.
    assert any("tool_muprog_get_program_allocations:" in line for line in diff_lines(proc.stdout))


def test_nexsis_path_ids_are_rewritten_by_their_parameter_only() -> None:
    ref_sandbox = {"nexsis": {"course": ["C789"], "user": ["3"]}}
    cand_sandbox = {"nexsis": {"course": ["SEED-C1"], "user": ["9"]}}
    reference = Side("reference", "h", [], (0.0, 0.0), sandbox=ref_sandbox)
    candidate = Side("candidate", "h", [], (0.0, 0.0), sandbox=cand_sandbox)
    comparer = Comparer(reference, candidate)
    target = "/enrol/nexsis/api/index.php/course/C789/user/3/completion/3?token=x"
    template = "/course/{courseid}/user/{userid}/completion/{timecompleted}"
    assert rewrite_target(target, template, comparer) == (
        "/enrol/nexsis/api/index.php/course/SEED-C1/user/9/completion/3?token=x"
    )
    assert rewrite_target("/enrol/nexsis/api/index.php/ping", "/ping", comparer).endswith("/ping")
