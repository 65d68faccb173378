"""Choices drawn within a channel's capabilities, and typed answers read back into choices.

A choice of n options becomes inline buttons where n fits, a list message where lists exist
and n fits, else numbered lines. Every choice also accepts its number and its typed label
(case- and accent-insensitive, in either language).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from handlers.i18n import N_
from handlers.kit.capabilities import Capabilities
from handlers.kit.events import Button, ListMenu, ListRow, Reply
from handlers.kit.parsing import match_choice
from handlers.kit.payload import Payload

Translate = Callable[..., str]


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str  # already translated
    words: tuple[str, ...] = ()  # other typed answers that mean this option
    description: str | None = None


def normalize(text: str) -> str:
    """Lower case, accents and emoji dropped, spaces collapsed: "⭐ Makanán!" -> "makanan"."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^0-9a-z]+", " ", plain.casefold()).strip()


def shorten(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary where one is near."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    space = cut.rfind(" ")
    if space >= limit // 2:
        cut = cut[:space]
    return cut.rstrip(" ,.;:-") + "…"


def _unique(titles: list[str], limit: int, *, distinct: bool = True) -> list[str]:
    """Shortened titles; with `distinct`, made distinct by a number where two are equal."""
    seen: set[str] = set()
    out = []
    for i, title in enumerate(titles, start=1):
        short = shorten(title, limit)
        if distinct and short in seen:
            short = shorten(f"{i}. {title}", limit)
        seen.add(short)
        out.append(short)
    return out


def choice_reply(
    caps: Capabilities,
    t: Translate,
    text: str,
    options: Sequence[Option],
    *,
    flow: str,
    step: str,
    columns: int = 2,
    edit: bool = False,
    ask_contact: str | None = None,
) -> Reply:
    """`text` with `options` to choose from, drawn as this channel can."""
    if caps.unique_titles:
        options = _distinct(options, key=lambda o: o.value)
    payloads = [Payload(flow, step, o.value).pack() for o in options]
    if not options:
        return Reply(text=_fit(caps, text), edit=edit and caps.edits, ask_contact=ask_contact)
    if len(options) <= caps.max_buttons:
        titles = _unique([o.label for o in options], caps.button_title, distinct=caps.unique_titles)
        per_row = max(1, min(columns, caps.buttons_per_row))
        items = [Button(label=ti, payload=p) for ti, p in zip(titles, payloads, strict=True)]
        rows = tuple(tuple(items[i : i + per_row]) for i in range(0, len(items), per_row))
        return Reply(
            text=_fit(caps, text), buttons=rows, edit=edit and caps.edits, ask_contact=ask_contact
        )
    if len(options) <= caps.list_rows:
        titles = _unique([o.label for o in options], caps.list_title)
        rows_ = tuple(
            ListRow(
                payload=p,
                title=ti,
                description=shorten(o.description, caps.list_description)
                if o.description
                else (shorten(o.label, caps.list_description) if ti != o.label else None),
            )
            for ti, p, o in zip(titles, payloads, options, strict=True)
        )
        menu = ListMenu(button=shorten(t(N_("Choose")), caps.list_button), rows=rows_)
        return Reply(text=_fit(caps, text), menu=menu, ask_contact=ask_contact)
    lines = [f"{i}. {o.label}" for i, o in enumerate(options, start=1)]
    body = text + "\n\n" + "\n".join(lines) + "\n" + t(N_("Type the number of your choice."))
    return Reply(text=_fit(caps, body), ask_contact=ask_contact)


T = TypeVar("T")


def _distinct(items: Sequence[T], key: Callable[[T], str]) -> list[T]:
    """Each choice once: a platform that refuses repeated ids shows the first of a repeat
    (the business's own sector, starred, before the full list)."""
    seen: set[str] = set()
    out = []
    for item in items:
        if key(item) not in seen:
            seen.add(key(item))
            out.append(item)
    return out


def _fit(caps: Capabilities, text: str) -> str:
    return text if len(text) <= caps.max_text else shorten(text, caps.max_text)


def pick(text: str, options: Sequence[Option]) -> str | None:
    """The option a typed answer means: its number, its label or one of its words."""
    wanted = normalize(text)
    if not wanted:
        return None
    if wanted.isdigit() and 1 <= int(wanted) <= len(options):
        return options[int(wanted) - 1].value
    exact = {
        option.value
        for option in options
        if wanted
        in {normalize(option.label), normalize(option.value), *map(normalize, option.words)}
    }
    if exact:
        return exact.pop() if len(exact) == 1 else None  # a word two options share: ask
    # Small typos and words of a label ("mknan", "fesion"): one clear match, never a guess.
    names_of = {o.value: (o.label, o.value, *o.words) for o in options}
    return match_choice(text, names_of).match


def candidates(text: str, options: Sequence[Option]) -> list[Option]:
    """The options a typed answer could equally mean ("batik": fashion or handicraft), to
    offer as buttons; empty when it means one option or none."""
    wanted = normalize(text)
    if not wanted or (wanted.isdigit() and 1 <= int(wanted) <= len(options)):
        return []
    exact = [
        o
        for o in options
        if wanted in {normalize(o.label), normalize(o.value), *map(normalize, o.words)}
    ]
    if len(exact) > 1:
        return exact
    if exact:
        return []
    names_of = {o.value: (o.label, o.value, *o.words) for o in options}
    found = set(match_choice(text, names_of).candidates)
    return [o for o in options if o.value in found]


# "PIRT, Halal", "pirt sama halal", "PIRT + Halal", "pirt serta halal", "pirt and halal"
LIST_SPLIT = re.compile(r"[,;/\n+]+|\s+(?:dan|and|sama|serta|plus|with|juga)\s+", re.IGNORECASE)


def pick_many(text: str, options: Sequence[Option]) -> list[str] | None:
    """Several options typed at once: "1 3 4", "PIRT, Halal"; None if any part is unknown."""
    parts = [p for p in LIST_SPLIT.split(text) if p.strip()]
    if len(parts) == 1 and re.fullmatch(r"[0-9 ]+", parts[0].strip()):
        parts = parts[0].split()
    chosen = [pick(p, options) for p in parts]
    if not chosen or any(c is None for c in chosen):
        return None
    return [c for c in chosen if c is not None]


# How each command is typed as a plain word, for channels without a command menu (WhatsApp):
# "Kirim /start" reads "Ketik daftar". The kit knows no feature: the route table teaches it
# the words every feature's surface declares (`learn_command_words`), command -> N_ word.
COMMAND_WORDS: dict[str, str] = {}
_COMMAND_RE: re.Pattern[str] | None = None


def learn_command_words(words: Mapping[str, str]) -> None:
    """The plain word (an N_ text) of each command name, replacing what was known."""
    global _COMMAND_RE
    COMMAND_WORDS.clear()
    COMMAND_WORDS.update(words)
    names = "|".join(re.escape(n) for n in sorted(COMMAND_WORDS, key=len, reverse=True))
    _COMMAND_RE = (
        re.compile(
            r"(?:\b(Send|send|Kirim|kirim|mengirim|Type|type|Ketik|ketik)\s+)?(?<![\w/.:])/("
            + names
            + r")(?![\w/])"
        )
        if names
        else None
    )


_VERBS = {"Send": "Type", "send": "type", "Type": "Type", "type": "type", "Kirim": "Ketik",
          "kirim": "ketik", "mengirim": "mengetik", "Ketik": "Ketik", "ketik": "ketik"}  # fmt: skip
# "(or type daftar)" / "(atau ketik daftar)": said already once the command is a word
_OR_TYPE_RE = re.compile(r"\s*\((?:or|atau) (?:type|ketik) [^()]{1,30}\)")


def typed_commands(t: Translate, text: str) -> str:
    """`text` with "/start" and its like written as the words to type, in the reader's
    language ("Kirim /start" -> "Ketik daftar", "/batal" -> "batal")."""
    if "/" not in text or _COMMAND_RE is None:
        return text

    def word(m: re.Match[str]) -> str:
        said = t(COMMAND_WORDS[m.group(2)])
        verb = m.group(1)
        if verb:
            return f"{_VERBS[verb]} {said}"
        at_line_start = m.start() == 0 or text[m.start() - 1] == "\n"
        return said if at_line_start else f"“{said}”"

    changed = _COMMAND_RE.sub(word, text)
    return _OR_TYPE_RE.sub("", changed) if changed != text else text


def fit(caps: Capabilities, t: Translate, reply: Reply) -> Reply:
    """Any reply made to fit the channel: too many buttons become a list (or numbered lines,
    beyond a list's rows), long labels are shortened, an edit becomes a new message; without
    a command menu, commands are written as the words to type."""
    if not caps.command_menu and "/" in reply.text:
        reply = replace(reply, text=typed_commands(t, reply.text))
    buttons = [b for row in reply.buttons for b in row]
    if caps.unique_titles and len(_distinct(buttons, key=lambda b: b.payload)) < len(buttons):
        buttons = _distinct(buttons, key=lambda b: b.payload)
        reply = replace(reply, buttons=tuple((b,) for b in buttons))
    edit = reply.edit and caps.edits
    if len(buttons) <= caps.max_buttons:
        titles = _unique([b.label for b in buttons], caps.button_title, distinct=caps.unique_titles)
        if titles == [b.label for b in buttons] and edit == reply.edit:
            return replace(reply, text=_fit(caps, reply.text))
        it = iter(titles)
        rows = tuple(tuple(Button(next(it), b.payload) for b in row) for row in reply.buttons)
        return replace(reply, text=_fit(caps, reply.text), buttons=rows, edit=edit)
    options = [Option(b.payload, b.label) for b in buttons]
    if len(buttons) <= caps.list_rows:
        titles = _unique([o.label for o in options], caps.list_title)
        rows_ = tuple(
            ListRow(
                payload=o.value,
                title=ti,
                description=shorten(o.label, caps.list_description) if ti != o.label else None,
            )
            for ti, o in zip(titles, options, strict=True)
        )
        menu = ListMenu(button=shorten(t(N_("Choose")), caps.list_button), rows=rows_)
        return replace(reply, text=_fit(caps, reply.text), buttons=(), menu=menu, edit=False)
    lines = "\n".join(f"{i}. {o.label}" for i, o in enumerate(options, start=1))
    body = f"{reply.text}\n\n{lines}\n{t(N_('Type the number of your choice.'))}"
    numbered = tuple(Button(o.label, o.value) for o in options)
    return replace(reply, text=_fit(caps, body), buttons=(), edit=False, numbered=numbered)
