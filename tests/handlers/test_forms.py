"""The form engine on its own: a toy form with every input kind, driven event by event on
fake channels (Telegram's, WhatsApp's, the console's and a text-only one's capabilities)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest

from db.models import Conversation, User
from handlers.kit.capabilities import CONSOLE, PLAIN, TELEGRAM, WHATSAPP, Capabilities
from handlers.kit.context import Context
from handlers.kit.events import (
    ButtonPress,
    Contact,
    Event,
    Incoming,
    Reply,
    Sender,
    Text,
    Unsupported,
)
from handlers.kit.forms.engine import Field, Form, Got, Refuse, Skip, Stay
from handlers.kit.forms.inputs import (
    ChecklistInput,
    ChoiceInput,
    ContactInput,
    CustomInput,
    QuantityInput,
    SearchInput,
    TextInput,
)
from handlers.kit.parsing import parse_phone, parse_price
from handlers.kit.payload import Payload
from handlers.kit.render import Option, normalize, pick_many, shorten

COLOURS = ("merah", "jingga", "kuning", "hijau", "biru", "nila", "ungu")
TOWNS = {"35.73": "Kota Malang", "35.07": "Kabupaten Malang", "35.10": "Banyuwangi"}


def _towns(query: str) -> list[Option]:
    q = normalize(query)
    return [Option(code, name) for code, name in TOWNS.items() if q and q in normalize(name)]


async def _ask_stamps(ctx: Context, record: dict[str, Any]) -> None:
    ctx.reply(f"Send stamps ({len(record.get('stamps_so_far', []))} so far), then 'done'.")


async def _read_stamps(ctx: Context, record: dict[str, Any], event: Event) -> Got | Refuse | Stay:
    if isinstance(event, Text) and event.text == "done":
        return Got(record.get("stamps_so_far", []))
    if isinstance(event, Text) and event.text.startswith("stamp"):
        ctx.update_data(toy={**record, "stamps_so_far": [*record.get("stamps_so_far", []), 1]})
        ctx.reply("Stamp kept.")
        return Stay()
    return Refuse("Send a stamp.")


def _after_start(ctx: Context, record: dict[str, Any], value: int) -> str | None:
    return "Must be above the price." if value <= record.get("price", 0) else None


FIELDS = (
    Field("name", "Name", "Your name?", TextInput(max_len=10, suggest=lambda ctx: ["Budi"])),
    Field("price", "Price", "Price?", TextInput(parse=parse_price, refusal="Not a price.")),
    Field(
        "colour",
        "Colour",
        "Which colour?",
        ChoiceInput(choices=lambda ctx, r: [Option(c, c.title()) for c in COLOURS]),
    ),
    Field(
        "extras",
        "Extras",
        "Which extras?",
        ChecklistInput(
            choices=lambda ctx, r: [Option(x, x.upper()) for x in ("gift", "wrap", "card")]
        ),
    ),
    Field("amount", "Amount", "How much a month?", QuantityInput(units=("pcs", "kg"))),
    Field("phone", "Phone", "Phone?", ContactInput(parse=parse_phone, refusal="Not a phone.")),
    Field(
        "town",
        "Town",
        "Which town?",
        SearchInput(
            search=_towns,
            get=lambda code: Option(code, TOWNS[code]) if code in TOWNS else None,
            not_found="No “{query}”.",
        ),
    ),
    Field(
        "ceiling",
        "Ceiling",
        "Highest price?",
        TextInput(parse=parse_price, refusal="Not a price."),
        check=_after_start,
        skip=Skip("No ceiling"),
        applies=lambda r: r.get("colour") != "merah",
    ),
    Field("stamps", "Stamps", "", CustomInput(prompter=_ask_stamps, reader=_read_stamps)),
)


class Toy(Form):
    flow: ClassVar[str] = "toy"
    fields: ClassVar[tuple[Field, ...]] = FIELDS

    async def record(self, ctx: Context) -> dict[str, Any]:
        return dict(ctx.data.get("toy") or {})

    def answered(self, record: dict[str, Any], field: Field) -> bool:
        return field.name in record

    async def save(self, ctx: Context, record: dict[str, Any], field: Field, value: Any) -> bool:
        ctx.update_data(toy={**record, field.name: value})
        return True

    def summary_actions(self, ctx: Context, record: dict[str, Any]) -> list[Option]:
        return [Option("save", "Save")]

    async def on_action(self, ctx: Context, record: dict[str, Any], action: str) -> None:
        ctx.end_flow()
        ctx.reply(f"saved {sorted(record)}")


TOY = Toy()


class Screen:
    """One person's conversation with the toy form on a channel with `caps`; the
    Conversation object plays the database row (a new Context per event, as after a restart)."""

    def __init__(self, caps: Capabilities, form: Form = TOY) -> None:
        self.caps = caps
        self.form = form
        self.conversation = Conversation(user_id=1, flow=None, step=None, data={})
        self.user = User(id=1, channel=caps.name, external_id="1", language="en")
        self.last: list[Reply] = []

    def _ctx(self, event: Event) -> Context:
        incoming = Incoming(Sender(self.caps.name, "1"), chat_id="1", event=event)
        return Context(
            session=None,  # type: ignore[arg-type]  # the toy form stores in the conversation
            incoming=incoming,
            user=self.user,
            conversation=self.conversation,
            translator=lambda lang: (
                lambda message, **values: message.format(**values) if values else message
            ),
            now=datetime(2026, 11, 25, tzinfo=UTC),
        )

    async def start(self) -> list[Reply]:
        ctx = self._ctx(Text(""))
        await self.form.start(ctx)
        return await self._done(ctx)

    async def send(self, event: Event | str) -> list[Reply]:
        event = Text(event) if isinstance(event, str) else event
        ctx = self._ctx(event)
        if isinstance(event, ButtonPress):
            payload = Payload.unpack(event.payload)
            assert payload is not None
            await self.form.on_button(ctx, payload)
        else:
            await self.form.on_event(ctx)
        if "reprompt" in ctx.navigation:
            await self.form.prompt(ctx)
        return await self._done(ctx)

    async def _done(self, ctx: Context) -> list[Reply]:
        record = await self.form.load(ctx)  # the step asked, with NEXT worked out
        self.asking = self.form.current(ctx, record) if record is not None else ctx.step
        self.last = ctx.replies
        for reply in self.last:
            check_limits(self.caps, reply)
        return self.last

    async def choose(self, label: str) -> list[Reply]:
        """Press the button or list row whose title contains `label`."""
        for reply in reversed(self.last):
            choices = [(b.label, b.payload) for row in reply.buttons for b in row]
            if reply.menu:
                choices += [(r.title, r.payload) for r in reply.menu.rows]
            for title, payload in choices:
                if label.lower() in title.lower():
                    return await self.send(ButtonPress(payload))
            for line in reply.text.splitlines():  # numbered choices: type the number
                number, _, title = line.partition(". ")
                if number.isdigit() and label.lower() in title.lower():
                    return await self.send(number)
        raise AssertionError(f"no choice {label!r} in {self.last}")

    @property
    def step(self) -> str | None:
        return self.asking  # what a stored NEXT stands for, worked out as the form does

    @property
    def values(self) -> dict[str, Any]:
        return dict(self.conversation.data.get("toy") or {})

    @property
    def text(self) -> str:
        return "\n".join(r.text for r in self.last)


def check_limits(caps: Capabilities, reply: Reply) -> None:
    """What the channel's platform would refuse (WhatsApp's Graph API does)."""
    buttons = [b for row in reply.buttons for b in row]
    assert len(buttons) <= caps.max_buttons
    assert all(len(b.label) <= caps.button_title for b in buttons)
    assert all(len(b.payload.encode()) <= 64 for b in buttons)
    assert len({b.label for b in buttons}) == len(buttons)
    assert len(reply.text) <= caps.max_text
    assert caps.edits or not reply.edit
    if reply.menu is not None:
        assert caps.list_rows and len(reply.menu.rows) <= caps.list_rows
        assert len(reply.menu.button) <= caps.list_button
        for row in reply.menu.rows:
            assert len(row.title) <= caps.list_title
            assert row.description is None or len(row.description) <= caps.list_description


async def fill_to_summary(s: Screen) -> None:
    await s.start()
    await s.choose("Budi")
    await s.send("25rb")
    await s.send("biru")
    await s.send("1 3")
    await s.send("500 kg")
    await s.send(Contact("081234567890", is_own=True))
    await s.send("banyuwangi")
    await s.choose("No ceiling")
    await s.send("stamp")
    await s.send("done")
    assert s.step == "summary"


@pytest.mark.parametrize("caps", [TELEGRAM, WHATSAPP, CONSOLE, PLAIN], ids=lambda c: c.name)
async def test_every_input_kind_reaches_the_summary(caps: Capabilities) -> None:
    s = Screen(caps)
    await fill_to_summary(s)
    assert s.values == {
        "name": "Budi",
        "price": 25000,
        "colour": "biru",
        "extras": ["gift", "card"],
        "amount": (500, "kg"),
        "phone": ("+6281234567890", True),
        "town": "35.10",
        "ceiling": None,
        "stamps": [1],
        "stamps_so_far": [1],
    }
    await s.choose("Save")
    assert s.conversation.flow is None and "saved" in s.text


async def test_a_choice_of_seven_is_drawn_as_the_channel_can() -> None:
    for caps, shape in ((TELEGRAM, "buttons"), (WHATSAPP, "list"), (PLAIN, "numbers")):
        s = Screen(caps)
        await s.start()
        await s.send("Ani")
        await s.send("10000")
        (question,) = s.last
        if shape == "buttons":
            assert len([b for row in question.buttons for b in row]) == 7 and not question.menu
        elif shape == "list":
            assert not question.buttons and question.menu and len(question.menu.rows) == 7
        else:
            assert not question.buttons and not question.menu and "7. Ungu" in question.text
        await s.send("3")  # its number works everywhere
        assert s.values["colour"] == "kuning"


async def test_typed_labels_are_accepted_whatever_the_case_and_accents() -> None:
    s = Screen(WHATSAPP)
    await s.start()
    await s.send("Ani")
    await s.send("10000")
    await s.send("  HÍJAU ")
    assert s.values["colour"] == "hijau"


async def test_refusals_say_why_and_ask_again_and_nothing_is_stored() -> None:
    s = Screen(TELEGRAM)
    await s.start()
    await s.send("x" * 11)
    assert "at most 10" in s.last[0].text and s.last[1].text == "Your name?"
    await s.send(Unsupported("sticker"))
    assert "can't read that" in s.last[0].text and s.last[-1].text == "Your name?"
    await s.send("Ani")
    await s.send("murah")
    assert [r.text for r in s.last] == ["Not a price.", "Price?"]
    await s.send("10000")
    await s.send("coklat")
    assert s.step == "colour" and "colour" not in s.values
    await s.send(ButtonPress(Payload("toy", "colour", "forged").pack()))
    assert "no longer valid" in s.last[0].text and s.step == "colour"
    await s.send(ButtonPress(Payload("toy", "price", "1").pack()))  # an earlier step's button
    assert "earlier step" in s.last[0].text and s.last[-1].text.startswith("Which colour?")
    await s.send("merah")
    await s.send("semua")  # not an option of the checklist
    assert s.step == "extras" and "extras" not in s.values


async def test_check_hook_refuses_and_skip_and_applies_work() -> None:
    s = Screen(TELEGRAM)
    await s.start()
    for answer in ("Ani", "20000", "merah", "selesai", "5 pcs", "0812 3456 7890", "kota malang"):
        await s.send(answer)
    assert s.step == "stamps"  # red: no ceiling question at all
    await s.send("kembali")  # back
    assert s.step == "town"
    s2 = Screen(TELEGRAM)
    await s2.start()
    for answer in ("Ani", "20000", "hijau", "done", "5 pcs", "0812 3456 7890", "kota malang"):
        await s2.send(answer)
    await s2.send("15000")
    assert s2.last[0].text == "Must be above the price." and s2.step == "ceiling"
    await s2.send("30000")
    assert s2.values["ceiling"] == 30000 and s2.step == "stamps"


async def test_quantity_without_unit_asks_the_unit_and_search_offers_matches() -> None:
    s = Screen(WHATSAPP)
    await s.start()
    for answer in ("Ani", "20000", "hijau", "done"):
        await s.send(answer)
    await s.send("1.500")
    assert "1.500 of what" in s.text and s.step == "amount"
    await s.send("bungkus")
    assert s.values["amount"] == (1500, "bungkus")
    await s.send("+62 812 3456 7890")
    await s.send("Atlantis")
    assert s.last[0].text == "No “Atlantis”." and s.step == "town"
    await s.send("malang")
    assert s.step == "town" and s.last[0].buttons  # two matches: which one?
    await s.choose("Kabupaten")
    assert s.values["town"] == "35.07"


async def test_checklist_ticks_in_place_where_edits_exist_else_resends() -> None:
    for caps in (TELEGRAM, WHATSAPP):
        s = Screen(caps)
        await s.start()
        for answer in ("Ani", "20000", "hijau"):
            await s.send(answer)
        if not caps.edits:
            assert "1 3 4" in s.text  # typed numbers are offered where nothing can be edited
        await s.choose("WRAP")
        (redraw,) = s.last
        assert redraw.edit is caps.edits
        assert any("✅ WRAP" in t for t in _titles(redraw))
        await s.choose("Done")
        assert s.values["extras"] == ["wrap"]


def _titles(reply: Reply) -> list[str]:
    titles = [b.label for row in reply.buttons for b in row]
    return titles + ([r.title for r in reply.menu.rows] if reply.menu else [])


async def test_edit_from_the_summary_returns_to_the_summary() -> None:
    s = Screen(WHATSAPP)
    await fill_to_summary(s)
    (summary,) = s.last
    assert summary.menu is not None  # 9 edits + Save: a list on WhatsApp
    await s.choose("Colour")
    assert s.step == "colour"
    await s.send("ungu")
    assert s.step == "summary" and s.values["colour"] == "ungu"
    await s.send("price")  # a typed label picks the field to edit too
    assert s.step == "price"
    await s.send("kembali")  # back while editing: to the summary, unchanged
    assert s.step == "summary" and s.values["price"] == 25000


async def test_resume_after_restart_is_the_conversation_row() -> None:
    s = Screen(TELEGRAM)
    await s.start()
    await s.send("Ani")
    state = (s.conversation.flow, s.conversation.step, dict(s.conversation.data))
    fresh = Screen(TELEGRAM)  # a new process: only the stored row carries over
    fresh.conversation.flow, fresh.conversation.step, fresh.conversation.data = state
    await fresh.send("12000")
    assert fresh.values == {"name": "Ani", "price": 12000} and fresh.step == "colour"


async def test_a_flow_opens_afresh_at_a_step_or_starts_with_data_of_its_own() -> None:
    s = Screen(TELEGRAM)
    await fill_to_summary(s)
    await s.choose("Colour")  # editing: an answer would go back to the summary
    ctx = s._ctx(Text(""))
    await TOY.open(ctx, "colour", toy={"name": "Ani"})
    await s._done(ctx)
    assert s.step == "colour" and s.values == {"name": "Ani"} and "Which colour?" in s.text
    await s.send("biru")  # nothing kept from before: not editing, so the first unanswered
    assert s.step == "price" and s.values == {"name": "Ani", "colour": "biru"}
    ctx = s._ctx(Text(""))
    await TOY.start(ctx, toy={"name": "Budi"})
    await s._done(ctx)
    assert s.step == "price" and s.values == {"name": "Budi"}


def test_long_titles_are_shortened_at_words_and_kept_distinct() -> None:
    assert shorten("Spa, herbal & cosmetics", 20) == "Spa, herbal &…"
    assert len(shorten("x" * 30, 20)) == 20
    assert pick_many("1 3", [Option("a", "A"), Option("b", "B"), Option("c", "C")]) == ["a", "c"]
    assert pick_many("A, zz", [Option("a", "A")]) is None


def test_repeated_labels_stay_on_telegram_and_are_told_apart_on_whatsapp() -> None:
    from handlers.kit.events import Button
    from handlers.kit.render import fit

    rows = tuple(
        (Button("1", f"rv|score|1.c{i}.1"), Button("2", f"rv|score|1.c{i}.2")) for i in range(2)
    )
    reply = Reply(text="card", buttons=rows)
    assert fit(TELEGRAM, lambda m, **v: m, reply).buttons == rows  # the score grid as it is
    titles = [r.title for r in fit(WHATSAPP, lambda m, **v: m, reply).menu.rows]  # type: ignore[union-attr]
    assert len(set(titles)) == 4
