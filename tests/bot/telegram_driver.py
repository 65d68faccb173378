"""Drive the real bot, through aiogram, against the fake Bot API server: a person at a phone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from bot.app import Runtime, build
from bot.config import Settings
from bot.runtime import Clock
from bot.sender import MessageSender
from db.outbox import NOTICE
from handlers.kit.events import Incoming
from tests.fakes.telegram import Call, FakeTelegram


class Tracker:
    """Knows when the runtime has finished with an update, so tests never sleep."""

    def __init__(self, runtime: Runtime) -> None:
        self.done: set[str] = set()
        self.changed = asyncio.Condition()
        original = runtime.app.process
        notices = MessageSender(runtime.app, kinds=frozenset({NOTICE}))

        async def process(incoming: Incoming, channel: Any, **kwargs: Any) -> None:
            try:
                await original(incoming, channel, **kwargs)
                # Notices to others wait in the outbox: send them before the test looks.
                await notices.run_until_idle()
            finally:
                async with self.changed:
                    self.done.add(incoming.update_key or "")
                    self.changed.notify_all()

        runtime.app.process = process  # type: ignore[method-assign]

    async def wait(self, update_id: int) -> None:
        async with asyncio.timeout(10), self.changed:
            await self.changed.wait_for(lambda: str(update_id) in self.done)


@asynccontextmanager
async def running_bot(
    settings: Settings, fake: FakeTelegram, *, clock: Clock | None = None
) -> AsyncIterator[tuple[Runtime, Tracker]]:
    runtime = await build(settings, **({"clock": clock} if clock else {}))
    assert runtime.telegram is not None
    tracker = Tracker(runtime)
    await runtime.telegram.register_commands()
    task = asyncio.create_task(
        runtime.telegram.run_polling(polling_timeout=1, handle_signals=False)
    )
    polls = len(fake.sent("getUpdates"))
    await fake.wait_for("getUpdates", count=polls + 1)  # polling has really started
    try:
        yield runtime, tracker
    finally:
        await runtime.telegram.stop_polling()
        await asyncio.wait_for(task, 10)
        await runtime.close()


class Person:
    """One Telegram user in a private chat with the bot."""

    def __init__(
        self, fake: FakeTelegram, tracker: Tracker, user_id: int, *, language: str = "id"
    ) -> None:
        self.fake = fake
        self.tracker = tracker
        self.user_id = user_id
        self.language = language
        self.first_name = "Tini"

    async def _push(self, update: dict[str, Any], *, redeliver: bool = False) -> list[Call]:
        before = len(self.fake.calls)
        update_id = self.fake.push_update(update, redeliver=redeliver)
        await self.tracker.wait(update_id)
        return [
            c
            for c in self.fake.calls[before:]
            if c.ok and c.method != "getUpdates" and c.params.get("chat_id") in (self.user_id, None)
        ]

    async def say(self, text: str) -> list[Call]:
        return await self._push(self._message(text))

    async def send(self, text: str | None = None, **fields: Any) -> list[Call]:
        return await self._push(self._message(text, **fields))

    def _message(self, text: str | None, **fields: Any) -> dict[str, Any]:
        return self.fake.message(
            self.user_id,
            text,
            first_name=self.first_name,
            language_code=self.language,
            **fields,
        )

    async def press(self, label: str) -> list[Call]:
        message_id, data = self.find_button(label)
        return await self._push(
            self.fake.callback(
                self.user_id, data, message_id=message_id, language_code=self.language
            )
        )

    async def press_data(self, data: str, message_id: int) -> list[Call]:
        return await self._push(self.fake.callback(self.user_id, data, message_id=message_id))

    def find_button(self, label: str) -> tuple[int, str]:
        """The newest bot message in this chat showing a button whose text contains `label`."""
        seen: list[str] = []
        for call in reversed(self.fake.sent(chat_id=self.user_id)):
            if call.method == "sendMessage":
                message_id = call.result["message_id"]
            elif call.method == "editMessageText":
                message_id = int(call.params["message_id"])
            else:
                continue
            message = self.fake.message_in(self.user_id, message_id) or {}
            for row in (message.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    seen.append(button["text"])
                    if label.lower() in button["text"].lower():
                        return message_id, button["callback_data"]
        raise AssertionError(f"no button {label!r}; buttons seen: {seen}")


def texts(calls: list[Call]) -> str:
    return "\n".join(c.params.get("text", "") for c in calls if "text" in c.params)


async def register_business(person: Person) -> None:
    """The whole onboarding, in Indonesian, as the tests' standard producer."""
    await person.say("/start")
    await person.press("Bahasa Indonesia")
    await person.press("Setuju")
    for answer in ("Keripik Tempe Bu Tini", "Tini Rahayu", "081234567890", "Kota Malang"):
        await person.say(answer)
    await person.press("Makanan")
    await person.say("1234567890123")
    await person.press("PIRT")
    await person.press("Halal")
    await person.press("Selesai")
    await person.say("500 pcs")
    await person.press("Belum")
    await person.press("Simpan")
