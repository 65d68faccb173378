"""Typed button payloads: which flow and step a button belongs to, and the chosen value.

Telegram limits callback data to 64 bytes and WhatsApp reply ids to 256; we keep to 64.
A payload names its step, so a button pressed after its step has passed is recognised as old.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, fields
from typing import Any, ClassVar, Self, get_type_hints

from handlers.kit.events import Button

MAX_BYTES = 64
_SEP = "|"


@dataclass(frozen=True, slots=True)
class Payload:
    flow: str
    step: str
    value: str = ""

    def pack(self) -> str:
        for part in (self.flow, self.step):
            if _SEP in part:
                raise ValueError(f"{_SEP!r} is not allowed in a flow or step name: {part!r}")
        packed = _SEP.join((self.flow, self.step, self.value))
        if len(packed.encode()) > MAX_BYTES:
            raise ValueError(f"button payload over {MAX_BYTES} bytes: {packed!r}")
        return packed

    @classmethod
    def unpack(cls, raw: str) -> Payload | None:
        """None for anything we did not make (forged or garbled button data)."""
        parts = raw.split(_SEP, 2)
        if len(parts) != 3 or not parts[0] or not parts[1]:
            return None
        return cls(*parts)


# --- one class per kind of button -----------------------------------------------------------

_FIELD_SEP = "."
_MAX_INT_DIGITS = 12
_KINDS: dict[tuple[str, str], type[ButtonData]] = {}
Kinds = tuple[tuple[str, type], ...]


def _kinds_of(cls: type, *, after_step: bool) -> Kinds:
    """A payload dataclass's typed fields (after its `step` field for a ButtonData)."""
    hints = get_type_hints(cls)
    names = [f.name for f in fields(cls)]
    if after_step:
        if not names or names[0] != "step":
            raise TypeError(f"{cls.__name__}: the first field must be `step: str`")
        names = names[1:]
    kinds = tuple((n, hints[n]) for n in names)
    for name, kind in kinds:
        if kind not in (int, str, bool):
            raise TypeError(f"{cls.__name__}.{name}: int, str or bool only")
    return kinds


def _encode(obj: object, kinds: Kinds, sep: str) -> str:
    parts = []
    for name, kind in kinds:
        value = getattr(obj, name)
        if kind is bool:
            parts.append("1" if value else "0")
        elif kind is int:
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"{type(obj).__name__}.{name}: {value!r}")
            parts.append(str(value))
        else:
            if sep in value or _SEP in value:
                raise ValueError(f"{type(obj).__name__}.{name} holds a separator: {value!r}")
            parts.append(value)
    return sep.join(parts)


def _decode(raw: str, kinds: Kinds, sep: str) -> list[object] | None:
    """The typed fields of `raw`, or None for a value this kind never packed."""
    texts = raw.split(sep) if kinds else [raw] * bool(raw)
    if len(texts) != len(kinds):
        return None
    values: list[object] = []
    for text, (_name, kind) in zip(texts, kinds, strict=True):
        if kind is int:
            if not (text.isascii() and text.isdecimal()) or len(text) > _MAX_INT_DIGITS:
                return None
            values.append(int(text))
        elif kind is bool:
            if text not in ("0", "1"):
                return None
            values.append(text == "1")
        else:
            values.append(text)
    return values


class ButtonData:
    """One kind of button, declared once: its flow (the prefix), the steps it may name, and
    typed fields packed into the value, as aiogram's and pywa's CallbackData do.

        @dataclass(frozen=True)  # not slots=True: it would declare the class twice
        class ItemButton(ButtonData, flow="item", steps=("open", "edit")):
            step: str
            item_id: int

        ItemButton("open", 7).pack()          # "item|open|7" (over 64 bytes: ValueError)
        ItemButton.read(Payload("item", "open", "x"))  # None: not ours, or garbled

    Fields are `int` (0 or more, at most 12 digits), `str` (without the separator or "|")
    or `bool`. A (flow, step) is declared by one class only (a second is an error at
    import); `sep` joins the fields (a kind whose buttons are already out keeps its old one).
    """

    flow: ClassVar[str]
    steps: ClassVar[frozenset[str]]
    sep: ClassVar[str]
    _types: ClassVar[Kinds]

    def __init_subclass__(
        cls, *, flow: str, steps: Iterable[str], sep: str = _FIELD_SEP, **kwargs: Any
    ) -> None:
        super().__init_subclass__(**kwargs)
        cls.steps = frozenset(steps)
        for step in cls.steps:
            if (flow, step) in _KINDS:
                raise ValueError(f"button {flow!r}/{step!r} is declared twice")
            if _SEP in flow + step or not flow or not step:
                raise ValueError(f"bad button flow or step {flow!r}/{step!r}")
            _KINDS[flow, step] = cls
        if len(sep) != 1 or sep == _SEP:
            raise ValueError(f"bad field separator {sep!r}")
        cls.flow = flow
        cls.sep = sep

    @classmethod
    def _fields(cls) -> Kinds:
        if "_types" not in cls.__dict__:
            cls._types = _kinds_of(cls, after_step=True)
        return cls._types

    def payload(self) -> Payload:
        step: str = getattr(self, "step")  # noqa: B009 - every subclass's first field
        if step not in self.steps:
            raise ValueError(f"{type(self).__name__}: unknown step {step!r}")
        return Payload(self.flow, step, _encode(self, self._fields(), self.sep))

    def pack(self) -> str:
        """The button's data; a payload over 64 bytes is refused here, when it is built."""
        return self.payload().pack()

    def button(self, label: str) -> Button:
        return Button(label=label, payload=self.pack())

    @classmethod
    def read(cls, payload: Payload) -> Self | None:
        """This kind's typed fields from a pressed button, or None (another kind, an old
        step, a forged or garbled value)."""
        if payload.flow != cls.flow or payload.step not in cls.steps:
            return None
        values = _decode(payload.value, cls._fields(), cls.sep)
        if values is None:
            return None
        make: Callable[..., Self] = cls  # a dataclass: (step, *fields)
        return make(payload.step, *values)


class ValueData:
    """One kind of value inside a form field's buttons (the form's flow and the field's step
    are the payload's; the input kind packs its own value): a tag, then typed fields.

        @dataclass(frozen=True)
        class Remove(ValueData, tag="rm:"):
            photo_id: int

        Remove(12).pack()      # "rm:12"
        Remove.read("rm:x")    # None
    """

    tag: ClassVar[str]
    sep: ClassVar[str]
    _types: ClassVar[Kinds]

    def __init_subclass__(cls, *, tag: str = "", sep: str = ":", **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if len(sep) != 1 or sep == _SEP or _SEP in tag:
            raise ValueError(f"bad tag or separator {tag!r}/{sep!r}")
        cls.tag, cls.sep = tag, sep

    @classmethod
    def _fields(cls) -> Kinds:
        if "_types" not in cls.__dict__:
            cls._types = _kinds_of(cls, after_step=False)
        return cls._types

    def pack(self) -> str:
        return self.tag + _encode(self, self._fields(), self.sep)

    @classmethod
    def read(cls, raw: str | None) -> Self | None:
        if raw is None or not raw.startswith(cls.tag):
            return None
        values = _decode(raw[len(cls.tag) :], cls._fields(), cls.sep)
        if values is None:
            return None
        make: Callable[..., Self] = cls
        return make(*values)
