"""What reading an answer gives (Got, Refuse, Stay), what a form declares (a Field and its
Input kind, fixed options as data, a Skip, a question's text, a Step of its own), and which
option an answer chose."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from handlers.kit.context import Context
from handlers.kit.events import ButtonPress, Event, Reply, Text
from handlers.kit.render import Option, pick

# A form's record: what its fields are read from and written to (a row or rows of its own,
# or the dict kept in the conversation: `dict[str, Any]`).
# Contravariant: a field that reads less of the record (a Protocol) serves a form whose
# record has more.
R = TypeVar("R", contravariant=True)
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Got:
    """An answer read and accepted."""

    value: Any


@dataclass(frozen=True, slots=True)
class Refuse:
    """An answer turned down; `message` (translated) says why, then the question comes again."""

    message: str


@dataclass(frozen=True, slots=True)
class Stay:
    """The input answered itself (a ticked box, a follow-up question): same field, no save."""


Outcome = Got | Refuse | Stay
Options = Callable[[Context, Any], list[Option]]
# A fixed option as data: (value, N_-marked label) or (value, label, words typed for it).
Spec = tuple[str, str] | tuple[str, str, tuple[str, ...]]


def choices(*specs: Spec) -> Options:
    """Fixed options, declared as data and translated when shown."""

    def options(ctx: Context, record: Any) -> list[Option]:
        return [Option(s[0], ctx.t(s[1]), s[2] if len(s) == 3 else ()) for s in specs]

    return options


@dataclass(frozen=True, slots=True)
class Skip:
    """An optional field: a button (and typed "no"/"skip" words) that stores `value`."""

    label: str  # N_-marked
    value: Any = None


Ask = str | Callable[[Context, R], str]


def asked(ask: Ask[T], ctx: Context, record: T) -> str:
    """A question's text: an N_-marked string, or a function of (ctx, record) giving it."""
    return ask(ctx, record) if callable(ask) else ctx.t(ask)


@dataclass(frozen=True)
class Step(Generic[R]):
    """A step of the form's own, outside the fields: a question, its options, what a choice
    does (a confirmation, "continue or start new", "which photo should go") and, with
    `typed`, what a typed answer that is none of the options does."""

    ask: Ask[R]
    options: Callable[[Context, R], list[Option]] = lambda ctx, record: []
    chosen: Callable[[Context, R, str], Awaitable[None]] | None = None
    typed: Callable[[Context, R, str], Awaitable[None]] | None = None
    columns: int = 2


def picked(event: Event, options: list[Option]) -> str | None:
    """What was pressed, or the option a typed answer names; not checked against `options`."""
    if isinstance(event, ButtonPress):
        return event.payload
    if isinstance(event, Text):
        return pick(event.text, options)
    return None


def choice_of(event: Event, options: list[Option]) -> str | None:
    """A pressed option, or the option a typed answer names (number, label, words)."""
    chosen = picked(event, options)
    return chosen if chosen is None or any(o.value == chosen for o in options) else None


class Input(Generic[R]):
    """An input kind: how a field's question is drawn and how an answer is read. `form` is
    the engine's Form asking (typed Any: this module needs nothing from the engine)."""

    columns: int = 2
    takes_files: bool = False  # photos and documents are its answers

    def options(self, ctx: Context, form: Any, field: Field[Any], record: R) -> list[Option]:
        return []

    async def ask(self, ctx: Context, form: Any, field: Field[Any], record: R) -> list[Reply]:
        return [form.question(ctx, field, record, self.options(ctx, form, field, record))]

    async def read(
        self, ctx: Context, form: Any, field: Field[Any], record: R, event: Event
    ) -> Outcome:
        raise NotImplementedError


@dataclass(frozen=True)
class Field(Generic[R]):
    name: str  # the step id, the payload's step and the record's key
    label: str  # N_-marked: on the summary and its edit buttons
    ask: Ask[R]  # N_-marked question, or a function of (ctx, record) giving the translated one
    input: Input[R]
    applies: Callable[[R], bool] | None = None  # e.g. shelf life only for food
    show: Callable[[Context, R], str] | None = None  # (ctx, record) -> value on the summary
    skip: Skip | None = None
    check: Callable[[Context, R, Any], str | None] | None = None  # refusal, translated
    editable: bool = True  # offered among the summary's edits

    def question(self, ctx: Context, record: R) -> str:
        return asked(self.ask, ctx, record)
