"""A real browser for page tests: Debian's chromium driven by Selenium through chromium-driver.

Locally, without the two binaries, every test that asks for `browser` is skipped; with CI=true
they are required (`.ci/run` installs them), so a missing browser fails instead of hiding.
Nothing is downloaded: the driver path is given, so Selenium Manager never runs.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = ("/usr/bin/chromium", "chromium")
DRIVER = ("/usr/bin/chromedriver", "chromedriver")
LAPTOP = (1280, 900)
PHONE = (390, 844)


def _find(candidates: tuple[str, ...]) -> str | None:
    for name in candidates:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless chromium for the session; tests set the window size they need."""
    chromium, driver = _find(CHROMIUM), _find(DRIVER)
    if chromium is None or driver is None:
        missing = "no chromium/chromedriver: apt-get install chromium chromium-driver"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI needs a browser; {missing}")
        pytest.skip(missing)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="kurasi-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
    ):
        options.add_argument(flag)
    drv = webdriver.Chrome(service=Service(executable_path=driver), options=options)
    drv.set_page_load_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(params=[LAPTOP, PHONE], ids=["1280px", "390px"])
def window(request: pytest.FixtureRequest, browser: Any) -> Any:
    """The browser at a laptop's and at a phone's width (each test runs at both)."""
    width, height = request.param
    browser.set_window_size(width, height)
    return browser
