"""The ``nexsis_mock`` fixture, as a client project gets it: installed, loaded by its pytest11 entry point.

Each case writes a client's test file in a temporary folder and runs pytest on it in a new process
(no conftest, no import of the fixture): it passes only if the entry point loads the plugin and the
fixture does what mock/README.md says (started server, tokens, reset, fault, journal, count).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

CLIENT_TEST = '''
import httpx

def test_a_client_checks_what_it_sent(nexsis_mock):
    nx = {"Authorization": "Bearer " + nexsis_mock.nexsis_token}
    put = httpx.put(nexsis_mock.nexsis_url + "/user/S9001", headers=nx,
                    json={"username": "ada.l", "firstname": "Ada", "lastname": "L",
                          "email": "ada@example.edu"})
    assert put.status_code == 200, put.text
    assert nexsis_mock.count(method="PUT", path=nexsis_mock.nexsis_path + "/user/S9001") == 1
    assert nexsis_mock.journal(operation="putUser")[0]["body"]["firstname"] == "Ada"
    rule = nexsis_mock.fault(wsfunction="core_group_create_groups", status=503, times=1)
    assert rule["id"]
    ws = httpx.post(nexsis_mock.ws_url, data={"wstoken": nexsis_mock.ws_token, "moodlewsrestformat": "json",
                                              "wsfunction": "core_group_create_groups"})
    assert ws.status_code == 503
    nexsis_mock.reset()
    assert nexsis_mock.count() == 0
    assert httpx.get(nexsis_mock.nexsis_url + "/user/S9001", headers=nx).status_code == 404

def test_each_test_starts_clean(nexsis_mock):
    assert nexsis_mock.count() == 0 and nexsis_mock.journal() == []
    assert nexsis_mock.url.startswith("http://127.0.0.1:")
    assert "nexsis" in nexsis_mock.tokens and "moodle-ws" in nexsis_mock.tokens
'''


def _run(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=folder, capture_output=True, text=True, timeout=300)


def test_a_client_project_gets_the_fixture_from_the_entry_point(tmp_path: Path) -> None:
    (tmp_path / "test_client.py").write_text(textwrap.dedent(CLIENT_TEST), encoding="utf-8")
    result = _run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


def test_the_fixture_is_the_plugins_not_a_conftest(tmp_path: Path) -> None:
    (tmp_path / "test_client.py").write_text(textwrap.dedent(CLIENT_TEST), encoding="utf-8")
    result = _run(tmp_path, "-p", "no:nexsis_mock")
    assert result.returncode != 0
    assert "fixture 'nexsis_mock' not found" in result.stdout


def test_the_readme_example_runs(tmp_path: Path) -> None:
    readme = (Path(__file__).resolve().parents[2] / "mock" / "README.md").read_text(encoding="utf-8")
    block = readme.split("```python\n", 1)[1].split("```", 1)[0]
    lines = [line for line in block.splitlines() if line.strip()]
    assert len(lines) == 5, block  # the five-line example
    (tmp_path / "test_readme.py").write_text("import httpx\n\n\n" + block, encoding="utf-8")
    result = _run(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
