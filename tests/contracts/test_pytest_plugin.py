"""The pytest11 plugin: idle by default, one test per operation and scenario with --nexsis-base-url."""

from __future__ import annotations

import subprocess

from tests.contracts.conftest import REPO, set_faults, token_env


def _pytest(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "python"),
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-q",
            "--rootdir",
            str(REPO),
            *args,
        ],
        capture_output=True,
        text=True,
        env=env or token_env(),
        cwd=REPO / "tests" / "data",
        timeout=300,
    )


def test_plugin_runs_one_test_per_operation_and_scenario(faulty):
    server, _ = faulty
    proc = _pytest(
        "--nexsis-base-url",
        server.url,
        "--nexsis-only",
        "nexsis",
        "--nexsis-operation",
        "ping,getUser,putUser,deleteUser",
        "--nexsis-max-examples",
        "4",
        "--nexsis-seed",
        "1",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "5 passed" in proc.stdout  # 4 operations + the NexSIS scenario


def test_plugin_reports_a_fault_on_its_operation(faulty):
    server, _ = faulty
    set_faults(server, "missing_field")
    proc = _pytest(
        "--nexsis-base-url",
        server.url,
        "--nexsis-only",
        "nexsis",
        "--nexsis-operation",
        "getUser,putUser",
        "--nexsis-max-examples",
        "4",
        "--nexsis-seed",
        "1",
        "--nexsis-no-stateful",
    )
    assert proc.returncode == 1, proc.stdout
    assert "1 failed, 1 passed" in proc.stdout
    assert "nexsis::getUser" in proc.stdout and "response_schema_conformance" in proc.stdout


def _prefixes(state) -> set[str]:
    import re

    return {m.group(0) for e in state.journal for m in [re.search(r"NXCK[0-9A-F]{6}", e["path"])] if m}


def test_xdist_splits_operations_one_prefix_per_worker_and_merges_reports(faulty, tmp_path):
    import json

    server, state = faulty
    set_faults(server, "wrong_type")  # getUser fails: the merged report must carry the failure
    proc = _pytest(
        "-n", "2", "--nexsis-base-url", server.url, "--nexsis-only", "nexsis",
        "--nexsis-operation", "getUser,putUser,deleteUser", "--nexsis-max-examples", "3",
        "--nexsis-report-dir", str(tmp_path),
    )  # fmt: skip
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "2 failed, 2 passed" in proc.stdout, proc.stdout  # getUser and the scenario read firstname
    assert "nexsis::getUser" in proc.stdout and "nexsis::scenarios" in proc.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    names = sorted(op["name"] for op in report["operations"])
    assert names == ["deleteUser", "getUser", "putUser", "scenario_nexsis_lifecycle"], names
    assert [f["check"] for op in report["operations"] if op["name"] == "getUser" for f in op["failures"]]
    # Two workers, two run prefixes, both seen at the server, both in the merged report; nothing left.
    used = _prefixes(state)
    assert len(used) == 2, used
    assert sorted(report["settings"]["id_prefix"].split(", ")) == sorted(used)
    assert report["settings"]["workers"] == 2
    assert not [u for u in state.users if u.startswith("NXCK")]
    junit = (tmp_path / "junit.xml").read_text()
    assert all(f'name="{n}"' in junit for n in names)


def test_k_and_m_select_what_is_sent(faulty, tmp_path):
    import json

    server, state = faulty
    common = ("--nexsis-base-url", server.url, "--nexsis-only", "nexsis", "--nexsis-max-examples", "3")
    common += ("--nexsis-operation", "ping,getUser,putUser,deleteUser", "--nexsis-seed", "1")
    proc = _pytest(*common, "-k", "getUser", "--nexsis-report-dir", str(tmp_path / "k"))
    assert proc.returncode == 0 and "1 passed, 4 deselected" in proc.stdout, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "k" / "report.json").read_text())
    assert [op["name"] for op in report["operations"]] == ["getUser"]
    assert not [e for e in state.journal if e["method"] == "PUT" and "/user/" in e["path"]
                and "NXCK" not in e["path"]]  # fmt: skip  # no generated putUser case was sent
    state.journal.clear()
    proc = _pytest(*common, "-m", "read and not scenario", "--nexsis-report-dir", str(tmp_path / "m"))
    assert proc.returncode == 0 and "2 passed, 3 deselected" in proc.stdout, proc.stdout + proc.stderr
    report = json.loads((tmp_path / "m" / "report.json").read_text())
    assert sorted(op["name"] for op in report["operations"]) == ["getUser", "ping"]
    # No generated deleteUser case (its ids are fuzz, not the run's prefix) was sent.
    assert not [e for e in state.journal if e["method"] == "DELETE" and "/user/" in e["path"]
                and "NXCK" not in e["path"]]  # fmt: skip


def test_wrong_base_url_ends_the_session_with_exit_3_and_the_hint(faulty):
    server, _ = faulty
    proc = _pytest("--nexsis-base-url", server.url + "/moodle", "--nexsis-only", "nexsis")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    output = proc.stdout + proc.stderr
    assert "answered a 404" in output and "hint: --base-url is the Moodle site root" in output
    assert "nexsis-contracts: nexsis: GET" in output and "nexsis: nexsis:" not in output


def test_wrong_base_url_under_xdist_exits_3_with_the_hint(faulty):
    """Every worker fails its tests with the hint; the session's exit code is 3 as `nexsis check`'s."""
    server, _ = faulty
    proc = _pytest(
        "-n", "2", "--nexsis-base-url", server.url + "/moodle", "--nexsis-only", "nexsis",
        "--nexsis-operation", "ping,getUser,putUser", "--nexsis-no-stateful",
    )  # fmt: skip
    output = proc.stdout + proc.stderr
    assert proc.returncode == 3, output
    assert "3 failed" in proc.stdout, output  # each worker's tests fail with the reason...
    assert "answered a 404" in output and "hint: --base-url is the Moodle site root" in output


def test_unverified_operation_is_skipped_or_failed_by_require_success_from_the_config(tmp_path):
    """getCertificationAllocation has no success on the mock without a sandbox certification."""
    import subprocess as sp
    import time

    import httpx

    from tests.contracts.conftest import free_port
    from tests.contracts.test_against_mock import MOCK_TOKENS

    port = free_port()
    mock = sp.Popen([str(REPO / ".venv" / "bin" / "nexsis"), "mock", "--port", str(port)], stdout=sp.DEVNULL,
                    stderr=sp.DEVNULL, cwd=REPO)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        for _ in range(150):
            try:
                httpx.get(url + "/enrol/nexsis/api/index.php/ping", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.2)
        config = tmp_path / "contracts.yaml"
        config.write_text("limits: {require_success: true}\n")
        common = ("--nexsis-base-url", url, "--nexsis-only", "nexsis", "--nexsis-max-examples", "2")
        common += ("--nexsis-operation", "getCertificationAllocation", "--nexsis-no-stateful", "-rs")
        env = {**token_env(), **MOCK_TOKENS}
        proc = _pytest(*common, env=env)
        assert proc.returncode == 0 and "1 skipped" in proc.stdout, proc.stdout
        assert "unverified" in proc.stdout
        proc = _pytest(*common, "--nexsis-config", str(config), env=env)
        assert proc.returncode == 1 and "1 failed" in proc.stdout, proc.stdout
        assert "unverified" in proc.stdout
    finally:
        mock.terminate()
        mock.wait(10)
