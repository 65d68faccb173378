"""The input kinds a field can declare: how its question looks and how an answer is read."""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from handlers.i18n import N_
from handlers.kit.context import Context
from handlers.kit.events import ButtonPress, Contact, Event, Reply, Text
from handlers.kit.forms.answers import R
from handlers.kit.forms.engine import NOT_UNDERSTOOD, Field, Form, Got, Input, Outcome, Refuse, Stay
from handlers.kit.parsing import (
    Refused,
    clean_text,
    is_no_answer,
    match_choice,
    parse_when,
    read_quantity,
    refusal_text,
)
from handlers.kit.payload import ValueData
from handlers.kit.render import Option, choice_reply, normalize, pick, pick_many

Options = Callable[[Context, R], list[Option]]
SNAP_CUTOFF = 0.85  # "indonesa" is Indonesia; "India" is not
TOO_LONG = N_("That is too long — at most {n} characters, please.")


def _text(event: Event) -> str | None:
    return event.text if isinstance(event, Text) else None


def _pressed(event: Event) -> str | None:
    return event.payload if isinstance(event, ButtonPress) else None


@dataclass(frozen=True)
class Suggestion(ValueData, tag="s"):
    """One of a text field's suggested answers, by its place in the list."""

    index: int


@dataclass
class TextInput(Input[Any]):
    """Free text, cleaned; with `parse`, read into a value or refused with `refusal` (a
    parser giving parsing.py's `Refused` is refused with its reason, e.g. a price too high).

    `suggest` offers typed answers as buttons (e.g. the sender's own name)."""

    max_len: int = 100
    min_len: int = 1
    parse: Callable[[str], Any | None] | None = None
    refusal: str = ""  # N_-marked, when `parse` finds nothing
    short: str = N_("Please type a name.")  # N_-marked, when nothing was typed
    suggest: Callable[[Context], list[str]] = field(default=lambda ctx: [])
    snap: bool = False  # a typed answer close to a suggestion ("indonesa") is taken as it
    too_large: str | None = None  # N_-marked, {maximum}: when `parse` finds it out of range
    letters: bool = False  # the answer must have a letter or digit (a name, not "🍌🔥😂")

    def options(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: Any
    ) -> list[Option]:
        return [Option(Suggestion(i).pack(), s) for i, s in enumerate(self.suggest(ctx))]

    async def read(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: Any, event: Event
    ) -> Outcome:
        raw = _text(event)
        pressed = _pressed(event)
        if (suggested := Suggestion.read(pressed)) is not None:
            offered = self.suggest(ctx)
            raw = offered[suggested.index] if suggested.index < len(offered) else None
        if raw is None:
            return Refuse(ctx.t(NOT_UNDERSTOOD))
        if self.snap and pressed is None:
            offered = self.suggest(ctx)
            near = match_choice(raw, {s: (s,) for s in offered}, cutoff=SNAP_CUTOFF).match
            raw = near if near is not None else raw
        if self.parse is not None:
            value = self.parse(raw)
            if isinstance(value, Refused):  # a number read with its reason (parsing.py)
                said = refusal_text(
                    ctx.t, value, not_a_number=self.refusal, too_large=self.too_large
                )
                return Refuse(said)
            return Refuse(ctx.t(self.refusal, n=self.max_len)) if value is None else Got(value)
        cleaned = clean_text(raw, max_len=self.max_len)
        if cleaned is None:
            return Refuse(ctx.t(TOO_LONG, n=self.max_len) if raw.strip() else ctx.t(self.short))
        if self.letters and not any(unicodedata.category(c)[0] in "LN" for c in cleaned):
            return Refuse(ctx.t("Please write it in letters: emoji or signs alone are not a name."))
        if len(cleaned) < self.min_len:
            return Refuse(
                ctx.t("Please write a little more (at least {n} characters).", n=self.min_len)
            )
        return Got(cleaned)


@dataclass
class ChoiceInput(Input[R]):
    """One of a few options: pressed, or typed (its number, label or words)."""

    choices: Options[R] = field(default=lambda ctx, record: [])
    refusal: str = N_("Please press one of the buttons.")
    columns: int = 2
    free_word: bool = False  # also accept any one word (a unit: "bungkus")

    def options(self, ctx: Context, form: Form[Any], field: Field[Any], record: R) -> list[Option]:
        return self.choices(ctx, record)

    async def read(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: R, event: Event
    ) -> Outcome:
        options = self.choices(ctx, record)
        pressed = _pressed(event)
        if pressed is not None:
            ok = any(o.value == pressed for o in options)
            return Got(pressed) if ok else Refuse(ctx.t("That button is no longer valid."))
        text = _text(event)
        if text is None:
            return Refuse(ctx.t(NOT_UNDERSTOOD))
        chosen = pick(text, options)
        if chosen is not None:
            return Got(chosen)
        word = text.strip().lower()
        if self.free_word and word.isalpha() and len(word) <= 20:
            return Got(word)
        if form.offer(ctx, field.name, event, options):
            return Stay()
        return Refuse(ctx.t(self.refusal))


DONE = "done"
ALL = "all"


@dataclass
class ChecklistInput(Input[R]):
    """Several options ticked one by one, then Done; or typed at once ("1 3 4", "PIRT, Halal").

    Ticks redraw the checklist: edited in place where the channel can edit, else re-sent."""

    choices: Options[R] = field(default=lambda ctx, record: [])
    start: Callable[[Context, R], list[str]] = field(default=lambda ctx, record: [])
    refusal: str = N_("Please tap the options you want, then “Done”.")
    toggled: str = N_("Tap each one that applies, then “Done”.")
    all_label: str | None = None  # N_-marked: a button meaning "every one" (stored as [])
    empty_done: str | None = None  # N_-marked label of Done while nothing is ticked

    def _key(self, field: Field[Any]) -> str:
        return f"ticked:{field.name}"

    def ticked(self, ctx: Context, field: Field[Any], record: R) -> list[str]:
        stored = ctx.data.get(self._key(field))
        return list(stored) if isinstance(stored, list) else list(self.start(ctx, record))

    def _options(self, ctx: Context, field: Field[Any], record: R) -> list[Option]:
        chosen = self.ticked(ctx, field, record)
        t = ctx.t
        items = [
            Option(o.value, ("✅ " if o.value in chosen else "▫️ ") + o.label, (o.label, *o.words))
            for o in self.choices(ctx, record)
        ]
        if self.all_label is not None:
            items.append(Option(ALL, t(self.all_label), ("semua", "all")))
        done = t(self.empty_done) if self.empty_done and not chosen else t("Done ✓")
        items.append(Option(DONE, done, ("selesai", "done")))
        return items

    async def ask(self, ctx: Context, form: Form[Any], field: Field[Any], record: R) -> list[Reply]:
        text = field.question(ctx, record)
        if not ctx.capabilities.edits:
            text += "\n" + ctx.t("Or type their numbers, e.g. “1 3 4”.")
        return [form.question(ctx, field, record, self._options(ctx, field, record), text=text)]

    async def read(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: R, event: Event
    ) -> Outcome:
        values = [o.value for o in self.choices(ctx, record)]
        chosen = self.ticked(ctx, field, record)
        pressed = _pressed(event)
        text = _text(event)
        if pressed in values:
            chosen = (
                [v for v in chosen if v != pressed] if pressed in chosen else [*chosen, pressed]
            )
            ctx.update_data(**{self._key(field): [v for v in values if v in chosen]})
            reply = form.question(
                ctx,
                field,
                record,
                self._options(ctx, field, record),
                text=ctx.t(self.toggled),
                edit=True,
            )
            ctx.replies.append(reply)
            return Stay()
        if pressed == DONE:
            result: list[str] | None = chosen
        elif pressed == ALL:
            result = []
        elif pressed is not None:
            return Refuse(ctx.t("That button is no longer valid."))
        elif text is None:
            return Refuse(ctx.t(NOT_UNDERSTOOD))
        elif is_no_answer(text) or (
            self.all_label is not None and normalize(text) in {"all", "semua"}
        ):
            result = []
        elif normalize(text) in {"done", "selesai"}:
            result = chosen
        else:
            typed = pick_many(text, self.choices(ctx, record))
            result = [v for v in values if v in typed] if typed else None
        if result is None:
            return Refuse(ctx.t(self.refusal))
        ctx.update_data(**{self._key(field): None})
        return Got(result)


@dataclass
class QuantityInput(Input[Any]):
    """A whole number with a unit ("500 pcs"); the unit is asked next when left out.

    The value is (amount, unit); with `units` empty only the number is read (an int).
    Digits or words ("seratus", "2 lusin"); below `minimum` is refused with that rule."""

    units: Sequence[str] = ()
    refusal: str = N_("Please type a whole number and a unit, for example 500 pcs.")
    minimum: int = 1
    unit_question: str = N_("{amount} of what? Choose a unit or type it (e.g. pack).")
    columns: int = 4

    def _pending(self, ctx: Context, field: Field[Any]) -> int | None:
        amount = ctx.data.get(f"amount:{field.name}")
        return amount if isinstance(amount, int) else None

    def _unit_options(self) -> list[Option]:
        return [Option(u, u) for u in self.units]

    async def ask(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: Any
    ) -> list[Reply]:
        amount = self._pending(ctx, field)
        if amount is None:
            return await super().ask(ctx, form, field, record)
        text = ctx.t(self.unit_question, amount=format(amount, ",").replace(",", "."))
        return [form.question(ctx, field, record, self._unit_options(), text=text)]

    async def read(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: Any, event: Event
    ) -> Outcome:
        amount = self._pending(ctx, field)
        if amount is not None:
            unit = await ChoiceInput(
                choices=lambda c, r: self._unit_options(),
                refusal=N_("Please type the unit as one word, e.g. pcs, kg or pack."),
                free_word=True,
            ).read(ctx, form, field, record, event)
            if not isinstance(unit, Got):
                return unit
            ctx.update_data(**{f"amount:{field.name}": None})
            return Got((amount, unit.value))
        text = _text(event)
        if text is None:
            return Refuse(ctx.t(NOT_UNDERSTOOD))
        parsed = read_quantity(text, minimum=self.minimum)
        if isinstance(parsed, Refused):
            return Refuse(refusal_text(ctx.t, parsed, not_a_number=self.refusal))
        number, unit_typed = parsed
        if not self.units:
            return Got(number)
        if unit_typed is None:
            ctx.update_data(**{f"amount:{field.name}": number})
            await form.prompt(ctx)
            return Stay()
        return Got((number, unit_typed))


KNOWN, OTHER = "known", "other"


@dataclass
class ContactInput(Input[Any]):
    """A phone number: shared with one tap where the channel has that button, or typed.
    Where the channel already knows the sender's number (WhatsApp), it is offered with one
    tap ("Use this number?") instead. The value is (phone, is_own)."""

    parse: Callable[[str], str | None] = field(default=lambda s: None)
    refusal: str = ""
    share_label: str = N_("📱 Share my number")
    typed_ask: str = ""  # N_-marked: the question where there is no button and no number
    known_ask: str = ""  # N_-marked, {phone}: the question offering the number known
    confirm: str = ""  # N_-marked, {phone}: said when a number was taken

    def _known(self, ctx: Context) -> str | None:
        phone = ctx.incoming.sender.phone
        return self.parse(phone) if phone and self.known_ask else None

    def options(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: Any
    ) -> list[Option]:
        if self._known(ctx) is None:
            return []
        return [
            Option(KNOWN, ctx.t("✅ Use this number"), ("ya", "yes", "pakai", "iya")),
            Option(OTHER, ctx.t("📝 Another number"), ("lain", "other", "tidak", "no")),
        ]

    async def ask(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: Any
    ) -> list[Reply]:
        known, options = self._known(ctx), self.options(ctx, form, field, record)
        if known is not None:
            text = ctx.t(self.known_ask, phone=known)
            return [form.question(ctx, field, record, options, text=text)]
        if not ctx.capabilities.contact_button and self.typed_ask:
            return [form.question(ctx, field, record, [], text=ctx.t(self.typed_ask))]
        share = ctx.t(self.share_label) if ctx.capabilities.contact_button else None
        return [form.question(ctx, field, record, [], ask_contact=share)]

    async def read(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: Any, event: Event
    ) -> Outcome:
        known = self._known(ctx)
        phone, own = None, False
        if isinstance(event, Contact):
            phone, own = self.parse(event.phone), event.is_own
        elif isinstance(event, Text):
            phone = self.parse(event.text)
            own = phone is not None and phone == known
        if phone is None and known is not None:
            typed = _text(event)
            choice = pick(typed, self.options(ctx, form, field, record)) if typed else None
            choice = _pressed(event) or choice
            if choice == OTHER:
                ctx.reply(ctx.t("Type the number, e.g. 0812 3456 7890."))
                return Stay()
            phone, own = (known, True) if choice == KNOWN else (None, False)
        if phone is None:
            understood = isinstance(event, Contact | Text)
            return Refuse(ctx.t(self.refusal if understood else NOT_UNDERSTOOD))
        if self.confirm:
            ctx.reply(ctx.t(self.confirm, phone=phone), remove_keyboard=True)
        return Got((phone, own))


OFFERED = "_offered"  # in the form's data: field -> the values last offered to choose from


@dataclass
class SearchInput(Input[Any]):
    """A name searched in a long list (the 38 regencies): one match is taken, a few are
    offered to choose from, none or too many are refused with the reason."""

    search: Callable[[str], list[Option]] = field(default=lambda q: [])
    get: Callable[[str], Option | None] = field(default=lambda code: None)
    not_found: str = ""  # N_-marked, may use {query}
    too_many: str = N_("Many places match that. Please type more of the name.")
    which: str = N_("Which one do you mean?")
    confirm: str = ""  # N_-marked, {value}: said when one match was taken
    max_choices: int = 8

    async def read(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: Any, event: Event
    ) -> Outcome:
        pressed = _pressed(event)
        if pressed is not None:
            found = self.get(pressed)
            return Got(found.value) if found else Refuse(ctx.t("That button is no longer valid."))
        query = _text(event)
        if query is None:
            return Refuse(ctx.t(NOT_UNDERSTOOD))
        # After "which one do you mean?", a word of one of the offered names ("kab", "kota")
        offered = [o for v in ctx.data.get(OFFERED, {}).get(field.name, []) if (o := self.get(v))]
        chosen = pick(query, offered) if offered else None
        if chosen is not None:
            ctx.update_data(**{OFFERED: {}})
            return Got(chosen)
        matches = self.search(query[:200])
        if len(matches) == 1:
            if self.confirm:
                ctx.reply(ctx.t(self.confirm, value=matches[0].label))
            return Got(matches[0].value)
        if not matches:
            return Refuse(ctx.t(self.not_found, query=query.strip()[:40]))
        if len(matches) > self.max_choices:
            return Refuse(ctx.t(self.too_many))
        ctx.update_data(**{OFFERED: {field.name: [m.value for m in matches]}})
        ctx.replies.append(
            choice_reply(
                ctx.capabilities,
                ctx.t,
                ctx.t(self.which),
                matches,
                flow=form.flow,
                step=field.name,
                columns=1,
            )
        )
        return Stay()


Prompter = Callable[[Context, R], Awaitable[None]]
Reader = Callable[[Context, R, Event], Awaitable[Outcome]]


@dataclass
class CustomInput(Input[R]):
    """A kind with its own question and reading, given as hooks (the product photos)."""

    prompter: Prompter[R] | None = None
    reader: Reader[R] | None = None

    async def ask(self, ctx: Context, form: Form[Any], field: Field[Any], record: R) -> list[Reply]:
        assert self.prompter is not None
        await self.prompter(ctx, record)
        return []

    async def read(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: R, event: Event
    ) -> Outcome:
        assert self.reader is not None
        return await self.reader(ctx, record, event)


PREVIOUS = "previous"


@dataclass
class DateTimeInput(Input[Any]):
    """A local date and time ("1/12 09:00", "2026-12-01 09.00") in `settings.timezone`, in
    the future and at most `horizon_days` ahead; the value is aware, in that zone.

    With `back` (N_-marked) a button goes back as typing "kembali" does."""

    refusal: str = N_("I could not read that date and time. Example: 1/12 09:00")
    past: str = N_("That time has passed. Give a time in the future.")
    # A day and month without a year that is behind us this year: a slip more often than
    # next year, so it is not quietly moved a year on.
    past_this_year: str = N_(
        "{when} has already passed this year. For next year, type the year too: {example}"
    )
    too_far: str = N_("That is more than a year away. Give a nearer date.")
    horizon_days: int = 365
    back: str | None = None

    def options(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: Any
    ) -> list[Option]:
        return [Option(PREVIOUS, ctx.t(self.back))] if self.back else []

    async def read(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: Any, event: Event
    ) -> Outcome:
        if self.back and _pressed(event) == PREVIOUS:
            await form.back(ctx, record)
            return Stay()
        text = _text(event)
        if text is None:
            return Refuse(ctx.t(NOT_UNDERSTOOD))
        zone = ZoneInfo(ctx.settings.timezone)
        at = parse_when(text, now=ctx.now, zone=zone, roll_over=False)
        if at is None:
            return Refuse(ctx.t(self.refusal))
        if at <= ctx.now:
            later = parse_when(text, now=ctx.now, zone=zone)
            if later is not None and later != at:  # no year typed
                when = f"{at:%d/%m %H:%M}"
                example = f"{later.day}/{later.month}/{later.year} {later:%H:%M}"
                return Refuse(ctx.t(self.past_this_year, when=when, example=example))
            return Refuse(ctx.t(self.past))
        if at > ctx.now + timedelta(days=self.horizon_days):
            return Refuse(ctx.t(self.too_far))
        return Got(at)
