"""The fake Graph API itself: it accepts what Meta accepts and refuses what Meta refuses.

Driven through pywa's real async client (as the bot uses it), plus raw HTTP for bodies pywa
would never build.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pywa.errors import (
    MessageUndeliverable,
    RateLimitHit,
    ReEngagementMessage,
    UnsupportedMessageType,
    WhatsAppError,
)
from pywa_async import WhatsApp
from pywa_async.types import Button, Section, SectionList, SectionRow

from bot.channels.whatsapp import make_client
from tests.fakes.whatsapp import FakeWhatsApp, recorded

TO = "6281234567890"


@pytest.fixture
async def fake() -> AsyncIterator[FakeWhatsApp]:
    async with FakeWhatsApp() as server:
        yield server


@pytest.fixture
async def wa(fake: FakeWhatsApp) -> AsyncIterator[WhatsApp]:
    client, session = make_client(
        phone_number_id=fake.phone_number_id,
        token=fake.token,
        api_version="23.0",
        graph_api_base=fake.base_url,
    )
    yield client
    await session.aclose()


async def raw(fake: FakeWhatsApp, body: dict[str, Any], token: str | None = None) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{fake.base_url}/v23.0/{fake.phone_number_id}/messages",
            json=body,
            headers={"Authorization": f"Bearer {token or fake.token}"},
        )


def buttons(n: int, title: str = "Pilihan") -> list[Button]:
    return [Button(title=f"{title} {i}"[:20], callback_data=f"b:{i}") for i in range(n)]


async def test_text_buttons_and_list_within_limits_are_accepted(
    fake: FakeWhatsApp, wa: WhatsApp
) -> None:
    sent = await wa.send_message(to=TO, text="Halo")
    await wa.send_message(to=TO, text="Pilih bahasa", buttons=buttons(3))
    rows = [SectionRow(title=f"Kabupaten {i}", callback_data=f"r:{i}") for i in range(10)]
    await wa.send_message(
        to=TO,
        text="Pilih sektor",
        buttons=SectionList(button_title="Pilih", sections=[Section(title="Sektor", rows=rows)]),
    )
    calls = fake.messages(TO)
    assert [c.type for c in calls] == ["text", "interactive", "interactive"]
    assert sent.id == calls[0].message_id
    assert calls[1].buttons[0] == ("Pilihan 0", "b:0")
    assert len(calls[2].buttons) == 10


@pytest.mark.parametrize(
    ("build", "why"),
    [
        (lambda: {"text": "x" * 1025, "buttons": buttons(2)}, "schema"),  # maxLength 1024
        (lambda: {"text": "Pilih", "buttons": buttons(4)}, "schema"),  # maxItems 3
        (lambda: {"text": "Pilih", "buttons": buttons(2, "Sama")[:1] * 2}, "unique"),
        (
            lambda: {
                "text": "Pilih",
                "buttons": [Button(title="x" * 21, callback_data="a")],
            },
            "schema",
        ),
        (
            lambda: {
                "text": "Pilih",
                "buttons": SectionList(
                    button_title="Pilih",
                    sections=[
                        Section(
                            title=f"S{s}",
                            rows=[
                                SectionRow(title=f"R{s}{i}", callback_data=f"{s}{i}")
                                for i in range(6)
                            ],
                        )
                        for s in range(2)
                    ],
                ),
            },
            "list rows",
        ),
        (
            lambda: {
                "text": "Pilih",
                "buttons": SectionList(
                    button_title="Pilih kabupaten/kota Anda",
                    sections=[Section(title="S", rows=[SectionRow(title="A", callback_data="a")])],
                ),
            },
            "schema",
        ),
        (
            lambda: {
                "text": "Pilih",
                "buttons": SectionList(
                    button_title="Pilih",
                    sections=[
                        Section(
                            title="S",
                            rows=[SectionRow(title="A", callback_data="a", description="d" * 73)],
                        )
                    ],
                ),
            },
            "schema",
        ),
        (lambda: {"text": "y" * 4097}, "text body"),
    ],
)
async def test_messages_breaking_whatsapp_limits_are_refused(
    fake: FakeWhatsApp, wa: WhatsApp, build: Any, why: str
) -> None:
    with pytest.raises(WhatsAppError) as refused:
        await wa.send_message(to=TO, **build())
    assert refused.value.code == 100
    assert not fake.messages(TO)
    failed = fake.messages(TO, include_failed=True)
    assert len(failed) == 1 and why in failed[0].error.details  # type: ignore[union-attr]


async def test_bodies_outside_metas_schema_are_refused(fake: FakeWhatsApp) -> None:
    no_recipient = {"messaging_product": "whatsapp", "type": "text", "text": {"body": "hi"}}
    assert (await raw(fake, no_recipient)).status_code == 400
    unknown_field = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"body": "hi", "bold": True},
    }
    answer = await raw(fake, unknown_field)
    assert answer.status_code == 400 and answer.json()["error"]["code"] == 100
    good = {**unknown_field, "text": {"body": "hi"}}
    assert (await raw(fake, good, token="wrong")).status_code == 401
    assert (await raw(fake, good)).status_code == 200


@pytest.mark.parametrize(
    ("code", "error"),
    [
        (130429, RateLimitHit),
        (131047, ReEngagementMessage),
        (131026, MessageUndeliverable),
        (131051, UnsupportedMessageType),
    ],
)
async def test_injected_errors_reach_pywa_as_its_typed_errors(
    fake: FakeWhatsApp, wa: WhatsApp, code: int, error: type[Exception]
) -> None:
    fake.fail_next(code, to=TO)
    with pytest.raises(error):
        await wa.send_message(to=TO, text="Halo")
    await wa.send_message(to=TO, text="Halo lagi")  # only the next one failed
    assert [c.text for c in fake.messages(TO)] == ["Halo lagi"]


async def test_window_enforced_for_free_form_but_not_templates(fake: FakeWhatsApp) -> None:
    now = [1_800_000_000.0]
    fake.clock = lambda: now[0]
    fake.enforce_window = True
    fake.webhook(TO, fake.text("halo"))  # they wrote: the window opens
    message = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": TO,
        "type": "text",
        "text": {"body": "hi"},
    }
    assert (await raw(fake, message)).status_code == 200
    now[0] += 25 * 3600
    refused = await raw(fake, message)
    assert refused.json()["error"]["code"] == 131047
    template = {
        **{k: v for k, v in message.items() if k != "text"},
        "type": "template",
        "template": {
            "name": "kurasi_revisi",
            "language": {"code": "id", "policy": "deterministic"},
        },
    }
    assert (await raw(fake, template)).status_code == 200


async def test_upload_send_by_id_and_download_round_trip(fake: FakeWhatsApp, wa: WhatsApp) -> None:
    data = b"\xff\xd8\xff fake jpeg bytes"
    media = await wa.upload_media(media=data, mime_type="image/jpeg", filename="p.jpg")
    await wa.send_image(to=TO, image=media.id, caption="Foto produk")
    assert fake.messages(TO)[0].body["image"] == {"id": media.id, "caption": "Foto produk"}
    url = await wa.get_media_url(media.id)
    assert await wa.get_media_bytes(url.url) == data
    # A media id the fake never issued is refused, as Meta does.
    with pytest.raises(WhatsAppError):
        await wa.send_image(to=TO, image="123456789")


async def test_mark_as_read_is_recorded(fake: FakeWhatsApp, wa: WhatsApp) -> None:
    await wa.mark_message_as_read("wamid.in00000001")
    assert [c.kind for c in fake.calls] == ["read"]
    assert fake.calls[0].body["message_id"] == "wamid.in00000001"


def test_webhooks_are_signed_with_the_app_secret(fake: FakeWhatsApp) -> None:
    body = json.dumps(fake.webhook(TO, fake.text("halo"))).encode()
    expected = hmac.new(fake.app_secret.encode(), body, hashlib.sha256).hexdigest()
    assert fake.sign(body) == f"sha256={expected}"


def test_recorded_payloads_have_meta_shape() -> None:
    for name in ("text", "image", "button_reply", "list_reply", "status_delivered", "voice"):
        payload = recorded(name)
        assert payload["object"] == "whatsapp_business_account"
        value = payload["entry"][0]["changes"][0]["value"]
        assert value["metadata"]["phone_number_id"]
        assert value.get("messages") or value.get("statuses")
