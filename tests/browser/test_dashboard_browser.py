"""The admins' dashboard in a real browser (issue 24), at a laptop's and a phone's width:
login by link, every page in both languages without sideways scrolling and with its charts
loaded, a filter that changes the numbers, an export that downloads; a forged, an expired and
a reused link refused.

The dashboard is served on 127.0.0.1 by an aiohttp runner on its own event loop in a thread
(the browser is driven synchronously), over tests/world.py in an SQLite file.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.dashboard import Dashboard
from db.dashboard import issue_link
from db.engine import make_engine, make_sessionmaker
from db.media_store import MediaStore
from db.migrate import upgrade
from db.models import User
from handlers.kit.context import FlowSettings
from tests.support import FakeClock
from tests.world import NOW, build_world

ADMIN = "9001"
PAGES = ("/dasbor", "/dasbor/klaster", "/dasbor/kurator", "/dasbor/ekspor")


@dataclass
class Served:
    base: str
    loop: asyncio.AbstractEventLoop
    sessionmaker: Any
    admin_id: int
    clock: FakeClock

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(60)

    def link(self, *, minutes_ago: float = 0) -> str:
        async def make() -> str:
            async with self.sessionmaker() as session, session.begin():
                return await issue_link(
                    session,
                    user_id=self.admin_id,
                    now=self.clock.now - timedelta(minutes=minutes_ago),
                    ttl=timedelta(minutes=10),
                )

        return f"{self.base}/dasbor/masuk?t={self.run(make())}"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("dasbor")
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    clock = FakeClock(NOW)
    settings = FlowSettings(review_channel="test", admin_ids=frozenset({ADMIN}))

    async def start() -> tuple[Any, Any, web.AppRunner, int, int]:
        engine = make_engine(f"sqlite+aiosqlite:///{tmp / 'dasbor.db'}")
        await upgrade(engine)
        sessionmaker = make_sessionmaker(engine)
        await build_world(sessionmaker, MediaStore(tmp / "media"))
        async with sessionmaker() as session, session.begin():
            admin = User(channel="test", external_id=ADMIN, language="id", reminder_optouts=[])
            session.add(admin)
            await session.flush()
            admin_id = admin.id
        app = web.Application()
        Dashboard(sessionmaker, settings, clock=clock).register(app)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        return engine, sessionmaker, runner, port, admin_id

    engine, sessionmaker, runner, port, admin_id = asyncio.run_coroutine_threadsafe(
        start(), loop
    ).result(120)
    try:
        yield Served(f"http://127.0.0.1:{port}", loop, sessionmaker, admin_id, clock)
    finally:

        async def stop() -> None:
            await runner.cleanup()
            await engine.dispose()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)


def sign_in(window: Any, served: Served) -> None:
    from selenium.webdriver.common.by import By

    window.delete_all_cookies()
    window.get(served.link())
    window.find_element(By.ID, "sign-in").click()
    wait_for(lambda: window.current_url.startswith(f"{served.base}/dasbor?"))


def wait_for(ok: Any, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while not ok():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


def test_login_by_link_and_every_page_in_both_languages(window: Any, served: Served) -> None:
    from selenium.webdriver.common.by import By

    sign_in(window, served)
    for lang, overview in (("id", "Ringkasan"), ("en", "Overview")):
        for path in PAGES:
            window.get(f"{served.base}{path}?lang={lang}")
            assert window.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
            assert window.find_element(By.ID, "nav-overview").text == overview
            # Readable at this width: nothing wider than the window (tables scroll inside).
            wide = window.execute_script(
                "return document.documentElement.scrollWidth - window.innerWidth"
            )
            assert wide <= 1, (path, lang, wide)
            for image in window.find_elements(By.CSS_SELECTOR, "img.chart"):
                wait_for(
                    lambda image=image: window.execute_script(
                        "return arguments[0].complete && arguments[0].naturalWidth > 0", image
                    )
                )
    window.get(f"{served.base}/dasbor/klaster?lang=id")
    rows = window.find_elements(By.CSS_SELECTOR, "#matrix tbody tr")
    assert len(rows) == 38


def test_a_filter_changes_the_numbers(window: Any, served: Served) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    sign_in(window, served)
    window.get(f"{served.base}/dasbor?lang=en")
    assert window.find_element(By.ID, "t-producers").text == "7"
    Select(window.find_element(By.ID, "f-sector")).select_by_value("fashion")
    window.find_element(By.ID, "f-show").click()
    wait_for(lambda: "sektor=fashion" in window.current_url)
    assert window.find_element(By.ID, "t-producers").text == "2"
    assert window.find_element(By.ID, "t-waiting").text == "1"


def test_an_export_downloads(browser: Any, served: Served, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    browser.set_window_size(1280, 900)
    sign_in(browser, served)
    browser.execute_cdp_cmd(
        "Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)}
    )
    browser.get(f"{served.base}/dasbor/ekspor?lang=en")
    Select(browser.find_element(By.ID, "e-what")).select_by_value("products")
    Select(browser.find_element(By.ID, "e-sector")).select_by_value("fashion")
    browser.find_element(By.ID, "e-download").click()
    wait_for(lambda: any(p.suffix == ".xlsx" for p in tmp_path.iterdir()), 30)
    [done] = [p for p in tmp_path.iterdir() if p.suffix == ".xlsx"]
    from openpyxl import load_workbook

    sheet = load_workbook(done, read_only=True).active
    assert len(list(sheet.iter_rows(values_only=True))) == 1 + 2


def test_forged_expired_and_reused_links_are_refused(browser: Any, served: Served) -> None:
    from selenium.webdriver.common.by import By

    browser.set_window_size(390, 844)
    browser.delete_all_cookies()
    browser.get(f"{served.base}/dasbor/masuk?t=forged-secret")
    assert browser.find_element(By.TAG_NAME, "h1").text == "403 Forbidden"
    browser.get(served.link(minutes_ago=11))  # valid for 10 minutes
    assert browser.find_element(By.TAG_NAME, "h1").text == "403 Forbidden"
    link = served.link()
    browser.get(link)
    browser.find_element(By.ID, "sign-in").click()
    wait_for(lambda: "/dasbor?" in browser.current_url)
    browser.delete_all_cookies()
    browser.get(link)  # used once already
    assert browser.find_element(By.TAG_NAME, "h1").text == "403 Forbidden"
    browser.get(f"{served.base}/dasbor")
    assert browser.find_element(By.TAG_NAME, "h1").text == "403 Forbidden"
