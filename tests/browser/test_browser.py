"""The browser fixture itself: a page served on 127.0.0.1 renders and its script runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

PAGE = b"<!doctype html><title>t</title><p id=p>static</p><script>p.textContent='ran'</script>"


class _Page(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def served() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()


def test_the_browser_renders_a_local_page(window: Any, served: str) -> None:
    from selenium.webdriver.common.by import By

    window.get(served)
    assert window.find_element(By.ID, "p").text == "ran"
    assert window.execute_script("return window.innerWidth") <= window.get_window_size()["width"]
