"""Schemathesis against the running mock: every operation of both specs, positive and negative data.

The engine is the one `st run` uses (examples, coverage and fuzzing phases, then separately the
stateful phase that follows the specs' OpenAPI links), with every built-in check for NexSIS. For the
Moodle web services, whose answers are all HTTP 200, the status-based checks are replaced by an
envelope-aware one (tests/acceptance/fuzzing.py). A run "finds nothing" when no check fails and no
operation errors.

Bounded: a small max_examples per operation keeps the file to a couple of minutes on 2 cores.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from nexsis_openapi import load_spec

from .admin import Admin
from .conftest import Tokens, resolve_tokens
from .fuzzing import build_schema, installed, run
from .servers import InProcessServer

pytestmark = pytest.mark.slow

MAX_EXAMPLES = {"nexsis": 8, "moodle-ws": 10}


@pytest.fixture(scope="module")
def fuzzed_mock() -> Iterator[tuple[InProcessServer, Tokens, Admin]]:
    """A mock of its own: fuzzing fills it with junk that other tests must not see."""
    with InProcessServer() as server, httpx.Client(base_url=server.base_url, timeout=30) as http:
        yield server, resolve_tokens(server.tokens), Admin(http)


def operation_ids(api: str) -> set[str]:
    spec = load_spec(api)
    return {
        op["operationId"]
        for item in spec["paths"].values()
        for op in item.values()
        if isinstance(op, dict) and "operationId" in op
    }


def _run(api: str, phases: list[str], mock: tuple[InProcessServer, Tokens, Admin]) -> None:
    server, tokens, admin = mock
    admin.reset()
    token = tokens.nexsis if api == "nexsis" else tokens.ws_admin
    schema = build_schema(api, server.base_url, token, phases=phases, max_examples=MAX_EXAMPLES[api])
    with installed(tokens.ws_admin):
        result = run(schema)
    report = "\n".join(result.failures + result.errors)
    assert not result.failures and not result.errors, (
        f"schemathesis found {len(result.failures)} failure(s), {len(result.errors)} error(s) "
        f"in {result.cases} cases:\n{report}"
    )
    assert result.cases > 0
    if "stateful" not in phases:
        # labels are "METHOD /path"; map back through the paths that carry the ids
        spec = load_spec(api)
        by_label = {
            f"{m.upper()} {p}": o["operationId"]
            for p, item in spec["paths"].items()
            for m, o in item.items()
            if isinstance(o, dict) and "operationId" in o
        }
        tested = {by_label[label] for label in result.operations if label in by_label}
        untested = sorted(operation_ids(api) - tested)
        assert not untested, f"operations never exercised: {untested}"


@pytest.mark.parametrize("api", ["nexsis", "moodle-ws"])
def test_schemathesis_finds_nothing(api: str, fuzzed_mock) -> None:
    _run(api, ["examples", "coverage", "fuzzing"], fuzzed_mock)


@pytest.mark.parametrize("api", ["nexsis", "moodle-ws"])
def test_schemathesis_stateful_finds_nothing(api: str, fuzzed_mock) -> None:
    _run(api, ["stateful"], fuzzed_mock)
