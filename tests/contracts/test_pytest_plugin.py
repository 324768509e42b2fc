"""The pytest11 plugin: idle by default, one test per operation and scenario with --nexsis-base-url."""

from __future__ import annotations

import subprocess

from tests.contracts.conftest import REPO, set_faults, token_env


def _pytest(*args: str) -> subprocess.CompletedProcess[str]:
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
        env=token_env(),
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
