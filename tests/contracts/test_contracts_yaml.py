"""docs/contracts-yaml.md documents every key, its examples load, and the mock's ready file is right;
--dry-run lists each request's body in full under it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml

from nexsis_contracts.config import CONFIG_KEYS, LIMIT_KEYS, SANDBOX_KINDS, ConfigError, build_settings
from tests.contracts.conftest import REPO, run_check
from tests.contracts.test_against_mock import sandbox_from_default_fixture

DOC = REPO / "docs" / "contracts-yaml.md"
EXAMPLE = REPO / "examples" / "contracts.mock.yaml"
TOKENS = {"NEXSIS_TOKEN": "t-nexsis", "MOODLE_WS_TOKEN": "t-ws"}


def _settings(path: Path, **kwargs: object):
    return build_settings(base_url=kwargs.pop("base_url", None), config_path=path, environ=TOKENS, **kwargs)


def test_every_key_is_documented():
    text = DOC.read_text()
    for key in (*CONFIG_KEYS, *LIMIT_KEYS, *{k for kinds in SANDBOX_KINDS.values() for k in kinds}):
        assert f"`{key}`" in text, f"{key} is not documented in docs/contracts-yaml.md"


def test_every_example_in_the_doc_loads(tmp_path):
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    assert len(blocks) >= 3
    full = yaml.safe_load(blocks[0])
    assert set(full) == set(CONFIG_KEYS) and set(full["limits"]) == set(LIMIT_KEYS)  # the complete one
    for i, block in enumerate(blocks):
        path = tmp_path / f"example{i}.yaml"
        path.write_text(block)
        settings = _settings(path, base_url=None if i == 0 else "http://127.0.0.1:9")
        assert settings.base_url
    settings = _settings(tmp_path / "example0.yaml")
    assert settings.mode == "safe" and settings.rate_limit == 10 and settings.time_budget == 900
    assert settings.sandbox_ids("moodle-ws", "cohort") == [7, 8]
    assert settings.target("nexsis").startswith("https://sis-gateway.")


def test_unknown_limits_key_is_refused(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("limits: {max_example: 3}\n")
    with pytest.raises(ConfigError, match="max_example"):
        _settings(path, base_url="http://127.0.0.1:9")


def test_the_mock_example_names_the_default_fixture_sandbox():
    data = yaml.safe_load(EXAMPLE.read_text())
    expected = sandbox_from_default_fixture()
    got = {api: {k: [str(i) if api == "nexsis" else i for i in v] for k, v in kinds.items()}
           for api, kinds in data["sandbox"].items()}  # fmt: skip
    assert got == expected
    settings = _settings(EXAMPLE)
    assert settings.base_url == "http://127.0.0.1:8080" and settings.require_success


def test_dry_run_lists_each_body_in_full():
    proc = run_check(
        "--base-url", "http://127.0.0.1:9", "--dry-run", "-o", "putUser,core_group_create_groups",
        "--max-examples", "4", "--seed", "1",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    json_bodies = ws_bodies = 0
    for i, line in enumerate(lines):
        if not line.startswith(("PUT ", "POST ")) or i + 2 >= len(lines):
            continue
        ctype = lines[i + 1].strip()
        if ctype == "Content-Type: application/json":
            try:  # the whole body, parseable, not a cut prefix (negative cases may send bad bytes)
                json.loads(lines[i + 2])
            except ValueError:
                continue
            json_bodies += 1
        elif line.startswith("POST ") and ctype == "Content-Type: application/x-www-form-urlencoded":
            assert lines[i + 2].startswith("    wsfunction=core_group_create_groups&"), lines[i + 2]
            ws_bodies += 1
    assert json_bodies >= 2 and ws_bodies >= 2, proc.stdout
