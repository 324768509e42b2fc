"""The one-way imports: mock -> openapi <- contracts, checked on every import statement of each package.

A grep for `^from nexsis_...` misses the lazy imports inside functions, `import a.b as c` and
`importlib.import_module("...")` with a literal name; the AST sees all of them.
"""

from __future__ import annotations

import ast
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: package folder -> (import name, import names it must never reach)
LAYERS: dict[str, tuple[str, frozenset[str]]] = {
    "openapi": ("nexsis_openapi", frozenset({"nexsis_mock", "nexsis_contracts"})),
    "mock": ("nexsis_mock", frozenset({"nexsis_contracts"})),
    "contracts": ("nexsis_contracts", frozenset({"nexsis_mock"})),
}


def imported_names(tree: ast.AST) -> list[tuple[int, str]]:
    """Every module name a file imports (statements anywhere, and literal import_module calls)."""
    names: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.append((node.lineno, node.module))
        elif isinstance(node, ast.Call):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if called in ("import_module", "__import__") and node.args:
                first = node.args[0]
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    names.append((node.lineno, first.value))
    return names


def violations(root: Path) -> list[str]:
    """`file:line imports X` for every import that crosses a layer the wrong way."""
    found: list[str] = []
    for folder, (_name, forbidden) in LAYERS.items():
        for path in sorted((root / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for line, module in imported_names(tree):
                if module.split(".")[0] in forbidden:
                    found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return found


def test_packages_import_only_downwards() -> None:
    assert violations(ROOT) == []


@pytest.mark.parametrize(
    ("folder", "statement"),
    [
        ("mock", "from nexsis_contracts.runner import Run\n"),
        ("contracts", "def later():\n    import nexsis_mock.app as app\n    return app\n"),
        ("openapi", "import importlib\nimportlib.import_module('nexsis_mock.app')\n"),
        ("openapi", "from nexsis_contracts import cli\n"),
    ],
)
def test_a_planted_import_is_caught(tmp_path: Path, folder: str, statement: str) -> None:
    """The check fails for the right reason: the planted file and line are named."""
    for name in LAYERS:
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / folder / "planted.py").write_text(statement, encoding="utf-8")
    found = violations(tmp_path)
    assert len(found) == 1
    assert found[0].startswith(f"{folder}/planted.py:")
