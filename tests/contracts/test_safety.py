"""Staging safety, checked at the server: safe mode writes only to owned or sandbox ids; cleanup
runs after Ctrl-C; read-only sends no write; --dry-run sends nothing."""

from __future__ import annotations

import re
import signal
import subprocess
import time

from nexsis_contracts.catalog import NEXSIS_ID_KINDS, Catalog
from nexsis_openapi import codec
from tests.contracts.conftest import FAULTY_OPS, REPO, run_check, token_env

CATALOG = Catalog()
SANDBOX = {"course": {2}, "program": {1}, "user": {5, 6}, "cohort": {1}}
OWNABLE = {"group", "user", "course"}
CONFIG = """\
sandbox:
  moodle-ws: {courses: [2], programs: [1], users: [5, 6], cohorts: [1]}
"""
WS_ID_KINDS = {
    "courseid": "course",
    "groupid": "group",
    "groupids": "group",
    "userid": "user",
    "userids": "user",
    "programid": "program",
    "cohortid": "cohort",
    "cohortids": "cohort",
}
READS = (
    "core_webservice_get_site_info",
    "tool_muprog_get_program_allocations",
    "tool_muprog_get_programs",
    "tool_muprog_source_cohort_get_cohorts",
)


def _ids(data, key=None):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _ids(v, k)
    elif isinstance(data, list):
        for v in data:
            yield from _ids(v, key)
    elif key in WS_ID_KINDS:
        yield WS_ID_KINDS[key], data


def _prefix(output: str) -> str:
    match = re.search(r"prefix=(NXCK\w+)", output)
    assert match, output
    return match.group(1)


def test_safe_mode_writes_only_to_owned_or_sandbox_ids(faulty, tmp_path):
    server, state = faulty
    config = tmp_path / "contracts.yaml"
    config.write_text(CONFIG)
    proc = run_check(
        "--base-url",
        server.url,
        "-o",
        FAULTY_OPS,
        "--mode",
        "safe",
        "--max-examples",
        "8",
        "--seed",
        "3",
        "--config",
        str(config),
        "--report-dir",
        str(tmp_path / "r"),
    )
    prefix = _prefix(proc.stdout)
    assert proc.returncode in (0, 1), proc.stdout + proc.stderr
    writes = 0
    # Ids above 100 are the faulty site's records made during this run (its one counter gives
    # groups, allocations and the internal ids of the run's own NexSIS users: links.internal_id).
    created = set(range(101, state.next_id + 1))
    for entry in state.journal:
        if entry["path"].startswith("/enrol/nexsis"):
            if entry["method"] == "GET":
                continue
            writes += 1
            hit = CATALOG.match_nexsis(entry["method"], entry["path"])
            assert hit is not None, entry
            ids = [v for k, v in hit[1].items() if k in NEXSIS_ID_KINDS]  # not timecompleted/grade
            assert ids and all(i.startswith(prefix) for i in ids), entry
        elif entry["path"] == "/webservice/rest/server.php":
            form = codec.decode(entry["body"])
            if form.get("wsfunction") in READS:
                continue
            writes += 1
            for kind, value in _ids({k: v for k, v in form.items() if k != "wsfunction"}):
                # A group must be the run's own; a user or course the sandbox's or one the run
                # created via NexSIS (owned: it has the run's prefix there; WS knows it by its id);
                # programs and cohorts only the sandbox's (no API here creates them).
                allowed = SANDBOX.get(kind, set()) | (created if kind in OWNABLE else set())
                assert int(value) in allowed, (kind, value, entry)
    assert writes > 10  # the run did write, within its bounds
    # ...and removed what it created.
    assert not [u for u in state.users if u.startswith(prefix)]
    assert not [c for c in state.courses if c.startswith(prefix)]
    assert not state.groups


def test_read_only_mode_sends_no_write(faulty, tmp_path):
    server, state = faulty
    proc = run_check(
        "--base-url",
        server.url,
        "-o",
        FAULTY_OPS,
        "--mode",
        "read-only",
        "--max-examples",
        "4",
        "--seed",
        "1",
        "--config",
        str(_config(tmp_path)),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for entry in state.journal:
        if entry["path"].startswith("/enrol/nexsis"):
            assert entry["method"] == "GET", entry
        elif entry["body"]:
            assert codec.decode(entry["body"]).get("wsfunction") in READS, entry


def test_dry_run_sends_nothing_and_lists_calls(faulty, tmp_path):
    server, state = faulty
    proc = run_check(
        "--base-url",
        server.url,
        "-o",
        "getUser,putUser,core_group_create_groups",
        "--dry-run",
        "--max-examples",
        "3",
        "--seed",
        "1",
        "--mode",
        "safe",
    )
    assert proc.returncode == 0, proc.stderr
    assert state.journal == []
    assert "PUT " in proc.stdout and "/user/" in proc.stdout and "none sent" in proc.stdout


def _config(tmp_path):
    path = tmp_path / "contracts.yaml"
    path.write_text(CONFIG)
    return path


def test_cleanup_runs_after_sigint(faulty, tmp_path):
    server, state = faulty
    exe = REPO / ".venv" / "bin" / "nexsis"
    proc = subprocess.Popen(
        [
            str(exe),
            "check",
            "--base-url",
            server.url,
            "-o",
            FAULTY_OPS.replace("ping,", ""),  # start with operations that create records
            "--max-examples",
            "200",
            "--seed",
            "5",
            "--config",
            str(_config(tmp_path)),
            "--report-dir",
            str(tmp_path / "r"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=token_env(),
        cwd=REPO,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if [c for c in state.courses if c.startswith("NXCK")] and len(state.journal) > 50:
            break
        time.sleep(0.05)
    created = [c for c in state.courses if c.startswith("NXCK")]
    assert created, "the run created nothing before the interrupt"
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, out + err
    assert "interrupted" in err
    assert not [u for u in state.users if u.startswith("NXCK")], state.users
    assert not [c for c in state.courses if c.startswith("NXCK")], state.courses
    assert "Cleanup" in (tmp_path / "r" / "report.md").read_text()
