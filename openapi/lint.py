"""``nexsis lint``: validate the specs the way every consumer will load them.

A spec that passes openapi-spec-validator can still break a consumer, so lint also checks the
project's own rules: unique operationIds (Connexion silently shares validators between duplicates),
OpenAPI 3.0.x (Connexion 3 validates 3.0 only), every operation answering something, and every
``$ref`` resolving.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml
from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from nexsis_openapi import SPEC_NAMES, spec_path

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")


def _operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in (spec.get("paths") or {}).items():
        for method in HTTP_METHODS:
            if isinstance(item, dict) and isinstance(item.get(method), dict):
                yield path, method, item[method]


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _resolves(spec: dict[str, Any], ref: str) -> bool:
    if not ref.startswith("#/"):
        return True  # external refs are the validator's business
    node: Any = spec
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        if not isinstance(node, dict) or part not in node:
            return False
        node = node[part]
    return True


def lint_file(path: Path) -> list[str]:
    """Every problem found in one spec file, as `file: where: what` lines; empty when clean."""
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return [f"{path}: cannot read: {exc}"]
    if not isinstance(spec, dict):
        return [f"{path}: not a mapping at top level"]
    problems: list[str] = []
    version = str(spec.get("openapi", ""))
    if not version.startswith("3.0."):
        problems.append(f"{path}: openapi: {version!r} is not 3.0.x (Connexion 3 validates 3.0 only)")
    try:
        validate(spec)
    except OpenAPIValidationError as exc:
        where = "/".join(str(p) for p in getattr(exc, "absolute_path", []) or [])
        problems.append(f"{path}: {where or '(root)'}: {exc.message}")
    except Exception as exc:  # the validator raises other errors on some malformed inputs
        problems.append(f"{path}: validator failed: {type(exc).__name__}: {exc}")
    ids = Counter(op.get("operationId") for _, _, op in _operations(spec))
    for op_id, count in ids.items():
        if op_id is None:
            problems.append(f"{path}: an operation has no operationId")
        elif count > 1:
            problems.append(f"{path}: operationId {op_id!r} used {count} times")
    for p, method, op in _operations(spec):
        if not op.get("responses"):
            problems.append(f"{path}: {method.upper()} {p}: no responses")
    for ref in sorted(set(_refs(spec))):
        if not _resolves(spec, ref):
            problems.append(f"{path}: unresolved $ref {ref}")
    return problems


def run(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files] or [spec_path(name) for name in SPEC_NAMES]
    failed = False
    for path in files:
        problems = lint_file(path)
        if problems:
            failed = True
            for line in problems:
                print(line, file=sys.stderr)
        else:
            spec = yaml.safe_load(path.read_text(encoding="utf-8"))
            count = sum(1 for _ in _operations(spec))
            print(f"{path}: OK ({count} operations, OpenAPI {spec.get('openapi')})")
    return 1 if failed else 0


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("lint", help="validate the OpenAPI specs (exit 1 on any problem)")
    parser.add_argument("files", nargs="*", help="spec files (default: the bundled specs)")
    parser.set_defaults(func=run)
