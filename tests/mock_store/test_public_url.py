"""``nexsis mock --public-url URL``: checked at start, handed to the app factory as ``public_url``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nexsis_mock.app import ENV_PREFIX, create_app, factory

NEXSIS = Path(sys.executable).with_name("nexsis")


@pytest.mark.parametrize("bad", ["mock.local:8080", "ftp://mock.local", "http://", "http://h:99999",
                                 "http://h/?q=1", "http://h/#x"])
def test_a_public_url_that_is_not_an_absolute_http_url_is_a_usage_error(bad: str) -> None:
    result = subprocess.run([str(NEXSIS), "mock", "--public-url", bad, "--port", "1"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2, result.stderr
    assert "--public-url" in result.stderr and "Traceback" not in result.stderr


def test_the_app_keeps_the_public_url_without_its_trailing_slash() -> None:
    app = create_app(public_url="https://mock.example:8443/base/", swagger_ui=False)
    assert app.public_url == "https://mock.example:8443/base"
    assert create_app(swagger_ui=False).public_url is None


def test_workers_get_the_public_url_through_the_factory_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_PREFIX + "PUBLIC_URL", "http://10.0.0.5:9000")
    assert factory().public_url == "http://10.0.0.5:9000"
