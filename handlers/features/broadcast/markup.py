"""A broadcast's formatting, checked when it is composed for every channel it will reach.

Telegram's HTML is read as the Bot API reads it (its "HTML style"): only its tags, properly
nested, `<a>` with an http(s) or tg link, `<`, `>` and `&` outside tags written as entities
(named ones: &lt; &gt; &amp; &quot;; any numeric one). Text that fails here would fail for
every recipient at send time. WhatsApp has no HTML: it gets the text without tags, bold as
*bold*, italic as _italic_, strike as ~strike~, code as ```code```, and a link's address
after its words.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from handlers.i18n import N_

TEXT_LIMIT = 4096  # characters of visible text, Telegram and WhatsApp alike

# Telegram's tags, and what each becomes on WhatsApp.
_TAGS = {
    "b": "*",
    "strong": "*",
    "i": "_",
    "em": "_",
    "u": "",
    "ins": "",
    "s": "~",
    "strike": "~",
    "del": "~",
    "span": "",
    "tg-spoiler": "",
    "a": "",
    "code": "```",
    "pre": "```",
    "blockquote": "",
    "tg-emoji": "",
}
_NO_NESTING = {"code", "pre"}  # take no other tags inside (but <pre><code class=...>)
_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*>")
_ATTR = re.compile(r'\s*([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|\'([^\']*)\'|([^\s"\'>]+)))?')
_ENTITY = re.compile(r"&(#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[a-zA-Z]+);")
_NAMED = {"lt", "gt", "amp", "quot"}


@dataclass(frozen=True, slots=True)
class Problem:
    """Why the text cannot go out: `reason` is a msgid with {detail} (for the chat) and
    `english` the same said once for the command line."""

    reason: str
    detail: str

    @property
    def english(self) -> str:
        return self.reason.format(detail=self.detail)


BAD_LT = N_("a “<” that is not part of a tag ({detail}); write &lt; instead")
BAD_AMP = N_("an “&” that is not an entity ({detail}); write &amp; instead")
UNKNOWN_TAG = N_("Telegram does not know the tag {detail}")
UNCLOSED = N_("the tag {detail} is never closed")
UNEXPECTED_END = N_("the closing tag {detail} has no opening tag")
CROSSED = N_("tags cross each other ({detail}); close the inner one first")
NESTED_IN_CODE = N_("no other tag may stand inside code or pre ({detail})")
BAD_LINK = N_("a link needs an http:// or https:// address ({detail})")
BAD_ATTRIBUTE = N_("the tag {detail} has an attribute Telegram does not accept")
TOO_LONG = N_("the text is {detail} characters long; at most 4096 can be sent")
EMPTY = N_("there is no text left once the tags are taken out{detail}")


def _attributes(raw: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _ATTR.finditer(raw):
        if match.group(1):
            value = match.group(2) or match.group(3) or match.group(4) or ""
            found[match.group(1).lower()] = html.unescape(value)
    return found


def _where(text: str, at: int) -> str:
    return f"“{text[max(0, at - 12) : at + 12].strip()}”"


def check_telegram_html(text: str) -> Problem | None:
    """None when Telegram would accept `text` with parse_mode HTML, else the first reason."""
    stack: list[str] = []
    pos = 0
    for at, char in ((m.start(), m.group()) for m in re.finditer(r"[<&]", text)):
        if at < pos:
            continue  # inside a tag just read
        if char == "&":
            entity = _ENTITY.match(text, at)
            if entity is None or (
                not entity.group(1).startswith("#") and entity.group(1).lower() not in _NAMED
            ):
                return Problem(BAD_AMP, _where(text, at))
            pos = entity.end()
            continue
        tag = _TAG.match(text, at)
        if tag is None:
            return Problem(BAD_LT, _where(text, at))
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if name not in _TAGS:
            return Problem(UNKNOWN_TAG, f"<{name}>")
        if closing:
            if not stack:
                return Problem(UNEXPECTED_END, f"</{name}>")
            if stack[-1] != name:
                return Problem(CROSSED, f"<{stack[-1]}> … </{name}>")
            stack.pop()
        else:
            problem = _check_open(name, _attributes(tag.group(3)), stack)
            if problem is not None:
                return problem
            stack.append(name)
        pos = tag.end()
    if stack:
        return Problem(UNCLOSED, f"<{stack[-1]}>")
    visible = plain_text(text)
    if len(visible) > TEXT_LIMIT:
        return Problem(TOO_LONG, str(len(visible)))
    if not visible.strip():
        return Problem(EMPTY, "")
    return None


def check(text: str, *, html: bool) -> Problem | None:
    """Why a broadcast's text cannot go out on some channel, or None: Telegram's HTML
    rules when it is HTML, the length every channel takes either way."""
    if html:
        return check_telegram_html(text)
    if len(text) > TEXT_LIMIT:
        return Problem(TOO_LONG, str(len(text)))
    return None


def _check_open(name: str, attrs: dict[str, str], stack: list[str]) -> Problem | None:
    inside = stack[-1] if stack else None
    if inside in _NO_NESTING and not (inside == "pre" and name == "code"):
        return Problem(NESTED_IN_CODE, f"<{inside}><{name}>")
    if name == "a":
        href = attrs.get("href", "")
        if not re.match(r"(https?://|tg://)\S", href, re.I):
            return Problem(BAD_LINK, href or "href")
    elif name == "span":
        if attrs.get("class") != "tg-spoiler":
            return Problem(BAD_ATTRIBUTE, '<span> (only class="tg-spoiler")')
    elif name == "tg-emoji":
        if not attrs.get("emoji-id", "").isdigit():
            return Problem(BAD_ATTRIBUTE, "<tg-emoji> (emoji-id)")
    elif name == "code":
        if set(attrs) - {"class"}:
            return Problem(BAD_ATTRIBUTE, "<code>")
    elif name == "blockquote":
        if set(attrs) - {"expandable"}:
            return Problem(BAD_ATTRIBUTE, "<blockquote>")
    elif attrs:
        return Problem(BAD_ATTRIBUTE, f"<{name}>")
    return None


def plain_text(text: str) -> str:
    """What a reader sees of checked HTML: the tags out, the entities read."""
    return html.unescape(_TAG.sub("", text))


def whatsapp_text(text: str) -> str:
    """Checked Telegram HTML as WhatsApp formats text (no tags; *bold*, _italic_, ~strike~,
    ```code```; a link's address after its words). WhatsApp reads a marker only next to a
    word, so markers go around the words, never around the spaces beside them."""
    # A stack of open elements: (tag, attributes, the text rendered inside so far).
    stack: list[tuple[str, dict[str, str], list[str]]] = [("", {}, [])]
    pos = 0
    for tag in _TAG.finditer(text):
        stack[-1][2].append(html.unescape(text[pos : tag.start()]))
        pos = tag.end()
        closing, name = tag.group(1) == "/", tag.group(2).lower()
        if not closing:
            stack.append((name, _attributes(tag.group(3)), []))
        elif len(stack) > 1:
            opened, attrs, inner = stack.pop()
            stack[-1][2].append(_render(opened, attrs, "".join(inner)))
    stack[-1][2].append(html.unescape(text[pos:]))
    while len(stack) > 1:  # unclosed (never for checked text): keep the words
        opened, attrs, inner = stack.pop()
        stack[-1][2].append("".join(inner))
    return "".join(stack[0][2])


def _render(name: str, attrs: dict[str, str], inner: str) -> str:
    if name == "a":
        href = attrs.get("href", "")
        return f"{inner} ({href})" if href and href != inner.strip() else inner
    marker = _TAGS.get(name, "")
    core = inner.strip()
    if not marker or not core or core.startswith(marker) or core.endswith(marker):
        return inner
    lead = inner[: len(inner) - len(inner.lstrip())]
    trail = inner[len(inner.rstrip()) :]
    return f"{lead}{marker}{core}{marker}{trail}"
