"""`nexsis check` against the real mock: conformant, and every operation answered with success.

The sandbox config is derived from the mock's default fixture (what an operator would write for a
staging site): the course and grade category, program, certification, department and position that
NexSIS operations need and no API can create, and the Moodle program and cohorts. Everything else
(users, courses, groups, enrolments, allocations...) the suite builds itself.
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from nexsis_openapi import load_spec
from tests.contracts.conftest import REPO, free_port, token_env

MOCK_TOKENS = {
    "NEXSIS_TOKEN": "nexsis-demo-api-key-0001",
    "MOODLE_WS_TOKEN": "ws-admin-token-0001",
    "MOODLE_WS_NOCAP_TOKEN": "ws-nomuprog-token-0001",
}
SEED = "20260105"


def all_operations() -> list[tuple[str, str]]:
    out = []
    for api in ("nexsis", "moodle-ws"):
        for item in load_spec(api)["paths"].values():
            for method, op in item.items():
                if method in ("get", "put", "post", "delete"):
                    out.append((api, op["operationId"]))
    return out


def sandbox_from_default_fixture() -> dict:
    """The sandbox ids an operator would list for the mock's default site."""
    fixture = yaml.safe_load((REPO / "mock" / "fixtures" / "default.yaml").read_text())
    courses = {c["id"]: c for c in fixture["courses"]}
    category = fixture["grade_categories"][0]
    program = next(
        p for p in fixture["programs"] if {s["type"] for s in p["sources"]} >= {"manual", "cohort"}
    )
    attached = {c for s in program["sources"] for c in s.get("cohorts", [])}
    return {
        "nexsis": {
            "courses": [courses[category["course"]]["idnumber"]],
            "categories": [str(category["id"])],
            "programs": [program["idnumber"]],
            "certifications": [fixture["certifications"][0]["idnumber"]],
            "departments": [fixture["departments"][0]["idnumber"]],
            "positions": [fixture["positions"][0]["idnumber"]],
        },
        "moodle-ws": {
            "programs": [program["id"]],
            "cohorts": [c["id"] for c in fixture["cohorts"] if c["id"] not in attached],
        },
    }


@pytest.fixture
def mock_url():
    port = free_port()
    proc = subprocess.Popen(
        [str(REPO / ".venv" / "bin" / "nexsis"), "mock", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=REPO,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(url + "/enrol/nexsis/api/index.php/ping", timeout=1)
            break
        except httpx.HTTPError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("the mock did not start")
            time.sleep(0.2)
    yield url
    proc.terminate()
    proc.wait(10)


def _check(*args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(REPO / ".venv" / "bin" / "nexsis"), "check", *args],
        capture_output=True,
        text=True,
        env={**token_env(), **MOCK_TOKENS},
        cwd=REPO,
        timeout=timeout,
    )


def _coverage_rows(report: str) -> dict[tuple[str, str], list[str]]:
    section = report[report.index("## Coverage") :]
    section = section[: section.index("\n## ", 5)]
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0] in ("nexsis", "moodle-ws"):
            rows[(cells[0], cells[1])] = cells
    return rows


@pytest.mark.slow
def test_default_run_against_mock_sees_success_for_every_operation(mock_url, tmp_path):
    """Default options and the shipped examples/contracts.mock.yaml (require_success on in it)."""
    config = REPO / "examples" / "contracts.mock.yaml"
    started = time.monotonic()
    proc = _check("--base-url", mock_url, "--config", str(config), "--report-dir", str(tmp_path), "--seed", SEED)  # noqa: E501
    wall = time.monotonic() - started
    report = (tmp_path / "report.md").read_text()
    print(f"nexsis check against the mock: {wall:.1f}s wall, exit {proc.returncode}")
    assert proc.returncode == 0, proc.stderr[-2000:] + report[report.find("## Failures") :][:6000]
    junit = (tmp_path / "junit.xml").read_text()
    rows = _coverage_rows(report)
    operations = all_operations()
    assert len(operations) == 54
    for api, name in operations:
        assert f'name="{name}"' in junit, name
        verdict = next(line for line in report.splitlines() if line.startswith(f"| {api} | {name} |"))
        assert verdict.split("|")[3].strip() == "pass", verdict
        cells = rows[(api, name)]
        assert cells[4].startswith("yes ("), f"{api} {name}: {cells}"
        if api == "moodle-ws":
            assert "ok:" in cells[3], cells  # the outcome column tells success from envelopes
    assert "no success seen" not in report
    data = json.loads((tmp_path / "report.json").read_text())
    assert data["verdict"] == "conformant" and data["unverified"] == []
    assert not [(op["name"], f["check"]) for op in data["operations"] for f in op["failures"]]
    exercised = {(op["api"], op["name"]) for op in data["operations"] if op["cases"] and op["successes"]}
    assert set(operations) <= exercised
    # The WS stateful scenario ran (program from the sandbox, a user of the run's own).
    scenario = next(line for line in report.splitlines() if "| scenario_muprog_allocation |" in line)
    assert scenario.split("|")[3].strip() == "pass", scenario
    assert rows[("moodle-ws", "scenario_muprog_allocation")][3].startswith("ok:"), scenario
    # Cleanup: the run's records are gone, and the cohort it attached is detached again.
    prefix = report.split("id prefix `")[1].split("`")[0]
    headers = {"Authorization": f"Bearer {MOCK_TOKENS['NEXSIS_TOKEN']}"}
    api = mock_url + "/enrol/nexsis/api/index.php"
    for path in (f"/user/{prefix}U0", f"/user/{prefix}U1", f"/course/{prefix}C0", f"/course/{prefix}C1"):
        assert httpx.get(api + path, headers=headers).status_code == 404, path
    enrolled = httpx.get(api + "/course/C789/enrol", headers=headers).json()
    assert not [e for e in enrolled if str(e.get("idnumber", "")).startswith(prefix)]
    cohorts = httpx.post(
        mock_url + "/webservice/rest/server.php",
        data={
            "wstoken": MOCK_TOKENS["MOODLE_WS_TOKEN"],
            "wsfunction": "tool_muprog_source_cohort_get_cohorts",
            "moodlewsrestformat": "json",
            "programid": "1",
        },
    ).json()
    assert [c["id"] for c in cohorts] == [1]
    assert "Could not be removed" not in report


def test_missing_success_is_flagged_and_fails_with_require_success(mock_url, tmp_path):
    """Without a sandbox certification nothing can answer getCertificationAllocation with success."""
    common = ("--base-url", mock_url, "-o", "getUser,getCertificationAllocation", "--only", "nexsis")
    common += ("--max-examples", "3", "--seed", "1", "--no-stateful")
    proc = _check(*common, "--report-dir", str(tmp_path / "a"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = (tmp_path / "a" / "report.md").read_text()
    rows = _coverage_rows(report)
    assert rows[("nexsis", "getUser")][4].startswith("yes (")
    flagged = rows[("nexsis", "getCertificationAllocation")][4]
    assert flagged.startswith("no success seen: success schema unverified"), flagged
    assert "sandbox nexsis certification" in flagged
    assert "no success seen" in proc.stdout  # the console summary says it too

    proc = _check(*common, "--require-success", "--report-dir", str(tmp_path / "b"))
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "getCertificationAllocation" in proc.stderr
    junit = (Path(tmp_path) / "b" / "junit.xml").read_text()
    assert 'type="success_required"' in junit
    # Every report says what the exit code says (it said "conformant" with exit 1).
    assert json.loads((tmp_path / "b" / "report.json").read_text())["verdict"] == "unverified"
    markdown = (tmp_path / "b" / "report.md").read_text()
    assert "Verdict: **UNVERIFIED OPERATIONS (--require-success)**" in markdown
    assert "conformant" not in proc.stdout.splitlines()[-1]
    assert json.loads((tmp_path / "a" / "report.json").read_text())["verdict"] == "conformant"


@pytest.mark.slow
def test_default_options_without_config_exercise_every_operation(mock_url, tmp_path):
    """No config at all: exit 0, no violation, every operation sent cases; only those whose
    success needs a sandbox record are unverified, each saying which record."""
    proc = _check("--base-url", mock_url, "--report-dir", str(tmp_path), "--seed", SEED)
    data = json.loads((tmp_path / "report.json").read_text())
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert data["verdict"] == "conformant"
    assert not [(op["name"], f["check"]) for op in data["operations"] for f in op["failures"]]
    ops = {(op["api"], op["name"]): op for op in data["operations"] if op["kind"] == "operation"}
    assert set(ops) == set(all_operations())
    assert not [name for name, op in ops.items() if not op["cases"]]
    for name, op in ops.items():
        if op["verdict"] == "unverified":
            assert "sandbox" in (op["anchor_missing"] or ""), (name, op)
        else:
            assert op["verdict"] == "pass", (name, op)
