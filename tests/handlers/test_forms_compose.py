"""The input kinds a composer needs, on the form engine alone: a message to pass on
(`MessageInput`), filters over facets with a live count (`FilterInput`) and a date and time
(`DateTimeInput`), on fake channels with Telegram's, WhatsApp's and a text-only one's limits.
The real composer, /siaran, is tests/handlers/test_broadcast.py."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar
from zoneinfo import ZoneInfo

import pytest

from handlers.kit.capabilities import PLAIN, TELEGRAM, WHATSAPP, Capabilities
from handlers.kit.context import Context
from handlers.kit.events import ButtonPress, Document, MediaRef, Photo, Text, Unsupported
from handlers.kit.forms.engine import Field, Skip
from handlers.kit.forms.filters import Facet, FilterInput, Filters
from handlers.kit.forms.inputs import DateTimeInput
from handlers.kit.forms.messages import Message, MessageInput
from handlers.kit.payload import Payload
from handlers.kit.render import Option, normalize
from tests.handlers.test_forms import Screen, Toy

PDF = "application/pdf"
COLOURS = {"merah": "Red", "biru": "Blue", "hijau": "Green"}
TOWNS = {"35.73": "Kota Malang", "35.07": "Kabupaten Malang", "35.10": "Banyuwangi"}
PEOPLE = [("merah", "35.73"), ("merah", "35.10"), ("biru", "35.07"), ("hijau", "35.10")]


def _towns(query: str) -> list[Option]:
    q = normalize(query)
    return [Option(code, name) for code, name in TOWNS.items() if q and q in normalize(name)]


async def _count(ctx: Context, filters: Filters) -> int:
    return sum(
        1
        for colour, town in PEOPLE
        if colour in filters.get("colours", [colour]) and town in filters.get("towns", [town])
    )


WHO = FilterInput(
    facets=(
        Facet(
            "colours",
            "Colours",
            choices=lambda ctx: [Option(k, v) for k, v in COLOURS.items()],
        ),
        Facet(
            "towns",
            "Towns",
            search=_towns,
            get=lambda code: Option(code, TOWNS[code]) if code in TOWNS else None,
            ask="Type a town.",
            not_found="No “{query}”.",
            several="Took {name}.",
            added="Added {name}: {n} now.",
        ),
    ),
    count=_count,
    describe=lambda ctx, filters: "; ".join(f"{k}={v}" for k, v in sorted(filters.items())),
    counted="Matching: {n}",
    everyone="Everyone",
    done="Next",
)
FIELDS = (
    Field(
        "note",
        "Note",
        "Your note?",
        MessageInput(caption_needed="A caption, please.", refusal="Text or a photo."),
    ),
    Field(
        "file",
        "File",
        "A PDF?",
        MessageInput(
            text=False, photo=False, documents=(PDF,), wrong_type="Only PDF.", refusal="PDF?"
        ),
        skip=Skip("Skip"),
    ),
    Field("who", "Who", "Who gets it?", WHO),
    Field("at", "When", "When?", DateTimeInput(back="Back")),
)


class Memo(Toy):
    """The toy form's record and hooks (tests/handlers/test_forms.py), these fields."""

    fields: ClassVar[tuple[Field, ...]] = FIELDS


MEMO = Memo()


def _file(mime: str | None = None, name: str | None = None) -> MediaRef:
    return MediaRef(file_id="f1", mime=mime, file_name=name)


async def to_who(caps: Capabilities) -> Screen:
    s = Screen(caps, MEMO)
    await s.start()
    await s.send("Rapat <b>Jumat</b>")
    await s.choose("Skip")
    assert s.step == "who"
    return s


async def test_a_message_is_text_or_a_captioned_photo_and_a_file_is_of_the_allowed_type() -> None:
    s = Screen(TELEGRAM, MEMO)
    await s.start()
    await s.send(Unsupported("sticker"))
    assert s.last[0].text == "Text or a photo." and s.step == "note"
    await s.send(Photo(_file("image/jpeg")))
    assert s.last[0].text == "A caption, please." and "note" not in s.values
    await s.send(Photo(_file("image/jpeg"), caption="Poster"))
    assert s.values["note"] == Message("Poster", kind="photo", file_id="f1")
    await s.send("a text")
    assert s.last[0].text == "PDF?" and s.step == "file"
    await s.send(Document(_file("application/msword", "a.doc")))
    assert s.last[0].text == "Only PDF."
    await s.send(Document(_file(PDF, "agenda.pdf"), caption="Agenda"))
    assert s.values["file"] == Message("Agenda", False, "document", "f1", "agenda.pdf")
    s2 = Screen(TELEGRAM, MEMO)
    await s2.start()
    await s2.send(Text("Rapat Jumat", html="Rapat <b>Jumat</b>"))
    assert s2.values["note"] == Message("Rapat <b>Jumat</b>", html=True)
    await s2.send("lewati")  # a typed "skip" word, as for any optional field
    assert s2.values["file"] is None and s2.step == "who"


@pytest.mark.parametrize("caps", [TELEGRAM, WHATSAPP, PLAIN], ids=lambda c: c.name)
async def test_filters_count_as_they_change_and_are_kept_on_done(caps: Capabilities) -> None:
    s = await to_who(caps)
    assert "Who gets it?" in s.text and "Matching: 4" in s.text
    await s.choose("Colours")
    (checklist,) = s.last
    assert checklist.edit is caps.edits  # the menu turns into the checklist in place
    await s.choose("Red")
    assert "Matching: 2" in s.text and "colours=['merah']" in s.text
    assert s.last[0].edit is caps.edits
    await s.send("blue")  # a typed label ticks too
    assert "Matching: 3" in s.text
    await s.choose("Done")
    await s.choose("Towns")
    assert s.last[0].text.startswith("Type a town.")
    await s.send("Atlantis")
    assert s.last[0].text == "No “Atlantis”." and s.last[1].text.startswith("Type a town.")
    await s.send("malang")  # two fit: the first is taken, and said so
    assert s.last[0].text == "Took Kota Malang."
    assert s.last[1].text.startswith("Added Kota Malang: 1 now.")
    await s.send("banyuwangi")
    assert "Added Banyuwangi: 2 now." in s.text
    await s.choose("Done")
    await s.choose("✖ Kota")  # a searched one is removed from the menu
    assert "Matching: 1" in s.text and "towns=['35.10']" in s.text
    assert "who" not in s.values  # nothing is stored before Next
    await s.choose("Next")
    assert s.values["who"] == {"colours": ["merah", "biru"], "towns": ["35.10"]}
    assert s.step == "at"


async def test_everyone_clears_the_filters_and_a_forged_tick_is_refused() -> None:
    s = await to_who(TELEGRAM)
    await s.choose("Colours")
    await s.choose("Green")
    await s.send(ButtonPress(Payload("toy", "who", "colours:ungu").pack()))
    assert s.last[0].text == "That button is no longer valid."
    await s.send("what")
    assert s.last[0].text == "Please use the buttons below." and "Matching: 1" in s.text
    await s.choose("Done")
    await s.choose("Everyone")
    assert "Matching: 4" in s.text
    await s.choose("Next")
    assert s.values["who"] == {}


async def test_a_date_and_time_in_the_future_within_the_horizon() -> None:
    s = await to_who(TELEGRAM)
    await s.choose("Next")
    assert s.last[0].text == "When?"
    await s.choose("Back")  # the Back button: the field before
    assert s.step == "who"
    await s.choose("Next")
    for typed, refusal in (
        ("besok", "could not read"),
        ("24/11/2026 10:00", "has passed"),
        ("2028-01-01 10:00", "more than a year"),
    ):
        await s.send(typed)
        assert refusal in s.last[0].text and s.step == "at"
    await s.send("1/12 jam 9.30")  # 25 November 2026 now: this year, Asia/Jakarta
    assert s.values["at"] == datetime(2026, 12, 1, 9, 30, tzinfo=ZoneInfo("Asia/Jakarta"))
    assert s.step == "summary"
    await s.choose("When")
    await s.send("kembali")  # back while editing: to the summary, unchanged
    assert s.step == "summary"
