"""`nexsis lint` accepts the bundled specs and rejects broken copies with a clear message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from nexsis_openapi import SPEC_NAMES, spec_path
from nexsis_openapi.cli import main


def _nexsis(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("nexsis")
    return subprocess.run([str(exe), *args], capture_output=True, text=True, timeout=120)


def test_lint_passes_on_bundled_specs() -> None:
    result = _nexsis("lint")
    assert result.returncode == 0, result.stderr
    for name in SPEC_NAMES.values():
        assert f"{name}: OK" in result.stdout


@pytest.mark.parametrize("name", sorted(SPEC_NAMES))
def test_lint_fails_on_a_broken_copy(tmp_path: Path, name: str) -> None:
    spec = yaml.safe_load(spec_path(name).read_text(encoding="utf-8"))
    first_path = next(iter(spec["paths"].values()))
    first_op = next(v for k, v in first_path.items() if k in ("get", "put", "post", "delete"))
    first_op["responses"] = "not a mapping"
    broken = tmp_path / f"broken-{name}.yaml"
    broken.write_text(yaml.safe_dump(spec), encoding="utf-8")
    result = _nexsis("lint", str(broken))
    assert result.returncode == 1
    assert str(broken) in result.stderr


def test_lint_rejects_duplicate_operation_ids(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = yaml.safe_load(spec_path("nexsis").read_text(encoding="utf-8"))
    ops = [op for item in spec["paths"].values() for k, op in item.items() if k in ("get", "put", "delete")]
    ops[1]["operationId"] = ops[0]["operationId"]
    broken = tmp_path / "dup.yaml"
    broken.write_text(yaml.safe_dump(spec), encoding="utf-8")
    assert main(["lint", str(broken)]) == 1
    assert "used 2 times" in capsys.readouterr().err


def test_lint_rejects_openapi_31_and_unreadable_files(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    spec = yaml.safe_load(spec_path("nexsis").read_text(encoding="utf-8"))
    spec["openapi"] = "3.1.0"
    v31 = tmp_path / "v31.yaml"
    v31.write_text(yaml.safe_dump(spec), encoding="utf-8")
    bad = tmp_path / "bad.yaml"
    bad.write_text("openapi: [unclosed", encoding="utf-8")
    assert main(["lint", str(v31), str(bad)]) == 1
    err = capsys.readouterr().err
    assert "not 3.0.x" in err and "cannot read" in err
