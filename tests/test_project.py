"""The project stands alone and keeps its README promises."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _readme_commands() -> list[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```bash\n(.*?)```", text, flags=re.S)
    assert block, "README must open with a bash block of set-up commands"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_two_setup_commands() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert text.index("```bash") < text.index("\n## "), "the commands come before any section"
    commands = _readme_commands()
    assert len(commands) == 2
    assert "nexsis mock" in commands[0]
    assert "pytest" in commands[1]


def test_ci_runs_exactly_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert _readme_commands()[1] in ci


def test_nothing_reads_the_shared_folder() -> None:
    needle = "../" + "shared"  # spelled apart so this file does not match itself
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    offenders = [
        f for f in tracked
        if f.endswith((".py", ".toml", ".cfg", ".ini", ".yaml", ".sh")) or f.startswith(".ci/")
        if needle in (ROOT / f).read_text(encoding="utf-8", errors="replace")
    ]
    assert offenders == []


def test_import_names_do_not_shadow_pypi_packages() -> None:
    import nexsis_contracts
    import nexsis_mock
    import nexsis_openapi

    assert Path(nexsis_openapi.__file__).parent.name == "openapi"
    assert Path(nexsis_mock.__file__).parent.name == "mock"
    assert Path(nexsis_contracts.__file__).parent.name == "contracts"


def _first_calls(readme: Path) -> list[str]:
    """The curl lines of the first bash block that holds any (README's set-up block holds none)."""
    for block in re.findall(r"```bash\n(.*?)```", readme.read_text(encoding="utf-8"), flags=re.S):
        calls = [line for line in block.splitlines() if line.startswith("curl ")]
        if calls:
            return calls
    return []


def test_the_readmes_first_calls_answer_with_the_default_tokens() -> None:
    """Both READMEs show a working first curl call per API near their top, and they work as written."""
    import shlex
    import shutil

    import pytest
    from mock_server.conftest import Server

    if shutil.which("curl") is None:
        pytest.skip("needs curl")
    with Server() as server:
        for readme in (ROOT / "README.md", ROOT / "mock" / "README.md"):
            text = readme.read_text(encoding="utf-8")
            calls = _first_calls(readme)
            assert len(calls) == 3, readme
            assert text.index(calls[0]) < text.index("\n## "), f"{readme}: the calls come before any section"
            paths = []
            for line in calls:
                argv = [a.replace("http://127.0.0.1:8080", server.base_url) for a in shlex.split(line)]
                out = subprocess.run([*argv, "-w", "\n%{http_code}"], capture_output=True, text=True,
                                     timeout=30)
                body, _, status = out.stdout.rpartition("\n")
                assert status == "200", (line, out.stdout, out.stderr)
                assert '"exception"' not in body and '"error"' not in body, (line, body)
                paths.append(next(a for a in argv if a.startswith("http")))
            assert any("/enrol/nexsis/api/index.php/" in p for p in paths)
            assert any(p.endswith("/webservice/rest/server.php") for p in paths)
            assert any("/__admin/" in p for p in paths)
