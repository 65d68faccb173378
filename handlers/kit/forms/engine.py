"""Fields, input kinds' common shape, and the Form whose methods run a guided flow."""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar, Generic, TypeVar, cast

from handlers.i18n import N_
from handlers.kit.context import Context
from handlers.kit.events import ButtonPress, Document, Event, MediaOut, Photo, Reply, Text
from handlers.kit.forms.answers import (
    Field,
    Got,
    Input,
    Outcome,
    Refuse,
    Skip,
    Spec,
    Stay,
    Step,
    asked,
    choice_of,
    choices,
    picked,
)
from handlers.kit.parsing import is_no_answer
from handlers.kit.payload import Payload
from handlers.kit.render import Option, candidates, choice_reply, normalize

# Answers' pieces, named here too: input kinds and flows import them with the engine.
__all__ = [
    "Field",
    "Got",
    "Input",
    "Outcome",
    "Refuse",
    "Skip",
    "Spec",
    "Stay",
    "Step",
    "choices",
]
SUMMARY = "summary"
EDIT_PICK = "edit_pick"
SKIP = "skip"
# The stored step while the form asks its fields in order: "the first unanswered field",
# worked out from the record each time. Answering in order then leaves the conversation
# row as it was: one write (the answer) per step instead of two.
NEXT = "~next"  # never a field or step name (those are identifiers)
BACK = "back"
BACK_WORDS = frozenset({"kembali", "back", "sebelumnya", "previous"})
NOT_UNDERSTOOD = N_("I can't read that here. Please answer with a short text message.")

# What a form's fields are read from and written to: a row (or rows) of its own, or the
# dict kept in the conversation (`Form[dict[str, Any]]`, with `data_key`).
R = TypeVar("R")


class Form(Generic[R]):
    """A guided flow. Subclasses declare `flow` and `fields` and implement the hooks.

    With `data_key`, the record is a dict kept in the conversation under that key (nothing
    is written elsewhere until the flow's own action); else `record`, `answered` and `save`
    say where answers live."""

    flow: ClassVar[str]
    fields: tuple[Field[R], ...]  # declared on the class (a ClassVar can't name R)
    summary_step: ClassVar[str] = SUMMARY
    edits_on_summary: ClassVar[bool] = True  # a button per field; else a picker (EDIT_PICK)
    data_key: ClassVar[str | None] = None
    # True when `save` only changes the record object it is given (a row's attributes): the
    # step goes on with that object instead of reading the record again.
    saves_in_place: ClassVar[bool] = False
    intro: ClassVar[str | None] = None  # N_-marked: said when the flow starts
    actions: ClassVar[tuple[Spec, ...]] = ()  # the summary's own buttons, as fixed choices
    steps: dict[str, Step[R]]

    def __init__(self) -> None:
        self.by_name = {f.name: f for f in self.fields}
        self.steps = {}

    # --- hooks ------------------------------------------------------------------------

    async def record(self, ctx: Context) -> R | None:
        """What the fields are read from and written to; None when it is gone."""
        if self.data_key is None:
            raise NotImplementedError
        stored = ctx.data.get(self.data_key)
        return cast(R, dict(stored) if isinstance(stored, dict) else {})

    def answered(self, record: R, field: Field[R]) -> bool:
        if isinstance(record, dict):
            return field.name in record
        return getattr(record, field.name, None) is not None

    async def save(self, ctx: Context, record: R, field: Field[R], value: Any) -> bool:
        """Store an accepted answer; False when the hook replied and the flow stops here."""
        if self.data_key is not None:
            ctx.update_data(**{self.data_key: {**cast(dict[str, Any], record), field.name: value}})
        else:
            setattr(record, field.name, value)
        return True

    async def lost(self, ctx: Context) -> None:
        ctx.end_flow()
        ctx.reply(ctx.t("That is no longer available."))

    def summary_heading(self, ctx: Context, record: R) -> str:
        return ctx.t("📋 Please check your answers")

    def values(self, ctx: Context, record: R) -> dict[str, str | None]:
        """Each field's answer as the summary shows it (None: not answered, "—")."""
        return {f.name: f.show(ctx, record) for f in self.fields if f.show is not None}

    def summary_text(self, ctx: Context, record: R) -> str:
        shown = self.values(ctx, record)
        return "\n".join(
            f"{ctx.t(f.label)}: {shown[f.name] or '—'}"
            for f in self.applicable(record)
            if f.name in shown
        )

    def summary_media(self, ctx: Context, record: R) -> tuple[MediaOut, ...]:
        """Pictures the summary is shown with (the product's photos on its card)."""
        return ()

    def summary_actions(self, ctx: Context, record: R) -> list[Option]:
        """The summary's buttons after the field edits (e.g. Save): `actions`, by default."""
        return choices(*self.actions)(ctx, record)

    async def on_action(self, ctx: Context, record: R, action: str) -> None:
        """A summary button other than a field edit was chosen."""

    # --- moving -----------------------------------------------------------------------

    def applicable(self, record: R) -> list[Field[R]]:
        return [f for f in self.fields if f.applies is None or f.applies(record)]

    def unanswered(self, record: R) -> list[Field[R]]:
        return [f for f in self.applicable(record) if not self.answered(record, f)]

    async def start(self, ctx: Context, **data: Any) -> None:
        """From the first unanswered field, with `data` (e.g. the row it fills); see `open`."""
        if self.intro is not None:
            ctx.reply(ctx.t(self.intro))
        await self.open(ctx, NEXT, **data)

    async def open(self, ctx: Context, step: str, **data: Any) -> None:
        """Open the flow afresh at `step` (nothing kept from an earlier round), `data` kept."""
        ctx.end_flow()
        ctx.goto(self.flow, step)
        ctx.update_data(**data)
        await self.prompt(ctx)

    async def go(self, ctx: Context, step: str | None) -> None:
        """Move to a step (a field's name, the summary, a step of the form's own) and ask it."""
        ctx.goto(self.flow, step)
        await self.prompt(ctx)

    async def advance(self, ctx: Context) -> None:
        """After an answer: back to the summary when editing, else the next unanswered field."""
        record = await self.load(ctx)
        if record is None:
            await self.lost(ctx)
            return
        missing = self.unanswered(record)
        if ctx.data.get("editing") or not missing:
            ctx.update_data(editing=False)
            await self.go(ctx, self.summary_step)
        else:
            await self.go(ctx, NEXT)

    async def edit(self, ctx: Context, name: str) -> None:
        ctx.goto(self.flow, name)
        ctx.update_data(editing=True)
        await self.prompt(ctx)

    def current(self, ctx: Context, record: R) -> str:
        """The step being asked: the stored one, with NEXT worked out from the record."""
        step = ctx.step or ""
        if step == NEXT:
            missing = self.unanswered(record)
            return missing[0].name if missing else self.summary_step
        return step

    async def load(self, ctx: Context) -> R | None:
        """The record, read once per step: kept in the update's memo until something that may
        change it runs (an answer read and saved, a step's or the summary's own hook)."""
        if self.data_key is not None:
            return await self.record(ctx)  # a dict in the conversation: nothing to save
        key = "form:" + self.flow
        if key not in ctx.memo:
            ctx.memo[key] = await self.record(ctx)
        return cast(R | None, ctx.memo[key])

    def changed(self, ctx: Context) -> None:
        """Forget the record read in this update: the next look reads it again."""
        ctx.memo.pop("form:" + self.flow, None)

    async def back(self, ctx: Context, record: R) -> None:
        order = [f.name for f in self.applicable(record)]
        step = self.current(ctx, record)
        here = order.index(step) if step in order else 0
        editing = bool(ctx.data.get("editing"))
        if editing or here == 0:
            ctx.update_data(editing=False)
            await self.go(ctx, self.summary_step if editing else order[0])
        else:
            await self.go(ctx, order[here - 1])

    # --- asking -----------------------------------------------------------------------

    async def _where(self, ctx: Context) -> tuple[R | None, str, Step[R] | None, Field[R] | None]:
        """The record (None, and the person told, when it is gone) and the current step."""
        record = await self.load(ctx)
        if record is None:
            await self.lost(ctx)
            return None, "", None, None
        step = self.current(ctx, record)
        return record, step, self.steps.get(step), self.by_name.get(step)

    async def prompt(self, ctx: Context) -> None:
        record, step, own, field = await self._where(ctx)
        if record is None:
            return
        if own is not None:
            self._ask(ctx, step, asked(own.ask, ctx, record), own.options(ctx, record), own.columns)
        elif field is not None:
            ctx.replies.extend(await field.input.ask(ctx, self, field, record))
        elif step == EDIT_PICK:
            options = [
                Option(o.value, o.label.removeprefix("✏️ "), o.words)
                for o in self.edit_options(ctx, record)
            ]
            options.append(Option(BACK, ctx.t("↩️ Back to the card")))
            self._ask(ctx, EDIT_PICK, ctx.t("Which field do you want to change?"), options)
        elif step == self.summary_step:
            await self.ask_summary(ctx, record)
        else:
            await self.advance(ctx)

    def _ask(
        self, ctx: Context, step: str, text: str, options: list[Option], columns: int = 2
    ) -> None:
        ctx.replies.append(
            choice_reply(
                ctx.capabilities, ctx.t, text, options, flow=self.flow, step=step, columns=columns
            )
        )

    def question(
        self,
        ctx: Context,
        field: Field[R],
        record: R,
        options: list[Option],
        *,
        text: str | None = None,
        edit: bool = False,
        ask_contact: str | None = None,
    ) -> Reply:
        """A field's question with its options (and its Skip), drawn for this channel."""
        if field.skip is not None:
            options = [*options, Option(SKIP, ctx.t(field.skip.label))]
        return choice_reply(
            ctx.capabilities,
            ctx.t,
            text if text is not None else field.question(ctx, record),
            options,
            flow=self.flow,
            step=field.name,
            columns=field.input.columns,
            edit=edit,
            ask_contact=ask_contact,
        )

    def edit_options(self, ctx: Context, record: R) -> list[Option]:
        return [
            Option(f.name, "✏️ " + ctx.t(f.label), words=(ctx.t(f.label),))
            for f in self.applicable(record)
            if f.editable
        ]

    def summary_options(self, ctx: Context, record: R) -> list[Option]:
        edits = self.edit_options(ctx, record) if self.edits_on_summary else []
        return edits + self.summary_actions(ctx, record)

    async def ask_summary(self, ctx: Context, record: R) -> None:
        parts = (self.summary_heading(ctx, record), self.summary_text(ctx, record))
        text = "\n\n".join(p for p in parts if p)
        self._ask(ctx, self.summary_step, text, self.summary_options(ctx, record))
        if media := self.summary_media(ctx, record):
            ctx.replies[-1] = replace(ctx.replies[-1], media=media)

    # --- answers ----------------------------------------------------------------------

    async def on_event(self, ctx: Context) -> None:
        """Anything sent while this flow is open, other than a button press."""
        await self.answer(ctx, ctx.incoming.event)

    async def on_button(self, ctx: Context, payload: Payload) -> None:
        if ctx.flow != self.flow:
            ctx.reply(ctx.t("That button is from an earlier step."))
            if ctx.flow is not None:
                ctx.reprompt()
            return
        await self.answer(ctx, ButtonPress(payload.value), pressed_on=payload.step)

    async def answer(self, ctx: Context, event: Event, *, pressed_on: str | None = None) -> None:
        """An answer to the step being asked; `pressed_on`, the step a pressed button was
        drawn for (an older one is refused). A photo sent while something else is asked goes
        to the form's photo field at the summary (it means "add this photo"); elsewhere it
        waits for that field's turn."""
        record, step, own, field = await self._where(ctx)
        if record is None:
            return
        if pressed_on is not None and pressed_on != step:
            ctx.reply(ctx.t("That button is from an earlier step."))
            ctx.reprompt()
            return
        photo_field = (
            next((f for f in self.fields if f.input.takes_files), None)
            if isinstance(event, Photo | Document)
            else None
        )
        if photo_field is not None and step != photo_field.name:
            if step != self.summary_step:
                ctx.reply(
                    ctx.t("I will ask for photos at the end. Please answer this question first.")
                )
                await self.prompt(ctx)
                return
            ctx.goto(self.flow, photo_field.name)
            step, own, field = photo_field.name, None, photo_field
        if own is not None:
            options = own.options(ctx, record)
            choice = choice_of(event, options)
            if choice is not None and own.chosen is not None:
                await own.chosen(ctx, record, choice)
                self.changed(ctx)
            elif own.typed is not None and isinstance(event, Text):
                await own.typed(ctx, record, event.text)
                self.changed(ctx)
            elif own.typed is not None and not isinstance(event, ButtonPress):
                await self.refuse(ctx, ctx.t(NOT_UNDERSTOOD))
            elif not self.offer(ctx, step, event, options):
                await self.refuse(ctx, ctx.t("Please press one of the buttons."))
        elif field is not None:
            await self._answer_field(ctx, record, field, event)
        elif step == EDIT_PICK:
            await self._answer_edit_pick(ctx, record, event)
        elif step == self.summary_step:
            await self._answer_summary(ctx, record, event)
        else:
            await self.advance(ctx)

    def offer(self, ctx: Context, step: str, event: Event, options: list[Option]) -> bool:
        """A typed answer that could mean several options: offer those as buttons."""
        could_be = candidates(event.text, options) if isinstance(event, Text) else []
        if len(could_be) < 2:
            return False
        typed = event.text.strip()[:40] if isinstance(event, Text) else ""
        text = ctx.t(
            "“{typed}” could be more than one of these. Which one do you mean?", typed=typed
        )
        self._ask(ctx, step, text, could_be, columns=1)
        return True

    async def refuse(self, ctx: Context, message: str) -> None:
        ctx.reply(message)
        await self.prompt(ctx)

    async def _answer_field(self, ctx: Context, record: R, field: Field[R], event: Event) -> None:
        text = event.text if isinstance(event, Text) else None
        pressed = event.payload if isinstance(event, ButtonPress) else None
        if text is not None and normalize(text) in BACK_WORDS:
            await self.back(ctx, record)
            return
        numbered = self._numbered(ctx, field, record)
        if text is not None and text.strip().isdigit() and 0 < int(text) <= len(numbered):
            pressed = numbered[int(text) - 1].value  # a numbered line's number, typed
            event, text = ButtonPress(pressed), None
        if field.skip is not None and (
            pressed == SKIP
            or (text is not None and (is_no_answer(text) or normalize(text) in {"skip", "lewati"}))
        ):
            skipped = True
            outcome: Outcome = Got(field.skip.value)
        else:
            skipped = False
            outcome = await field.input.read(ctx, self, field, record, event)
            if isinstance(outcome, Stay) or field.input.takes_files:
                self.changed(ctx)  # the input stored something itself (a photo)
        if isinstance(outcome, Refuse):
            await self.refuse(ctx, outcome.message)
            return
        if isinstance(outcome, Stay):
            # Still this field (a ticked box, a photo of several): named, not NEXT, since what
            # the input stored may already count as an answer (one photo of up to five).
            # An input that moved elsewhere itself (its Back button) has named the step.
            if ctx.flow == self.flow and ctx.step == NEXT:
                ctx.goto(self.flow, field.name)
            return
        if field.check is not None and not skipped:
            refusal = field.check(ctx, record, outcome.value)
            if refusal is not None:
                await self.refuse(ctx, refusal)
                return
        saved = await self.save(ctx, record, field, outcome.value)
        if not self.saves_in_place:
            self.changed(ctx)
        if saved:
            await self.advance(ctx)

    def _numbered(self, ctx: Context, field: Field[R], record: R) -> list[Option]:
        """The options a text-only channel showed as numbered lines for this field."""
        options = field.input.options(ctx, self, field, record)
        if field.skip is not None:
            options = [*options, Option(SKIP, "")]
        caps = ctx.capabilities
        fits = len(options) <= caps.max_buttons or len(options) <= caps.list_rows
        return [] if fits else options

    async def _answer_summary(self, ctx: Context, record: R, event: Event) -> None:
        options = self.summary_options(ctx, record)
        choice = picked(event, options)
        if choice in self.by_name and self.edits_on_summary:
            await self.edit(ctx, choice)
        elif choice is not None and any(o.value == choice for o in options):
            self.changed(ctx)
            await self.on_action(ctx, record, choice)
        elif choice is None and self.offer(ctx, self.summary_step, event, options):
            return
        else:
            await self.refuse(
                ctx, ctx.t("Please tap a field to change it, or the button at the end.")
            )

    async def _answer_edit_pick(self, ctx: Context, record: R, event: Event) -> None:
        options = [*self.edit_options(ctx, record), Option(BACK, "")]
        choice = picked(event, options)
        if choice == BACK:
            await self.go(ctx, self.summary_step)
        elif choice in self.by_name:
            await self.edit(ctx, choice)
        elif choice is None and self.offer(ctx, EDIT_PICK, event, options):
            return
        else:
            await self.refuse(ctx, ctx.t("Please choose a field with the buttons."))
