"""`nexsis diff` of the mock against itself: every call identical, every operation exercised,
even when the candidate assigns other ids (the mapping is learned from the answers)."""

from __future__ import annotations

import json

from nexsis_mock.app import create_app
from tests.contracts.conftest import ServerThread
from tests.contracts.test_against_mock import all_operations
from tests.diff.conftest import diff_lines, identical, mock_config, run_diff, shift_ids


def test_mock_against_itself_is_identical_over_every_operation(tmp_path):
    with ServerThread(create_app(swagger_ui=False)) as a, ServerThread(create_app(swagger_ui=False)) as b:
        proc = run_diff(
            "--reference",
            a.url,
            "--candidate",
            b.url,
            "--config",
            str(mock_config(tmp_path)),
            "--seed",
            "11",
            "--report-dir",
            str(tmp_path / "report"),
        )
    same, total = identical(proc.stdout)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert same == total and total >= 150
    assert diff_lines(proc.stdout) == []
    assert "not exercised" not in proc.stdout
    junit = (tmp_path / "report" / "junit.xml").read_text()
    for _api, name in all_operations():
        assert f'name="{name}"' in junit, name
    report = json.loads((tmp_path / "report" / "report.json").read_text())
    assert report["identical"] == report["calls"] == total and report["not_exercised"] == {}


def test_candidate_with_other_ids_is_still_identical(tmp_path):
    with ServerThread(create_app(swagger_ui=False)) as a, ServerThread(create_app(swagger_ui=False)) as b:
        shift_ids(b.url)
        proc = run_diff(
            "--reference", a.url, "--candidate", b.url, "--config", str(mock_config(tmp_path)), "--seed", "12"
        )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    same, total = identical(proc.stdout)
    assert same == total


def test_unreachable_candidate_exits_3_and_bad_reference_exits_2(tmp_path):
    with ServerThread(create_app(swagger_ui=False)) as a:
        proc = run_diff(
            "--reference", a.url, "--candidate", "http://127.0.0.1:9", "--config", str(mock_config(tmp_path))
        )
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert "unreachable" in proc.stderr
    bad = run_diff("--reference", str(tmp_path / "nothing.har"), "--candidate", "http://127.0.0.1:9")
    assert bad.returncode == 2 and "HAR" in bad.stderr
    tokenless = {name: "" for name in ("NEXSIS_TOKEN", "MOODLE_WS_TOKEN", "MOODLE_WS_NOCAP_TOKEN")}
    missing = run_diff(
        "--reference", "http://127.0.0.1:9", "--candidate", "http://127.0.0.1:9", env=tokenless
    )
    assert missing.returncode == 2 and "CANDIDATE_<NAME>" in missing.stderr
