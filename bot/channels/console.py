"""The terminal as a chat: type messages, pick buttons by number, send files by path."""

from __future__ import annotations

import asyncio
import mimetypes
import re
import sys
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import KW_ONLY, dataclass, field
from itertools import count
from pathlib import Path
from typing import Literal

from bot.channels import whatsapp_messages as whatsapp
from bot.channels.base import typed
from bot.runtime import Kurasi
from handlers.kit.events import (
    ButtonPress,
    Contact,
    Document,
    Event,
    Incoming,
    MediaRef,
    Photo,
    Reply,
    Sender,
    Unsupported,
)

NAME = "console"
HELP = """\
Console chat with Kurasi. Type as you would in Telegram:
  /start, /bantuan, ...   bot commands
  1, 2, ...               press that button of the newest message with buttons here
  5.2  (or :press 5.2)    press button 2 of message #5 (each message with buttons is numbered)
  :contact 0812...        share a phone number (the "share my number" button)
  :photo PATH             send an image file as a photo
  :file PATH              send any file as a document
  :sticker                send something that is not text
  :lang en|id             the language your "phone" is set to
  :as ID [NAME]           become another person (e.g. a curator: :as 2 Sari)
  :chat review            speak in the review group chat (where curators work)
  :chat me                back to your private chat with the bot
  :channel whatsapp       be a WhatsApp user: 3 buttons, lists, no edits (:channel console back)
  :help                   this help
  :quit                   leave (Ctrl-D works too)"""

PROMPT = "you › "
MAX_REMEMBERED = 200  # messages whose buttons can still be pressed by number
_MESSAGE_BUTTON = re.compile(r"#?(\d{1,6})\.(\d{1,3})")

Reader = Callable[[str], Awaitable[str | None]]
Writer = Callable[[str], None]


async def read_stdin(prompt: str) -> str | None:
    try:
        return await asyncio.to_thread(input, prompt)
    except EOFError:
        return None


def write_stdout(text: str) -> None:
    print(text, flush=True)


def write_raw(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


def erase_prompt_line() -> str:
    """What moves output off a waiting prompt: on a terminal, wipe the prompt's line and
    write over it; elsewhere (a pipe, a log) just start a new line."""
    return "\r\x1b[K" if sys.stdout.isatty() else "\n"


@dataclass(eq=False)
class ConsoleChannel:
    name = NAME

    app: Kurasi
    _: KW_ONLY
    user_id: str = "console-user"
    display_name: str = "Console"
    language_hint: str | None = "id"
    read: Reader = read_stdin
    write: Writer = write_stdout
    write_raw: Writer = write_raw
    erase_line: str = field(default_factory=erase_prompt_line)
    log_file: Path | None = None  # where the log lines go meanwhile (said at the start)
    group_id: str | None = field(default=None, init=False)  # None: the private chat
    # "console", or "whatsapp": speak as a WhatsApp user and see what they would
    plays: str = field(default=NAME, init=False)
    # True while the prompt waits for a line: whatever arrives then (a digest, a notice,
    # a debounced answer) came on its own and must not be glued to the prompt.
    _prompting: bool = field(default=False, init=False)
    # Every message shown with buttons: its number -> (its chat, its buttons' payloads), so
    # any button still on screen can be pressed ("5.2"); "2" is the newest one's in the chat.
    _shown: dict[int, tuple[str, list[str]]] = field(default_factory=dict, init=False)
    _newest: dict[str, int] = field(default_factory=dict, init=False)
    _message_numbers: Iterator[int] = field(default_factory=lambda: count(1), init=False)
    # As a WhatsApp user after numbered lines: a typed number is an answer to the bot.
    _numbers_to_bot: bool = field(default=False, init=False)
    _message_ids: Iterator[int] = field(default_factory=lambda: count(1), init=False)

    def __post_init__(self) -> None:
        self.app.add_channel(self)

    async def run(self) -> None:
        self.write(HELP)
        if self.log_file is not None:
            self.write(f"(log lines go to {self.log_file})")
        while True:
            self._prompting = True
            try:
                line = await self.read(PROMPT)
            finally:
                self._prompting = False
            if line is None:
                break
            line = line.strip()
            if not line:
                continue
            if line in {":quit", ":q", ":exit"}:
                break
            event = self.parse(line)
            if event is None:
                continue
            await self.app.process(self.incoming(event), self)

    def incoming(self, event: Event) -> Incoming:
        # Review chats are the console's (WhatsApp has no review groups): whoever is played,
        # in a group one speaks as a console user.
        on_whatsapp = self.plays == whatsapp.NAME and self.group_id is None
        return Incoming(
            sender=Sender(
                channel=whatsapp.NAME if on_whatsapp else NAME,
                external_id=self.user_id,
                display_name=self.display_name,
                language_hint=None if on_whatsapp else self.language_hint,
                phone=f"+{self.user_id}" if on_whatsapp and self.user_id.isdigit() else None,
            ),
            chat_id=self.group_id or self.user_id,
            chat_type="group" if self.group_id else "private",
            event=event,
        )

    def parse(self, line: str) -> Event | None:
        """The event a typed line stands for; None for console-only commands."""
        if (pressed := self._pressed(line)) is not None:
            return pressed or None  # False: a button of another chat, said so
        if line.startswith(":"):
            verb, _, arg = line[1:].partition(" ")
            arg = arg.strip()
            match verb:
                case "help":
                    self.write(HELP)
                    return None
                case "contact":
                    return Contact(phone=arg, is_own=True)
                case "photo" | "file":
                    return self._file_event(verb, arg)
                case "sticker":
                    return Unsupported(kind="sticker")
                case "press":
                    pressed = self._pressed(arg)
                    if pressed is None:
                        self.write(f"(no button {arg!r} on screen; e.g. :press 5.2)")
                    return pressed or None
                case "lang":
                    self.language_hint = arg or None
                    return None
                case "as" if arg:
                    who, _, name = arg.partition(" ")
                    self.user_id, self.display_name = who, name.strip() or who
                    self.write(f"(you are now {self.display_name}, id {self.user_id})")
                    return None
                case "channel" if arg in (NAME, whatsapp.NAME):
                    self.plays = arg
                    self.write(f"(you are now a {arg} user, id {self.user_id})")
                    return None
                case "chat" if arg:
                    self.group_id = None if arg in {"me", "private"} else arg
                    self.write(
                        f"(now in {'chat ' + arg if self.group_id else 'your private chat'})"
                    )
                    return None
            self.write(f"(unknown console command {line!r}; :help lists them)")
            return None
        return typed(line)

    def _pressed(self, line: str) -> ButtonPress | Literal[False] | None:
        """ "2": button 2 of the newest message with buttons in this chat; "5.2": of #5."""
        here = self.group_id or self.user_id
        if line.isdigit() and not self._numbers_to_bot:
            message, number = self._newest.get(here), int(line)
        elif (m := _MESSAGE_BUTTON.fullmatch(line)) is not None:
            message, number = int(m.group(1)), int(m.group(2))
        else:
            return None
        if message is None or message not in self._shown:
            return None
        chat, payloads = self._shown[message]
        if not 1 <= number <= len(payloads):
            return None
        if chat != here:
            where = "your private chat (:chat me)" if chat == self.user_id else f"chat {chat}"
            self.write(f"(message #{message} is in {where}: go there to press its buttons)")
            return False
        return ButtonPress(payload=payloads[number - 1])

    def _remember(self, chat_id: str, payloads: list[str]) -> int:
        number = next(self._message_numbers)
        self._shown[number] = (chat_id, payloads)
        self._newest[chat_id] = number
        if len(self._shown) > MAX_REMEMBERED:
            del self._shown[min(self._shown)]
        return number

    def _file_event(self, verb: str, arg: str) -> Event | None:
        path = Path(arg).expanduser()
        if not path.is_file():
            self.write(f"(no such file: {arg})")
            return None
        mime = mimetypes.guess_type(path.name)[0]
        ref = MediaRef(
            file_id=str(path.resolve()), size=path.stat().st_size, mime=mime, file_name=path.name
        )
        return Photo(media=ref) if verb == "photo" else Document(media=ref)

    async def deliver(
        self, chat_id: str, replies: Sequence[Reply], *, origin: Incoming | None = None
    ) -> None:
        lines: list[str] = []
        for reply in replies:
            if reply.alert:
                lines.append(f"  (alert) {reply.alert}")
            if reply.attachment is not None:
                folder = Path(tempfile.mkdtemp(prefix="kurasi-"))
                path = folder / reply.attachment.filename
                path.write_bytes(reply.attachment.data)
                lines.append(f"📎 {path}")
            if reply.text or reply.media or reply.buttons:
                lines.append(self.render(reply, chat_id=chat_id))
        if not lines:
            return
        unprompted = self._prompting
        if unprompted:
            self.write_raw(self.erase_line)
        for line in lines:
            self.write(line)
        if unprompted:
            self.write_raw(PROMPT)

    def render(self, reply: Reply, *, chat_id: str) -> str:
        if self.plays == whatsapp.NAME and chat_id == self.user_id:
            return self._render_whatsapp(reply)
        lines = []
        if chat_id != (self.group_id or self.user_id):
            lines.append(f"[in chat {chat_id}]")
        for item in reply.media:
            path = item.path
            if item.data is not None:  # made in memory (a chart): saved so it can be opened
                target = Path(tempfile.mkdtemp(prefix="kurasi-")) / (item.path or "image.png")
                target.write_bytes(item.data)
                path = str(target)
            lines.append(f"🖼  {path}" + (f" — {item.caption}" if item.caption else ""))
        if reply.text:
            lines.append(f"Kurasi › {reply.text}")
        if reply.buttons:
            number = self._remember(chat_id, [b.payload for row in reply.buttons for b in row])
            i = count(1)
            for row in reply.buttons:
                lines.append("   " + "   ".join(f"[{next(i)}] {b.label}" for b in row))
            lines[-1] += f"   · #{number}"
        if reply.ask_contact:
            lines.append(f"   ({reply.ask_contact}: type  :contact YOUR-NUMBER)")
        return "\n".join(lines)

    def _render_whatsapp(self, reply: Reply) -> str:
        """What a WhatsApp user would see: each message the channel would send."""
        lines = []
        if reply.numbered:
            self._numbers_to_bot = True  # the typed number goes to the bot, as on WhatsApp
        for item in whatsapp.render(reply):
            if item.image is not None:
                lines.append(f"🖼  {item.image.path}")
            if item.text:
                lines.append(f"WhatsApp › {item.text}")
            choices: list[tuple[str, str, str | None]] = [(t, p, None) for t, p in item.buttons]
            choices = choices or list(item.rows)
            if not choices:
                continue
            self._numbers_to_bot = False
            number = self._remember(self.user_id, [p for _t, p, _d in choices])
            if item.buttons:
                lines.append(
                    "   " + "   ".join(f"[{i}] {t}" for i, (t, _p) in enumerate(item.buttons, 1))
                )
            if item.rows:
                lines.append(f"   ☰ {item.list_button}")
                lines += [
                    f"     [{i}] {t}" + (f" — {d}" if d else "")
                    for i, (t, _p, d) in enumerate(item.rows, 1)
                ]
            lines[-1] += f"   · #{number}"
        return "\n".join(lines)

    async def post(self, chat_id: str, reply: Reply) -> list[str]:
        await self.deliver(chat_id, [reply])
        return [str(next(self._message_ids))]

    async def erase(self, chat_id: str, message_ids: Sequence[str], *, notice: str) -> None:
        self.write(f"[in chat {chat_id}] (messages {', '.join(message_ids)} deleted: {notice})")

    async def fetch_media(self, media: MediaRef) -> bytes:
        return await asyncio.to_thread(Path(media.file_id).read_bytes)
