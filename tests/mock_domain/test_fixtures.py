"""Fixture loading: validation messages name file, path and reason; files merge; export round-trips."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexsis_mock import fixtures
from nexsis_mock.domain import Service
from nexsis_mock.fixtures import FixtureError


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


BASE = """
users:
  - {username: a, idnumber: S1}
  - {username: b, idnumber: S2}
courses:
  - {shortname: X, idnumber: C1, category: /Top/Sub}
"""


@pytest.mark.parametrize(
    "extra, message",
    [
        ("users:\n  - {username: c, idnumber: S1}\n", "site.yaml: users[0].idnumber: duplicate 'S1'"),
        ("users:\n  - {idnumber: S9}\n", "site.yaml: users[0].username: required"),
        ("enrolments:\n  - {user: S404, course: C1}\n", "site.yaml: enrolments[0].user: unknown user 'S404'"),
        (
            "enrolments:\n  - {user: S1, course: C1, role: wizard}\n",
            "site.yaml: enrolments[0].role: unknown role",
        ),
        ("groups:\n  - {course: C1, name: G, members: [S1]}\n", "site.yaml: groups[0].members: user"),
        (
            "programs:\n  - {fullname: P, allocations: [{user: S1, source: cohort}]}\n",
            "site.yaml: programs[0].allocations[0].source: program 1 has no source 'cohort'",
        ),
        ("bogus: []\n", "site.yaml: bogus: unknown section"),
        ("users: 5\n", "site.yaml: users: must be a list"),
        (
            "grades:\n  - {user: S1, course: C1, finalgrade: 150}\n",
            "site.yaml: grades[0].finalgrade: 150.0 is outside",
        ),
    ],
)
def test_validation_errors_name_file_path_reason(tmp_path: Path, extra: str, message: str) -> None:
    base = write(tmp_path, "base.yaml", BASE)
    bad = write(tmp_path, "site.yaml", extra)
    with pytest.raises(FixtureError) as info:
        Service.create([base, bad])
    assert message in str(info.value)


def test_invalid_yaml_is_reported(tmp_path: Path) -> None:
    with pytest.raises(FixtureError, match=r"broken\.yaml: invalid YAML"):
        fixtures.load([write(tmp_path, "broken.yaml", "users: [\n")])


def test_files_merge(tmp_path: Path) -> None:
    base = write(tmp_path, "base.yaml", BASE)
    more = write(
        tmp_path,
        "more.yaml",
        "enrolments:\n  - {user: S1, course: C1}\ntokens:\n  nexsis: [merge-test-key]\n",
    )
    svc = Service.create([base, more])
    assert (
        svc.call("nexsis", "listUserEnrolments", {"userid": "S1"}, "merge-test-key").body[0]["courseid"]
        == "C1"
    )
    assert (
        svc.call("nexsis", "getCourse", {"courseid": "C1"}, "merge-test-key").body["categorypath"]
        == "/Top/Sub"
    )


def test_default_fixture_is_a_realistic_site(svc: Service) -> None:
    stats = svc.stats()
    assert stats["users"] >= 20 and stats["courses"] >= 5 and stats["enrolments"] >= 50
    s = svc.state
    assert s.groups and s.cohorts and s.certifications and s.departments and s.positions
    assert any(len(p.sources) >= 2 for p in s.programs.values()) and s.allocations
    assert s.jobs_by_user and s.managers_by_user and s.grades and s.completions and s.metalinks and s.logs
    tokens = svc.tokens()
    assert tokens["nexsis"] and len(tokens["moodle-ws"]) == 3


def test_export_import_round_trip(svc: Service, nx) -> None:
    nx("putUser", userid="S7777", username="roundtrip")
    nx("deleteUser", userid="S1002")
    exported = svc.export_state()
    other = Service.create()
    other.import_state(exported)
    assert other.export_state() == exported
    # sequences survive: a new user does not reuse a deleted user's id
    deleted_id = max(svc.state.users) + 1
    nx("putUser", userid="S8888", username="next")
    key = "nexsis-demo-api-key-0001"
    other.call("nexsis", "putUser", {"userid": "S8888", "username": "next"}, key)
    assert other.state.user_by_idnumber["S8888"] == svc.state.user_by_idnumber["S8888"] == deleted_id


def test_import_of_invalid_state_changes_nothing(svc: Service) -> None:
    before = svc.export_state()
    with pytest.raises(FixtureError):
        svc.import_state({"users": [{"username": "x"}, {"username": "x"}]})
    assert svc.export_state() == before


def test_json_fixture(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "site.json",
        '{"users": [{"id": 50, "username": "j", "idnumber": "J1"}], "tokens": {"nexsis": ["json-key-0001"]}}',
    )
    svc = Service.create([path])
    assert svc.call("nexsis", "getUser", {"userid": "J1"}, "json-key-0001").body["username"] == "j"
