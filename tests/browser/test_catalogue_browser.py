"""The catalogue in a real browser, served by `kurasi run` against the fake Bot API: in four
languages at a laptop's and a phone's width, a buyer pages through, searches, opens a
detail page and sends an inquiry, which reaches the buyers' desk chat on (fake) Telegram."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from db.engine import make_sessionmaker
from db.media_store import MediaStore
from tests.bot.processes import BotProcess, free_port, wait_until, write_config
from tests.catalogue_data import approved_products
from tests.fakes.telegram import FakeTelegram

DESK = -100_5151
PRODUCTS = 30
NAMES = [f"Keripik Tempe {i}" if i % 3 == 0 else f"Batik Tulis {i}" for i in range(PRODUCTS)]
WORDS = {  # what each language's page says, to know it is that language
    "id": ("Produk kurasi Jawa Timur", "Berikutnya", "Kirim"),
    "en": ("Curated products of East Java", "Next", "Send inquiry"),
    "ja": ("東ジャワの厳選商品", "次へ", "送信する"),
    "zh-Hans": ("东爪哇精选产品", "下一页", "发送询价"),
}
THANKS = {
    "id": "Terima kasih",
    "en": "Thank you",
    "ja": "ありがとうございます",
    "zh-Hans": "谢谢",
}


@dataclass
class Served:
    base: str
    fake: FakeTelegram
    database_url: str
    media: Path
    site: Path


@pytest.fixture(scope="module")
async def served(
    engine: AsyncEngine, database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Served]:
    tmp = tmp_path_factory.mktemp("catalogue-browser")
    sessionmaker = make_sessionmaker(engine)  # the session's migrated database
    store = MediaStore(tmp / "media")
    async with sessionmaker() as session, session.begin():
        from db.base import Base

        for table in reversed(Base.metadata.sorted_tables):
            await session.execute(table.delete())
        await approved_products(session, store, PRODUCTS, names=NAMES)
    port = free_port()
    async with FakeTelegram() as fake:
        config = write_config(
            tmp / "config.toml",
            {
                "database": {"url": database_url},
                "telegram": {"token": fake.token, "api_base": fake.base_url},
                "http": {"port": port},
                "media": {"dir": str(tmp / "media")},
                "reminders": {"tick": "1s"},
                "catalogue": {
                    "enabled": True,
                    "per_page": 8,
                    "inquiry_chat_id": str(DESK),
                    "inquiries_per_hour": 100,
                    "site_dir": str(tmp / "site"),  # kept up to date by the tick
                },
            },
        )
        bot = BotProcess(config, tmp / "bot.log")
        await bot.start()
        base = f"http://127.0.0.1:{port}"

        async def up() -> bool:
            try:
                async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as r:
                    return r.status == 200
            except aiohttp.ClientError:
                return False

        try:
            await wait_until(up, within=60)
            yield Served(base, fake, database_url, tmp / "media", tmp / "site")
        finally:
            await bot.terminate()


def _navigate(window: Any, act: Any) -> None:
    """Do `act` (a click, an Enter) and wait until the next page has replaced this one.

    The old page is marked in its own JavaScript world and the wait is for a complete
    document without the mark, so chromedriver's checks of nodes of the page being left
    (which can fail with "does not belong to the document" as the navigation wins the
    race) are never asked."""
    from selenium.common.exceptions import StaleElementReferenceException, WebDriverException
    from selenium.webdriver.support.ui import WebDriverWait

    window.execute_script("window.__kurasiLeft = true")
    try:
        act()
    except WebDriverException as exc:
        gone = isinstance(exc, StaleElementReferenceException)
        if not gone and "does not belong to the document" not in str(exc):
            raise

    def arrived(driver: Any) -> bool:
        try:
            return bool(
                driver.execute_script(
                    "return !window.__kurasiLeft && document.readyState === 'complete'"
                )
            )
        except WebDriverException:  # between two documents
            return False

    WebDriverWait(window, 15).until(arrived)


def _no_overflow(window: Any) -> None:
    width = window.execute_script("return document.documentElement.scrollWidth")
    inner = window.execute_script("return window.innerWidth")
    assert width <= inner, (width, inner)


@pytest.mark.parametrize("lang", ["id", "en", "ja", "zh-Hans"])
async def test_a_buyer_pages_searches_opens_a_product_and_sends_an_inquiry(
    window: Any, served: Served, lang: str
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    title, next_label, send_label = WORDS[lang]
    buyer = f"Buyer {lang} {window.get_window_size()['width']}"

    def browse() -> str:
        window.get(f"{served.base}/katalog?lang={lang}")
        assert title in window.find_element(By.TAG_NAME, "h1").text
        assert window.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
        assert window.find_element(By.ID, "count").get_attribute("data-total") == str(PRODUCTS)
        first = [
            c.get_attribute("data-product")
            for c in window.find_elements(By.CSS_SELECTOR, "li.card")
        ]
        assert len(first) == 8
        _no_overflow(window)
        # Page through to the end: every product once.
        seen = list(first)
        while True:
            links = window.find_elements(By.CSS_SELECTOR, "nav.pager a[rel=next]")
            if not links:
                break
            assert next_label in links[0].text
            _navigate(window, links[0].click)
            seen += [
                c.get_attribute("data-product")
                for c in window.find_elements(By.CSS_SELECTOR, "li.card")
            ]
        assert len(seen) == PRODUCTS == len(set(seen))
        # Search by two words in another order and case.
        box = window.find_element(By.CSS_SELECTOR, "input[type=search]")
        box.clear()
        box.send_keys("TEMPE keripik")
        _navigate(window, lambda: box.send_keys(Keys.ENTER))
        found = window.find_elements(By.CSS_SELECTOR, "li.card h2 a")
        assert found and all("Keripik Tempe" in a.text for a in found)
        assert window.find_element(By.ID, "count").get_attribute("data-total") == str(PRODUCTS // 3)
        assert window.find_element(By.TAG_NAME, "html").get_attribute("lang") == lang
        # Open a product, check its page, send an inquiry.
        _navigate(window, found[0].click)
        assert window.find_elements(By.CSS_SELECTOR, "main.detail")
        assert window.find_elements(By.CSS_SELECTOR, ".gallery img")
        _no_overflow(window)
        window.find_element(By.NAME, "name").send_keys(buyer)
        window.find_element(By.NAME, "company").send_keys("Trading Co.")
        window.find_element(By.NAME, "country").send_keys("Japan")
        window.find_element(By.NAME, "email").send_keys("buyer@example.com")
        window.find_element(By.NAME, "quantity").send_keys("500")
        window.find_element(By.NAME, "message").send_keys("Please send <b>prices</b>.")
        button = window.find_element(By.CSS_SELECTOR, ".inquiry button[type=submit]")
        assert send_label in button.text
        _navigate(window, button.click)
        result = window.find_element(By.ID, "result").text
        assert THANKS[lang] in result, result
        return result

    await asyncio.to_thread(browse)
    calls = await served.fake.wait_for(
        lambda c: c.method == "sendMessage" and buyer in (c.text or ""), timeout=30, chat_id=DESK
    )
    text = calls[-1].text or ""
    assert "buyer@example.com" in text and "<b>" not in text and "Keripik Tempe" in text


async def test_the_static_folder_opens_from_disk(window: Any, served: Served) -> None:
    """The folder `kurasi run` keeps (catalogue.site_dir), opened as file://: relative links
    and photos work without a host."""
    from selenium.webdriver.common.by import By

    out = served.site

    async def built() -> bool:
        return (out / "catalogue.json").is_file()

    await wait_until(built, within=60)

    def browse() -> None:
        window.get((out / "index.html").as_uri())
        _navigate(window, window.find_element(By.CSS_SELECTOR, "a[hreflang=ja]").click)
        assert window.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
        assert "30 件の商品" in window.find_element(By.ID, "count").text
        _navigate(window, window.find_element(By.CSS_SELECTOR, "nav.pager a[rel=next]").click)
        cards = window.find_elements(By.CSS_SELECTOR, "li.card")
        assert len(cards) == 8
        _navigate(window, cards[0].find_element(By.CSS_SELECTOR, "h2 a").click)
        img = window.find_element(By.CSS_SELECTOR, ".gallery img")
        assert window.execute_script("return arguments[0].naturalWidth", img) > 0
        assert window.find_element(By.TAG_NAME, "html").get_attribute("lang") == "ja"
        _navigate(window, window.find_element(By.CSS_SELECTOR, "a[hreflang=en]").click)
        assert window.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
        _no_overflow(window)

    await asyncio.to_thread(browse)
