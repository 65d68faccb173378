"""What a channel can show: the engine renders every question within these limits.

A flow never asks which channel it is on; it asks the capabilities (DESIGN.md's platform
limits). Channels are matched by the `Sender.channel` name; unknown names get Telegram's.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Capabilities:
    name: str
    max_buttons: int  # buttons in one message (0: none; choices are numbered in the text)
    button_title: int  # characters of a button's label
    buttons_per_row: int
    list_rows: int  # rows of a list message (0: no list messages)
    list_title: int = 24
    list_description: int = 72
    list_button: int = 20
    edits: bool = True  # a sent message can be replaced (a checklist ticks in place)
    max_text: int = 4096  # characters of one text message (longer text is split by the channel)
    max_body: int = 4096  # characters of the text that carries buttons or a list
    albums: bool = True
    contact_button: bool = True  # a one-tap "share my number" button
    unique_titles: bool = False  # no two buttons (or rows) of a message may share a title or id
    command_menu: bool = True  # the app lists the bot's commands (else the menu shows them all)


TELEGRAM = Capabilities(
    "telegram", max_buttons=100, button_title=64, buttons_per_row=8, list_rows=0
)
# WhatsApp Cloud API: 3 reply buttons (title <= 20), list messages of <= 10 rows, no edits.
WHATSAPP = Capabilities(
    "whatsapp",
    max_buttons=3,
    button_title=20,
    buttons_per_row=1,
    list_rows=10,
    edits=False,
    max_body=1024,
    albums=False,
    contact_button=False,
    unique_titles=True,
    command_menu=False,
)
# The terminal numbers every button itself ("1", "2" ... press them); it cannot edit.
CONSOLE = Capabilities(
    "console", max_buttons=100, button_title=64, buttons_per_row=8, list_rows=0, edits=False
)
# A text-only channel (SMS-like): choices become numbered lines, answered by their number.
PLAIN = Capabilities(
    "plain",
    max_buttons=0,
    button_title=0,
    buttons_per_row=1,
    list_rows=0,
    edits=False,
    command_menu=False,
)

BY_CHANNEL = {c.name: c for c in (TELEGRAM, WHATSAPP, CONSOLE, PLAIN)}


def for_channel(name: str) -> Capabilities:
    return BY_CHANNEL.get(name, TELEGRAM)
