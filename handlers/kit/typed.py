"""Buttons answered by typing: one rule for every button anywhere, on every channel.

WhatsApp users type more than they tap, and a typed "ya" should do what the "✅ Ya, boleh"
button does. What a message showed is remembered as (payload, label) pairs; a typed answer
presses a button when it is the button's number, its label (emoji, case and accents aside),
a way of saying yes or no that fits exactly one button ("ya", "iya", "ok", "boleh", "yes";
"tidak", "nggak", "gak", "no", "batal", "cancel"), or, outside a form, a word of the label or
the label with a small typo.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from handlers.kit.events import Reply
from handlers.kit.parsing import match_choice
from handlers.kit.payload import Payload
from handlers.kit.render import normalize

Shown = list[tuple[str, str]]  # (payload, label), in the order shown

YES = frozenset(
    {
        "ya", "iya", "iyaa", "iyap", "yaa", "y", "yes", "yeah", "yep", "yup", "ok", "oke",
        "okay", "okey", "okee", "boleh", "setuju", "agree", "mau", "sip", "siap", "betul",
        "benar", "sure",
    }
)  # fmt: skip
NO = frozenset(
    {
        "tidak", "tdk", "gak", "ga", "gk", "nggak", "ngga", "enggak", "engga", "ndak", "no",
        "nope", "n", "jangan", "bukan", "batal", "batalkan", "cancel", "not", "emoh",
    }
)  # fmt: skip
YES_VALUES = frozenset({"yes", "agree", "ok"})
NO_VALUES = frozenset({"no", "cancel", "disagree"})
MAX_WORDS = 5  # longer text is a sentence, not an answer to a button
# "matikan pengumuman", "turn on fairs": a switch's label with what to make it. A button whose
# payload step is "toggle" is then pressed as step "on" or "off" (its handler knows both).
SWITCH_WORDS = (
    ("off", ("matikan", "nonaktifkan", "hentikan", "turn off", "switch off", "stop", "off")),
    ("on", ("nyalakan", "hidupkan", "aktifkan", "turn on", "switch on", "on")),
)
TOGGLE = "toggle"


def shown_in(replies: Iterable[Reply]) -> tuple[Shown, Shown]:
    """The buttons of the last message with any (its numbered lines, list rows or buttons),
    and those of the messages before it."""
    per_message: list[Shown] = []
    for reply in replies:
        if reply.to is not None:
            continue
        pairs = [(b.payload, b.label) for row in reply.buttons for b in row]
        if reply.menu is not None:
            # a title cut to fit has its whole label as the description
            pairs += [
                (r.payload, r.description if r.title.endswith("…") and r.description else r.title)
                for r in reply.menu.rows
            ]
        pairs += [(b.payload, b.label) for b in reply.numbered]
        if pairs:
            per_message.append(pairs)
    if not per_message:
        return [], []
    return per_message[-1], [p for m in per_message[:-1] for p in m]


def intent(text: str) -> str | None:
    """ "yes" or "no" for a short answer that says so ("ya boleh", "gak usah"), else None."""
    words = normalize(text).split()
    if not words or len(words) > MAX_WORDS:
        return None
    if words[0] in NO or (len(words) > 1 and words[1] in NO and words[0] in YES):
        return "no"
    if words[0] in YES:
        return "yes"
    return None


def _button_intent(payload: str, label: str) -> str | None:
    unpacked = Payload.unpack(payload)
    value = unpacked.value.split(".", 1)[0] if unpacked else ""
    if value in YES_VALUES:
        return "yes"
    if value in NO_VALUES:
        return "no"
    words = normalize(label).split()
    if words and words[0] in NO:
        return "no"
    if words and words[0] in YES:
        return "yes"
    return None


def press_for(text: str, shown: Sequence[tuple[str, str]], *, loose: bool) -> str | None:
    """The payload a typed answer presses among `shown`, or None. `loose` allows a word of a
    label and small typos (never inside a form, whose answers are free text)."""
    wanted = normalize(text)
    if not wanted or not shown or len(wanted.split()) > MAX_WORDS:
        return None
    for state, verbs in SWITCH_WORDS:
        for verb in verbs:
            if wanted.startswith(verb + " ") and (
                pressed := press_for(wanted[len(verb) :], shown, loose=True)
            ):
                unpacked = Payload.unpack(pressed)
                if unpacked is not None and unpacked.step == TOGGLE:
                    return Payload(unpacked.flow, state, unpacked.value).pack()
                return pressed
    exact = {p for p, label in shown if normalize(label) == wanted}
    if len(exact) == 1:
        return exact.pop()
    said = intent(text)
    if said is not None:
        fitting = {p for p, label in shown if _button_intent(p, label) == said}
        if len(fitting) == 1:
            return fitting.pop()
    if not loose:
        return None
    options: dict[str, tuple[str, ...]] = {}
    for payload, label in shown:
        options.setdefault(payload, ())
        options[payload] += (label,)
    return match_choice(text, options).match


def press_label(text: str, shown: Sequence[tuple[str, str]]) -> str | None:
    """The payload of the one button whose whole label was typed (inside a form)."""
    wanted = normalize(text)
    exact = {p for p, label in shown if wanted and normalize(label) == wanted}
    return exact.pop() if len(exact) == 1 else None


def press_number(text: str, shown: Sequence[tuple[str, str]]) -> str | None:
    typed = text.strip().rstrip(".")
    if typed.isdigit() and 1 <= int(typed) <= len(shown):
        return shown[int(typed) - 1][0]
    return None
