"""`kurasi run` as its own process with only WhatsApp configured: it serves the webhook, answers
through the fake Graph API, stops cleanly on SIGTERM, and never logs a WhatsApp secret."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fakes.whatsapp import FakeWhatsApp

WA = "6281234567890"
VERIFY = "verify-token-for-the-process-test"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp(app_secret="process-app-secret-9f3a") as server:
        yield server


async def test_kurasi_run_serves_whatsapp_and_keeps_secrets_out_of_the_log(
    fake: FakeWhatsApp, database_url: str, sessionmaker: Any, tmp_path: Path
) -> None:
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[database]
url = "{database_url}"
[whatsapp]
phone_number_id = "{fake.phone_number_id}"
token = "{fake.token}"
app_secret = "{fake.app_secret}"
verify_token = "{VERIFY}"
graph_api_base = "{fake.base_url}"
[http]
port = {port}
[media]
dir = "{tmp_path / "media"}"
[log]
level = "DEBUG"
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KURASI_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient() as http:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 90  # a busy 2-core machine starts Python slowly
            while loop.time() < deadline and process.returncode is None:
                try:
                    if (await http.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
            challenge = await http.get(
                f"{base}/whatsapp/webhook",
                params={"hub.mode": "subscribe", "hub.challenge": "42", "hub.verify_token": VERIFY},
            )
            assert challenge.text == "42"
        status = await fake.post(f"{base}/whatsapp/webhook", fake.webhook(WA, fake.text("/start")))
        assert status == 200
        [welcome] = await fake.wait_for(1, to=WA, timeout=20)
        assert "Pilih bahasa" in welcome.text
        # A reply the fake refuses (a network-level error) is logged without secrets too.
        fake.fail_next(131000)
        await fake.post(f"{base}/whatsapp/webhook", fake.webhook(WA, fake.text("halo")))
        await asyncio.sleep(1.0)
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    log = (out + err).decode(errors="replace")
    assert process.returncode == 0, log[-3000:]
    assert "whatsapp only" in log
    for secret in (fake.token, fake.app_secret, VERIFY):
        assert secret not in log


async def test_debug_logging_keeps_phone_numbers_and_bodies_out_and_metrics_closed(
    fake: FakeWhatsApp, database_url: str, sessionmaker: Any, tmp_path: Path
) -> None:
    """`log.level = "DEBUG"`: a library's debug lines (pywa logs every request and webhook
    whole) never reach the log with the number or the words; and /metrics behind any
    forwarding header wants the token, as a proxy's request does."""
    port = free_port()
    config = tmp_path / "config.toml"
    config.write_text(
        f"""
[database]
url = "{database_url}"
[whatsapp]
phone_number_id = "{fake.phone_number_id}"
token = "{fake.token}"
app_secret = "{fake.app_secret}"
verify_token = "{VERIFY}"
graph_api_base = "{fake.base_url}"
[http]
port = {port}
metrics_token = "metrics-token-for-the-process-test"
[media]
dir = "{tmp_path / "media"}"
[log]
level = "DEBUG"
""",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("KURASI_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    body = "Keripik tempe Bu Tini enak sekali"
    statuses: dict[str, int] = {}
    try:
        async with httpx.AsyncClient() as http:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 90
            while loop.time() < deadline and process.returncode is None:
                try:
                    if (await http.get(f"{base}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.2)
            await fake.post(f"{base}/whatsapp/webhook", fake.webhook(WA, fake.text("/start")))
            await fake.wait_for(1, to=WA, timeout=20)
            await fake.post(f"{base}/whatsapp/webhook", fake.webhook(WA, fake.text(body)))
            await fake.wait_for(2, to=WA, timeout=20)
            statuses["direct"] = (await http.get(f"{base}/metrics")).status_code
            for header, value in (
                ("X-Real-IP", "203.0.113.9"),
                ("X-Forwarded-For", "203.0.113.9"),
                ("Forwarded", "for=203.0.113.9"),
                ("X-Forwarded-Host", "kurasi.example"),
                ("X-Forwarded-Proto", "https"),
                ("X-Client-IP", "203.0.113.9"),
            ):
                answer = await http.get(f"{base}/metrics", headers={header: value})
                statuses[header] = answer.status_code
            bearer = {
                "X-Real-IP": "203.0.113.9",
                "Authorization": "Bearer metrics-token-for-the-process-test",
            }
            statuses["X-Real-IP with the token"] = (
                await http.get(f"{base}/metrics", headers=bearer)
            ).status_code
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        out, err = await asyncio.wait_for(process.communicate(), timeout=30)
    log = (out + err).decode(errors="replace")
    assert process.returncode == 0, log[-3000:]
    assert statuses == {
        "direct": 200,
        "X-Real-IP": 404,
        "X-Forwarded-For": 404,
        "Forwarded": 404,
        "X-Forwarded-Host": 404,
        "X-Forwarded-Proto": 404,
        "X-Client-IP": 404,
        "X-Real-IP with the token": 200,
    }
    leaks = [line for line in log.splitlines() if WA in line or "Keripik" in line or "Tini" in line]
    assert not leaks, "\n".join(leaks[:5])[:3000]
