"""The form engine's newer pieces on their own, driven event by event like test_forms.py:
steps of a form's own (fixed choices, typed answers), a record kept in the conversation,
a summary with pictures and an edit picker, days, the number a channel already knows, a
parser's reasons, and photo collection (checked, refused with the reason, albums)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

from db.media_store import MediaStore
from handlers.kit import events
from handlers.kit.capabilities import TELEGRAM, WHATSAPP, Capabilities
from handlers.kit.context import Context
from handlers.kit.events import ButtonPress, Event, Incoming, MediaOut, MediaRef, Sender
from handlers.kit.forms.dates import DateInput
from handlers.kit.forms.engine import EDIT_PICK, Field, Form, Skip, Spec, Step, choices
from handlers.kit.forms.inputs import ContactInput, TextInput
from handlers.kit.forms.photos import Arrived, PhotosInput
from handlers.kit.parsing import parse_phone, read_price
from handlers.kit.payload import Payload
from handlers.kit.render import Option
from tests.handlers.test_forms import Screen as ToyScreen
from tests.handlers.test_photos import dark_jpeg, good_jpeg

NOTE, CONFIRM = "note", "confirm"  # today is 2026-11-25


class Trip(Form):
    """A record kept in the conversation (`data_key`), two days, a price with its reasons,
    a typed step of its own and a confirmation."""

    flow: ClassVar[str] = "trip"
    data_key: ClassVar[str | None] = "trip"
    intro: ClassVar[str | None] = "Let's plan a trip."
    actions: ClassVar[tuple[Spec, ...]] = (("note", "Add a note"), ("book", "Book"))
    fields: ClassVar[tuple[Field, ...]] = (
        Field("to", "To", "Where to?", TextInput(max_len=20)),
        Field("leave", "Leave", "Leaving?", DateInput(not_past="Not in the past.")),
        Field(
            "back",
            "Back",
            "Back?",
            DateInput(not_before=("leave", "Not before {date}.")),
            skip=Skip("Open return"),
        ),
        Field("budget", "Budget", "Budget?", TextInput(parse=read_price, refusal="A price.")),
    )

    def __init__(self) -> None:
        super().__init__()
        self.steps |= {
            NOTE: Step("Your note?", typed=self._noted),
            CONFIRM: Step(
                lambda ctx, r: f"Book {r['to']}?",
                choices(("yes", "Book it", ("ya", "sure")), ("no", "Not yet")),
                self._confirmed,
            ),
        }

    def values(self, ctx: Context, record: dict[str, Any]) -> dict[str, str | None]:
        return {name: str(value) for name, value in record.items()}

    async def on_action(self, ctx: Context, record: dict[str, Any], action: str) -> None:
        await self.go(ctx, NOTE if action == "note" else CONFIRM)

    async def _noted(self, ctx: Context, record: dict[str, Any], typed: str) -> None:
        ctx.update_data(trip={**record, "note": typed})
        await self.go(ctx, self.summary_step)

    async def _confirmed(self, ctx: Context, record: dict[str, Any], choice: str) -> None:
        ctx.end_flow()
        ctx.reply("booked" if choice == "yes" else "kept")


class Call(Form):
    """The number the channel knows, offered; the summary edits through a picker and
    carries pictures."""

    flow: ClassVar[str] = "call"
    data_key: ClassVar[str | None] = "call"
    edits_on_summary: ClassVar[bool] = False
    fields: ClassVar[tuple[Field, ...]] = (
        Field("name", "Name", "Name?", TextInput(max_len=20)),
        Field(
            "phone",
            "Phone",
            "Share or type it.",
            ContactInput(
                parse=parse_phone,
                refusal="Not a phone.",
                typed_ask="Type your phone.",
                known_ask="Use {phone}?",
                confirm="Phone {phone} ok",
            ),
        ),
    )

    def summary_media(self, ctx: Context, record: dict[str, Any]) -> tuple[MediaOut, ...]:
        return (MediaOut("card.png"),)

    def summary_actions(self, ctx: Context, record: dict[str, Any]) -> list[Option]:
        return [Option("edit", "Edit a field"), Option("done", "Done")]

    async def on_action(self, ctx: Context, record: dict[str, Any], action: str) -> None:
        if action == "edit":
            await self.go(ctx, EDIT_PICK)
        else:
            ctx.end_flow()


@dataclass
class Kept:
    id: int
    position: int
    hints: list[str]
    sha256: str


def _kept(ctx: Context) -> list[Kept]:
    """The photos kept so far: in the conversation, as the hooks wrote them."""
    return [Kept(*k) for k in ctx.data.get("album_form", {}).get("kept", [])]


def _keep(ctx: Context, kept: list[Kept]) -> None:
    record = ctx.data.get("album_form", {})
    ctx.update_data(album_form={**record, "kept": [list(vars(k).values()) for k in kept]})


async def _photos(ctx: Context, record: Any) -> list[Kept]:
    return _kept(ctx)


async def _known(ctx: Context, record: Any, sha256: str) -> bool:
    return any(k.sha256 == sha256 for k in _kept(ctx))


async def _add(ctx: Context, record: Any, photo: Arrived) -> Kept:
    kept = _kept(ctx)
    n = max((k.id for k in kept), default=0) + 1
    new = Kept(n, len(kept) + 1, [str(h) for h in photo.report.hints], photo.report.sha256)
    _keep(ctx, [*kept, new])
    return new


async def _remove(ctx: Context, record: Any, photo_id: int) -> None:
    _keep(ctx, [k for k in _kept(ctx) if k.id != photo_id])
    ctx.reply(f"removed {photo_id}")


PHOTOS = PhotosInput(
    photos=_photos,
    known=_known,
    add=_add,
    remove=_remove,
    too_many="At most {max}.",
    duplicate="Sent already.",
    most=lambda ctx: 2,
)


class Album(Form):
    """Photos through the engine's photo kind, kept by the hooks in the conversation."""

    flow: ClassVar[str] = "album"
    data_key: ClassVar[str | None] = "album_form"
    fields: ClassVar[tuple[Field, ...]] = (
        Field("title", "Title", "Title?", TextInput(max_len=20)),
        Field("photos", "Photos", "Send 1 to {max} photos.", PHOTOS),
    )

    def answered(self, record: dict[str, Any], field: Field) -> bool:
        return bool(record.get("kept")) if field.name == "photos" else field.name in record


class Screen(ToyScreen):
    """One person with one form, on a channel with `caps`, who may have a known phone number
    and send files; the Conversation object plays the database row."""

    def __init__(
        self,
        form: Form,
        caps: Capabilities = TELEGRAM,
        *,
        phone: str | None = None,
        files: dict[str, bytes] | None = None,
        store: MediaStore | None = None,
    ) -> None:
        super().__init__(caps, form)
        self.phone, self.files, self.store = phone, files or {}, store

    def _ctx(self, event: Event) -> Context:
        async def fetch(ref: MediaRef) -> bytes:
            return self.files[ref.file_id]

        return Context(
            session=None,  # type: ignore[arg-type]  # these forms keep everything in memory
            incoming=Incoming(Sender(self.caps.name, "1", phone=self.phone), "1", event),
            user=self.user,
            conversation=self.conversation,
            translator=lambda lang: lambda m, **v: m.format(**v) if v else m,
            now=datetime(2026, 11, 25, tzinfo=UTC),
            fetch_media=fetch,
            media_store=self.store,
        )

    def labels(self) -> list[str]:
        return [b.label for r in self.last for row in r.buttons for b in row]

    @property
    def record(self) -> dict[str, Any]:
        assert self.form.data_key is not None
        return dict(self.conversation.data.get(self.form.data_key) or {})


async def test_days_are_read_checked_against_each_other_and_kept_as_iso() -> None:
    s = Screen(Trip())
    await s.start()
    assert [r.text for r in s.last] == ["Let's plan a trip.", "Where to?"]
    await s.send("Bali")
    await s.send("next week")
    assert s.last[0].text.startswith("I couldn't read that as a date") and s.step == "leave"
    await s.send("30-02-2027")  # no such day
    assert s.step == "leave"
    await s.send("24/11/2026")
    assert s.last[0].text == "Not in the past."
    await s.send("21.04.2027")
    await s.send("2027-04-20")
    assert s.last[0].text == "Not before 21 Apr 2027." and s.step == "back"
    await s.choose("Open return")
    assert s.record == {"to": "Bali", "leave": "2027-04-21", "back": None}


async def test_a_parser_that_gives_reasons_is_refused_with_them() -> None:
    s = Screen(Trip())
    await s.start()
    for answer in ("Bali", "21-04-2027", "tidak"):  # "tidak": no return date
        await s.send(answer)
    await s.send("murah")
    assert s.last[0].text == "A price."  # not a number: the question's own example
    await s.send("Rp 5 miliar")
    assert "1.000.000.000" in s.last[0].text and s.step == "budget"
    await s.send("1,5 jt")
    assert s.record["budget"].amount == 1_500_000 and s.step == "summary"


async def test_own_steps_take_fixed_choices_and_typed_answers() -> None:
    s = Screen(Trip(), WHATSAPP)
    await s.start()
    for answer in ("Bali", "21-04-2027", "tidak", "2jt"):
        await s.send(answer)
    await s.choose("Add a note")
    assert s.step == NOTE and s.last[0].text == "Your note?"
    await s.send(events.Unsupported("sticker"))
    assert "can't read that" in s.last[0].text and s.step == NOTE
    await s.send(ButtonPress(Payload("trip", NOTE, "x").pack()))
    assert s.last[0].text == "Please press one of the buttons." and s.step == NOTE
    await s.send("window seat")
    assert s.step == "summary" and s.record["note"] == "window seat"
    await s.choose("Book")
    assert s.last[0].text == "Book Bali?"
    await s.send("maybe")
    assert s.step == CONFIRM and s.last[0].text == "Please press one of the buttons."
    await s.send("sure")  # a word declared with the choice
    assert s.conversation.flow is None and s.text == "booked"


async def test_the_summary_can_carry_pictures_and_edit_through_a_picker() -> None:
    s = Screen(Call(), WHATSAPP)
    await s.start()
    await s.send("Ani")
    await s.send("0812 3456 7890")
    confirmed, summary = s.last
    assert confirmed.text == "Phone +6281234567890 ok" and confirmed.remove_keyboard
    assert summary.media == (MediaOut("card.png"),)
    assert s.labels() == ["Edit a field", "Done"]
    await s.send("Name")  # no field buttons on this summary: a label typed is refused
    assert s.step == "summary"
    await s.choose("Edit a field")
    assert s.step == EDIT_PICK
    await s.choose("Name")
    await s.send("Budi")
    assert s.step == "summary" and s.record["name"] == "Budi"


@pytest.mark.parametrize("caps", [TELEGRAM, WHATSAPP], ids=lambda c: c.name)
async def test_the_number_the_channel_knows_is_offered(caps: Capabilities) -> None:
    s = Screen(Call(), caps, phone="6281234567890")
    await s.start()
    await s.send("Ani")
    assert s.last[0].text == "Use +6281234567890?" and not s.last[0].ask_contact
    await s.choose("Another number")
    assert "Type the number" in s.last[0].text and s.step == "phone"
    await s.send("0813 1111 2222")
    assert s.record["phone"] == ("+6281311112222", False)
    assert s.last[0].text == "Phone +6281311112222 ok"
    s2 = Screen(Call(), caps, phone="6281234567890")
    await s2.start()
    await s2.send("Ani")
    await s2.choose("Use this number")
    assert s2.record["phone"] == ("+6281234567890", True)
    s3 = Screen(Call(), caps, phone="6281234567890")
    await s3.start()
    await s3.send("Ani")
    await s3.send("+62 812 3456 7890")  # typed, and it is the sender's own
    assert s3.record["phone"] == ("+6281234567890", True)


async def test_without_a_known_number_or_a_share_button_the_number_is_typed() -> None:
    s = Screen(Call(), WHATSAPP)  # no share button, and here no number known
    await s.start()
    await s.send("Ani")
    assert s.last[0].text == "Type your phone." and not s.last[0].ask_contact
    await s.send("12")
    assert s.last[0].text == "Not a phone."
    s2 = Screen(Call(), TELEGRAM)
    await s2.start()
    await s2.send("Ani")
    assert s2.last[0].text == "Share or type it." and s2.last[0].ask_contact


def photo(file_id: str, group: str | None = None) -> events.Photo:
    return events.Photo(MediaRef(file_id), group_id=group)


async def test_photos_are_checked_stored_by_the_hooks_and_refused_with_the_reason(
    tmp_path: Path,
) -> None:
    files = {"good": good_jpeg(), "dark": dark_jpeg(), "pdf": b"%PDF-1.4"}
    s = Screen(Album(), files=files, store=MediaStore(tmp_path))
    await s.start()
    await s.send(photo("good"))  # a photo before its turn waits for it
    assert "I will ask for photos at the end" in s.last[0].text and s.step == "title"
    await s.send("Holiday")
    assert s.last[0].text == "Send 1 to 2 photos." and s.labels() == ["Done ✓"]
    await s.send("done")
    assert s.last[0].text == "Please send at least one photo first."
    await s.send(events.Document(MediaRef("pdf", mime="application/pdf", file_name="a.pdf")))
    assert "PDF document" in s.last[0].text and not s.record.get("kept")
    await s.send(photo("good"))
    assert s.last[0].text.startswith("✅ Photo 1 saved.") and len(s.record["kept"]) == 1
    await s.send(photo("good"))
    assert s.last[0].text == "Sent already." and len(s.record["kept"]) == 1
    await s.send(photo("dark"))
    assert "looks dark" in s.last[0].text and "Remove photo 2" in s.labels()
    await s.choose("Remove photo 2")
    assert s.last[0].text == "removed 2" and [k[0] for k in s.record["kept"]] == [1]
    await s.choose("Done")
    assert s.step == "summary"
    await s.send(photo("dark"))  # at the summary a photo means "add this one"
    assert s.step == "photos" and len(s.record["kept"]) == 2
    await s.send(photo("good"))
    assert s.last[0].text == "At most 2."


async def test_an_album_gets_one_growing_answer(tmp_path: Path) -> None:
    files = {"a": good_jpeg(), "b": dark_jpeg()}
    s = Screen(Album(), WHATSAPP, files=files, store=MediaStore(tmp_path))
    await s.start()
    await s.send("Holiday")
    await s.send(photo("a", group="g1"))
    await s.send(photo("b", group="g1"))
    (answer,) = s.last
    assert answer.debounce == "album:g1"
    assert answer.text.startswith("✅ 2 photos saved (photo 1–2).") and "looks dark" in answer.text
