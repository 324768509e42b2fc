"""A real headless browser (Debian's chromium, driven by chromedriver through selenium) on a served mock.

.ci/run installs ``chromium`` and ``chromium-driver`` with apt-get; without them these tests are
skipped with that reason, never passed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from mock_server.conftest import Server

CHROMIUM = Path("/usr/bin/chromium")
DRIVER = Path(shutil.which("chromedriver") or "/usr/bin/chromedriver")
SHOTS = Path(__file__).resolve().parents[2] / ".ui-screenshots"


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists() or not DRIVER.exists():
        pytest.skip("needs Debian's chromium: apt-get install -y chromium chromium-driver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service as DriverService

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1400,2200"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=DriverService(str(DRIVER)), options=options)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="session")
def ui_server() -> Iterator[Server]:
    with Server() as server:
        yield server
