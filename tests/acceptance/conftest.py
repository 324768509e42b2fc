"""Fixtures for the black-box acceptance tests: the mock on a real loopback port, reset per test.

One in-process server (uvicorn thread) serves the whole session; each test that asks for `mock`
gets it reset to the default fixtures through the admin API, so tests never see each other's
writes. Tests that need a real process (kills, workers, the CLI) start `nexsis mock` themselves.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from .admin import Admin
from .clients import MoodleWS, Nexsis
from .servers import InProcessServer


@dataclass
class Tokens:
    """The tokens of the running mock, by role.

    NexSIS API keys carry no scope (the vendor document knows one kind of key); WS tokens are
    told apart by their capabilities: all (site admin), view only (read-only), none of tool/muprog.
    """

    # repr=False: tokens never show in a failure report (nexsis_openapi.redact's rule)
    nexsis: str = field(repr=False)
    ws_admin: str = field(repr=False)
    ws_readonly: str | None = field(repr=False)
    ws_nocap: str | None = field(repr=False)
    raw: dict[str, Any] = field(repr=False)


def resolve_tokens(listing: dict[str, Any]) -> Tokens:
    """Map the listing `nexsis mock` prints ({"nexsis": [keys], "moodle-ws": {token: info}})."""
    nexsis = listing["nexsis"]
    assert nexsis, f"no NexSIS key in {listing}"
    admin = readonly = nocap = None
    for token, info in listing["moodle-ws"].items():
        caps = info.get("capabilities")
        functions = info.get("functions")
        if functions not in (None, "all") and "tool_muprog_get_programs" not in functions:
            continue  # a token whose service lacks the functions: not one of the three roles
        if caps == "all":
            admin = admin or token
            continue
        muprog = {c for c in caps or [] if c.startswith("tool/muprog:")}
        if not muprog:
            nocap = nocap or token
        elif "tool/muprog:view" in muprog and "tool/muprog:allocate" not in muprog:
            readonly = readonly or token
    assert admin, f"no site-admin WS token in {listing}"
    return Tokens(nexsis[0], admin, readonly, nocap, listing)


@dataclass
class Mock:
    base_url: str
    http: httpx.Client
    admin: Admin
    tokens: Tokens

    @property
    def nx(self) -> Nexsis:
        return Nexsis(self.http, self.tokens.nexsis)

    @property
    def ws(self) -> MoodleWS:
        return MoodleWS(self.http, self.tokens.ws_admin)

    def nexsis_as(self, token: str | None, token_in: str = "header") -> Nexsis:
        return Nexsis(self.http, token, token_in=token_in)

    def ws_as(self, token: str | None, token_in: str = "body") -> MoodleWS:
        return MoodleWS(self.http, token, token_in=token_in)


@pytest.fixture(scope="session")
def mock_server() -> Iterator[InProcessServer]:
    with InProcessServer() as server:
        yield server


@pytest.fixture(scope="session")
def _session_mock(mock_server: InProcessServer) -> Iterator[Mock]:
    with httpx.Client(base_url=mock_server.base_url, timeout=30) as http:
        yield Mock(mock_server.base_url, http, Admin(http), resolve_tokens(mock_server.tokens))


@pytest.fixture
def mock(_session_mock: Mock) -> Mock:
    """The shared in-process mock, reset to its default fixtures before the test."""
    _session_mock.admin.reset()
    return _session_mock
