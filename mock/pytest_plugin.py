"""The mock as a pytest fixture: ``nexsis_mock`` gives each test a started, clean mock.

Installed with the package (entry point ``pytest11``: ``nexsis_mock``), so a client project's tests
only ask for the fixture::

    def test_my_sync_puts_the_user_once(nexsis_mock):
        my_sync(base_url=nexsis_mock.url, token=nexsis_mock.nexsis_token)
        assert nexsis_mock.count(method="PUT", path=nexsis_mock.nexsis_path + "/user/S1001") == 1
        nexsis_mock.fault(wsfunction="core_group_create_groups", status=503, times=1)
        assert nexsis_mock.journal(operation="putUser")[0]["status"] == 200

One server per test session (uvicorn on a free loopback port, in a thread, with the same bounded
request heads as ``nexsis mock``), reset before each test: state back to the fixtures, journal and
fault rules emptied. Everything goes through the mock's public HTTP admin API, as a test in another
process would use it; the suite (``nexsis_contracts``) is never imported. ``--nexsis-mock-fixtures
FILE ...`` (or the ini option ``nexsis_mock_fixtures``) replaces the embedded default fixtures.
"""

from __future__ import annotations

import socket
import threading
import time
import typing as t
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from nexsis_openapi import NEXSIS_BASE_PATH
from nexsis_openapi.moodle import WS_PATH

__all__ = ["MockServer", "nexsis_mock", "nexsis_mock_server"]

NEXSIS_PATH = NEXSIS_BASE_PATH


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("nexsis_mock", "the nexsis mock fixture")
    group.addoption("--nexsis-mock-fixtures", nargs="+", default=None, metavar="FILE",
                    help="fixture files the nexsis_mock fixture loads instead of the default fixtures")
    parser.addini("nexsis_mock_fixtures", "fixture files of the nexsis_mock fixture", type="paths",
                  default=[])


class MockServer:
    """A started mock: where it is, its tokens, and its admin API as methods."""

    nexsis_path = NEXSIS_PATH
    ws_path = WS_PATH

    def __init__(self, url: str) -> None:
        self.url = url
        self.admin = httpx.Client(base_url=url + "/__admin", timeout=30)
        #: The domain's token listing: ``{"nexsis": [...], "moodle-ws": {token: {user, ...}}}``.
        self.tokens: dict[str, t.Any] = self._json(self.admin.get("/tokens"))
        self.nexsis_token: str = self.tokens["nexsis"][0]
        ws = self.tokens["moodle-ws"]
        #: A web-service token with every capability and function (the first such, else the first).
        self.ws_token: str = next((tok for tok, info in ws.items()
                                   if info.get("capabilities") == "all" and info.get("functions") == "all"),
                                  next(iter(ws)))

    @property
    def nexsis_url(self) -> str:
        return self.url + NEXSIS_PATH

    @property
    def ws_url(self) -> str:
        return self.url + WS_PATH

    @staticmethod
    def _json(response: httpx.Response) -> t.Any:
        if response.status_code >= 400:
            raise AssertionError(f"the mock's admin API refused {response.request.method} "
                                 f"{response.request.url.path}: {response.status_code} {response.text}")
        return response.json()

    def reset(self, *, keep_journal: bool = False, keep_faults: bool = False) -> None:
        """State back to the fixtures; the journal and fault rules emptied unless kept."""
        self._json(self.admin.post("/reset", params={"keep_journal": str(keep_journal).lower(),
                                                     "keep_faults": str(keep_faults).lower()}))

    def fault(self, **rule: t.Any) -> dict[str, t.Any]:
        """Add a fault rule (mock/README.md, "Admin API"); answers the rule with its ``id``."""
        return t.cast(dict[str, t.Any], self._json(self.admin.post("/faults", json=rule)))

    def journal(self, **where: t.Any) -> list[dict[str, t.Any]]:
        """The journal's entries matching the filter (``method``, ``path``, ``operation``, ``body``...)."""
        return t.cast(list[dict[str, t.Any]],
                      self._json(self.admin.post("/requests/find", json=where))["requests"])

    def count(self, **where: t.Any) -> int:
        """How many journal entries match the filter (WireMock's verify)."""
        return int(self._json(self.admin.post("/requests/count", json=where))["count"])

    def close(self) -> None:
        self.admin.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _fixture_files(config: pytest.Config) -> list[Path] | None:
    given = config.getoption("--nexsis-mock-fixtures") or config.getini("nexsis_mock_fixtures")
    return [Path(p) for p in given] if given else None


@pytest.fixture(scope="session")
def nexsis_mock_server(pytestconfig: pytest.Config) -> Iterator[MockServer]:
    """The session's mock, started once (use ``nexsis_mock`` for a clean one per test)."""
    import uvicorn

    from .app import create_app
    from .serving import uvicorn_options

    port = _free_port()
    app = create_app(fixtures=_fixture_files(pytestconfig))
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                            lifespan="off", **uvicorn_options())
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="nexsis-mock", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the nexsis mock did not start")
        time.sleep(0.02)
    mock = MockServer(f"http://127.0.0.1:{port}")
    try:
        yield mock
    finally:
        mock.close()
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def nexsis_mock(nexsis_mock_server: MockServer) -> MockServer:
    """A started mock, reset for this test: fixtures' state, empty journal, no fault rules."""
    nexsis_mock_server.reset()
    return nexsis_mock_server
