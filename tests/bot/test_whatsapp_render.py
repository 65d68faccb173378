"""WhatsApp rendering and parsing, without a network: what a reply becomes, what a webhook says."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.channels.whatsapp import (
    incoming,
    parse_webhook,
    render,
    split_text,
)
from handlers.kit.capabilities import WHATSAPP
from handlers.kit.events import Button as B
from handlers.kit.events import (
    ButtonPress,
    Command,
    Contact,
    Document,
    ListMenu,
    ListRow,
    Photo,
    Reply,
    Text,
    Unsupported,
)
from handlers.kit.render import fit, shorten
from tests.fakes.whatsapp import FakeWhatsApp, GraphError, recorded

WA = "6281234567890"


def choices(n: int, label: str = "Pilihan") -> tuple[tuple[B, ...], ...]:
    return tuple((B(f"{label} {i}", f"p:{i}"),) for i in range(1, n + 1))


def bodies(reply: Reply) -> list[dict]:
    """The Graph API bodies the channel would send (as pywa builds them), checked by the fake."""
    fake = FakeWhatsApp()
    out = []
    for item in render(reply):
        if item.buttons:
            action = {
                "buttons": [
                    {"type": "reply", "reply": {"id": p, "title": t}} for t, p in item.buttons
                ]
            }
            body = {
                "type": "interactive",
                "interactive": {"type": "button", "body": {"text": item.text}, "action": action},
            }
        elif item.rows:
            rows = [
                {"id": p, "title": t, **({"description": d} if d else {})} for t, p, d in item.rows
            ]
            action = {
                "button": item.list_button,
                "sections": [{"title": item.list_button, "rows": rows}],
            }
            body = {
                "type": "interactive",
                "interactive": {"type": "list", "body": {"text": item.text}, "action": action},
            }
        else:
            body = {"type": "text", "text": {"body": item.text}}
        body = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": WA, **body}
        fake.check_message(body)
        out.append(body)
    return out


def test_up_to_three_choices_are_reply_buttons() -> None:
    [item] = render(Reply("Pilih bahasa", buttons=choices(3)))
    assert item.buttons == (("Pilihan 1", "p:1"), ("Pilihan 2", "p:2"), ("Pilihan 3", "p:3"))
    assert not item.rows


@pytest.mark.parametrize("n", [4, 7, 10])
def test_four_to_ten_choices_are_a_list(n: int) -> None:
    [item] = render(Reply("Pilih sektor", buttons=choices(n)))
    assert len(item.rows) == n and not item.buttons
    bodies(Reply("Pilih sektor", buttons=choices(n)))


def test_a_choice_offered_twice_shows_once() -> None:
    # The business's own sector first with a star, then again in the full list.
    buttons = ((B("⭐ Makanan", "s:food"),), (B("Makanan", "s:food"),), *choices(3))
    [item] = render(Reply("Sektor?", buttons=buttons))
    assert [p for _t, p, _d in item.rows] == ["s:food", "p:1", "p:2", "p:3"]
    assert item.rows[0][0] == "⭐ Makanan"


def test_more_than_ten_choices_are_numbered_text() -> None:
    reply = Reply("Pilih kabupaten", buttons=choices(38, "Kabupaten"))
    [item] = render(reply)
    assert not item.buttons and not item.rows
    assert "1. Kabupaten 1" in item.text and "38. Kabupaten 38" in item.text
    # The payloads ride on the fitted reply, for the conversation to remember.
    assert fit(WHATSAPP, lambda m, **v: m, reply).numbered[37].payload == "p:38"


def test_a_fitted_list_is_sent_as_it_is_not_fitted_again() -> None:
    """render.fit decides (Context.reply fits every reply); the channel only maps it."""
    rows = tuple(ListRow(f"p:{i}", f"Baris {i}", f"Keterangan {i}") for i in range(1, 6))
    reply = Reply("Menu:", menu=ListMenu("Pilih", rows))
    [item] = render(reply)
    assert item.list_button == "Pilih"
    assert item.rows == tuple((r.title, r.payload, r.description) for r in rows)
    assert fit(WHATSAPP, lambda m, **v: m, reply) == reply  # fitting twice changes nothing
    bodies(reply)


def test_long_titles_shorten_at_words_and_stay_unique() -> None:
    labels = ["✏️ Ubah nama usaha Anda", "✏️ Ubah nama pemilik usaha", "Lanjut"]
    reply = Reply(
        "Ubah apa?", buttons=tuple((B(label, f"e:{i}"),) for i, label in enumerate(labels))
    )
    [item] = render(reply)
    titles = [t for t, _p in item.buttons]
    assert all(len(t) <= 20 for t in titles)
    assert len(set(titles)) == 3
    assert titles[0] == "✏️ Ubah nama usaha…"
    assert shorten("Supercalifragilisticexpialidocious", 10) == "Supercali…"
    bodies(reply)


def test_list_rows_keep_the_full_label_as_description() -> None:
    long = "Kerajinan tangan dan dekorasi rumah"
    [item] = render(Reply("Sektor?", buttons=(*choices(3), (B(long, "s:x"),))))
    title, payload, description = item.rows[-1]
    assert len(title) <= 24 and description == long and payload == "s:x"


def test_long_text_splits_at_paragraphs_and_buttons_ride_the_last_piece() -> None:
    paragraphs = [f"Paragraf {i}: " + "kata " * 60 for i in range(8)]  # ~310 chars each
    reply = Reply("\n\n".join(paragraphs), buttons=choices(2))
    items = render(reply)
    assert len(items) > 1
    assert all(len(i.text) <= WHATSAPP.max_body for i in items)
    assert all(i.text.startswith("Paragraf") for i in items)  # no paragraph cut in two
    assert items[-1].buttons and not any(i.buttons for i in items[:-1])
    bodies(reply)


def test_an_edit_is_a_new_message_and_an_alert_is_text() -> None:
    items = render(Reply("Tersimpan", edit=True, alert="Sudah dicatat"))
    assert [i.text for i in items] == ["Sudah dicatat", "Tersimpan"]


@given(st.text(min_size=1, max_size=6000), st.integers(min_value=20, max_value=4096))
def test_split_text_never_exceeds_the_limit_or_loses_words(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert all(len(p) <= limit for p in pieces)
    assert "".join(text.split()) == "".join("".join(pieces).split())


@given(st.lists(st.text(min_size=1, max_size=40), min_size=1, max_size=10))
def test_titles_always_fit_and_never_repeat(labels: list[str]) -> None:
    [item] = render(Reply("?", buttons=tuple((B(x, f"p:{i}"),) for i, x in enumerate(labels))))
    titles = [t for t, _p in item.buttons] or [t for t, _p, _d in item.rows]
    limit = 20 if item.buttons else 24
    assert all(1 <= len(t) <= limit for t in titles)
    assert len(set(titles)) == len(titles)


def test_fake_refuses_what_render_must_never_produce() -> None:
    bad = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": WA,
        "type": "interactive",
        "interactive": {
            "type": "button",
            "body": {"text": "x"},
            "action": {
                "buttons": [
                    {"type": "reply", "reply": {"id": "a", "title": "Sama"}},
                    {"type": "reply", "reply": {"id": "b", "title": "Sama"}},
                ]
            },
        },
    }
    with pytest.raises(GraphError):
        FakeWhatsApp().check_message(bad)


# --- webhooks in ----------------------------------------------------------------------


def events(name: str) -> list:
    out = []
    for item in parse_webhook(recorded(name)):
        assert isinstance(item, tuple)
        out.append(incoming(*item))
    return out


def test_recorded_text_message() -> None:
    [msg] = events("text")
    assert msg.event == Text("Does it come in another color?")
    assert msg.sender.channel == "whatsapp" and msg.sender.external_id == "16505551234"
    assert msg.sender.display_name == "Sheena Nelson"
    assert msg.chat_id == "16505551234" and msg.update_key.startswith("wamid.")


def test_recorded_button_and_list_replies_are_presses() -> None:
    [button] = events("button_reply")
    [row] = events("list_reply")
    assert isinstance(button.event, ButtonPress) and button.event.payload
    assert row.event == ButtonPress(payload="priority_express", message_id=row.event.message_id)


def test_recorded_media_messages() -> None:
    [image] = events("image")
    assert isinstance(image.event, Photo)
    assert image.event.media.file_id == "1003383421387256" and image.event.caption == "Taj Mahal"
    [doc] = events("document")
    assert isinstance(doc.event, Document) and doc.event.media.file_name == "nib.pdf"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("voice", "voice"),
        ("sticker", "sticker"),
        ("location", "location"),
        ("reaction", "reaction"),
        ("unsupported", "unsupported"),
    ],
)
def test_recorded_other_messages_are_unsupported(name: str, kind: str) -> None:
    [msg] = events(name)
    assert msg.event == Unsupported(kind=kind)


def test_recorded_contact_share() -> None:
    [msg] = events("contacts")
    assert isinstance(msg.event, Contact) and msg.event.phone


def test_slash_commands_work_on_whatsapp() -> None:
    fake = FakeWhatsApp()
    [item] = list(parse_webhook(fake.webhook(WA, fake.text("/Produk baru"))))
    assert isinstance(item, tuple)
    assert incoming(*item).event == Command(name="produk", args="baru")


def test_other_webhook_shapes_are_ignored() -> None:
    assert list(parse_webhook({"object": "page", "entry": []})) == []
    assert list(parse_webhook([])) == []
    assert list(parse_webhook({"object": "whatsapp_business_account", "entry": [{}]})) == []
