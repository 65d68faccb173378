"""The real aiogram client against FakeTelegram."""

from __future__ import annotations

import asyncio
import contextlib
import io
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramRetryAfter,
    TelegramUnauthorizedError,
)
from aiogram.types import (
    BotCommand,
    BotCommandScopeAllPrivateChats,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputMediaPhoto,
    KeyboardButton,
    MediaUnion,
    Message,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
)

from tests.fakes.telegram import Call, FakeTelegram


class _QuickCloseSession(AiohttpSession):
    # AiohttpSession.close() sleeps 250 ms for TLS teardown; plain HTTP doesn't need it.
    async def close(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()


def _bot(fake: FakeTelegram, token: str | None = None) -> Bot:
    session = _QuickCloseSession(api=TelegramAPIServer.from_base(fake.base_url))
    return Bot(token or fake.token, session=session)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    bot = _bot(fake)
    yield bot
    await bot.session.close()


@contextlib.asynccontextmanager
async def _polling(dp: Dispatcher, bot: Bot, fake: FakeTelegram) -> AsyncIterator[None]:
    task = asyncio.create_task(
        dp.start_polling(bot, handle_signals=False, polling_timeout=1, close_bot_session=False)
    )
    try:
        await fake.wait_for("getUpdates")
        yield
    finally:
        await dp.stop_polling()
        await task


async def test_echo_via_polling(fake: FakeTelegram, bot: Bot) -> None:
    dp = Dispatcher()

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        await message.answer(f"echo: {message.text}")

    async with _polling(dp, bot, fake):
        fake.push_update(fake.message(4242, "/start halo", username="budi_umkm"))
        (call,) = await fake.wait_for("sendMessage", chat_id=4242)

    assert call.params["text"] == "echo: /start halo"
    assert call.params["chat_id"] == 4242
    assert call.result["from"]["id"] == fake.bot_id
    assert call.result["chat"] == {
        "id": 4242,
        "type": "private",
        "first_name": "Budi",
        "username": "budi_umkm",
    }
    # The user's message was 1, so the bot's reply in the same chat is 2.
    assert call.result["message_id"] == 2
    assert fake.pending_updates == []


async def test_callback_query_answered_and_message_edited(fake: FakeTelegram, bot: Bot) -> None:
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Ya", callback_data="confirm:yes")]]
    )
    sent = await bot.send_message(77, "Lanjut?", reply_markup=keyboard)
    assert sent.reply_markup is not None
    assert sent.reply_markup.model_dump() == keyboard.model_dump()

    dp = Dispatcher()

    @dp.callback_query(F.data == "confirm:yes")
    async def on_confirm(query: CallbackQuery) -> None:
        await query.answer("Oke")
        assert isinstance(query.message, Message)
        await query.message.edit_text("Dikonfirmasi")

    update = fake.callback(77, "confirm:yes")
    query_id = update["callback_query"]["id"]
    assert update["callback_query"]["message"]["reply_markup"]["inline_keyboard"]
    async with _polling(dp, bot, fake):
        fake.push_update(update)
        (answer,) = await fake.wait_for("answerCallbackQuery")
        (edit,) = await fake.wait_for("editMessageText")

    assert answer.params == {"callback_query_id": query_id, "text": "Oke"}
    assert edit.params["message_id"] == sent.message_id
    assert edit.result["text"] == "Dikonfirmasi"
    assert "reply_markup" not in edit.result  # keyboard dropped when not resent
    stored = fake.message_in(77, sent.message_id)
    assert stored is not None
    assert stored["text"] == "Dikonfirmasi"


async def test_set_my_commands_recorded_per_language(fake: FakeTelegram, bot: Bot) -> None:
    commands = [
        BotCommand(command="start", description="Mulai"),
        BotCommand(command="bantuan", description="Bantuan"),
    ]
    scope = BotCommandScopeAllPrivateChats()
    assert await bot.set_my_commands(commands, scope=scope, language_code="id")
    assert await bot.set_my_commands([BotCommand(command="start", description="Start")])

    (call,) = fake.sent("setMyCommands", include_failed=False)[:1]
    assert call.params["language_code"] == "id"
    assert call.params["scope"] == {"type": "all_private_chats"}
    assert call.params["commands"][0] == {"command": "start", "description": "Mulai"}
    assert fake.commands(language_code="id", scope={"type": "all_private_chats"}) == [
        {"command": "start", "description": "Mulai"},
        {"command": "bantuan", "description": "Bantuan"},
    ]
    assert fake.commands() == [{"command": "start", "description": "Start"}]
    got = await bot.get_my_commands(scope=scope, language_code="id")
    assert [c.command for c in got] == ["start", "bantuan"]
    assert await bot.get_my_commands(language_code="en") == []


async def test_retry_after_surfaces_as_telegram_retry_after(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(TelegramRetryAfter) as exc_info:
        await bot.send_message(1, "halo")
    assert exc_info.value.retry_after == 7
    assert "Too Many Requests: retry after 7" in str(exc_info.value)

    await bot.send_message(1, "halo lagi")  # the injection was used up
    attempts = fake.sent("sendMessage", include_failed=True)
    assert [c.error for c in attempts] == [429, None]
    assert [c.text for c in fake.sent("sendMessage")] == ["halo lagi"]


async def test_forbidden_injected_and_blocked_chats(fake: FakeTelegram, bot: Bot) -> None:
    fake.fail_next("sendMessage", 403, chat_id=5)
    await bot.send_message(6, "chat lain tidak kena")
    with pytest.raises(TelegramForbiddenError, match="bot was blocked by the user"):
        await bot.send_message(5, "halo")

    fake.blocked_chats.add(9)
    for _ in range(2):
        with pytest.raises(TelegramForbiddenError):
            await bot.send_chat_action(9, "typing")
    assert await bot.send_chat_action(10, "typing")


async def test_send_photo_upload_gives_reusable_file_id(fake: FakeTelegram, bot: Bot) -> None:
    payload = b"\x89PNG-not-really-an-image"
    msg = await bot.send_photo(
        3, BufferedInputFile(payload, filename="produk.png"), caption="Keripik tempe"
    )
    (call,) = fake.sent("sendPhoto")
    assert call.upload("photo") == payload
    assert list(call.files.values()) == [payload]
    assert call.params["caption"] == "Keripik tempe"
    assert msg.photo is not None
    file_id = msg.photo[-1].file_id
    assert fake.file_bytes(file_id) == payload

    again = await bot.send_photo(3, file_id)
    assert again.photo is not None
    assert again.photo[-1].file_id == file_id
    assert fake.sent("sendPhoto")[-1].files == {}

    with pytest.raises(TelegramBadRequest, match="wrong file identifier"):
        await bot.send_photo(3, "no-such-file-id")


async def test_get_file_and_download_round_trip(fake: FakeTelegram, bot: Bot) -> None:
    data = bytes(range(256)) * 40
    ref = fake.add_file(data, file_path="documents/katalog.pdf")
    assert ref["file_size"] == len(data)

    tg_file = await bot.get_file(ref["file_id"])
    assert tg_file.file_path == "documents/katalog.pdf"
    assert tg_file.file_unique_id == ref["file_unique_id"]

    buffer = io.BytesIO()
    await bot.download(ref["file_id"], destination=buffer)
    assert buffer.getvalue() == data

    # Photos arriving in an update are downloadable the same way.
    update = fake.message(1, photo=fake.photo_sizes(b"jpeg-bytes", 1600, 1200))
    sizes = update["message"]["photo"]
    assert [(s["width"], s["height"]) for s in sizes][-1] == (1600, 1200)
    downloaded = io.BytesIO()
    await bot.download(sizes[-1]["file_id"], destination=downloaded)
    assert downloaded.getvalue() == b"jpeg-bytes"


async def test_wrong_token_is_unauthorized() -> None:
    async with FakeTelegram(token="123456:right-token") as fake:
        assert fake.bot_id == 123456
        good, bad = _bot(fake), _bot(fake, token="123456:wrong-token")
        try:
            me = await good.get_me()
            assert (me.id, me.username) == (123456, fake.bot_username)
            with pytest.raises(TelegramUnauthorizedError):
                await bad.get_me()
        finally:
            await good.session.close()
            await bad.session.close()
        assert [c.token for c in fake.calls] == ["123456:right-token", "123456:wrong-token"]


async def test_get_updates_offset_limit_and_long_poll(fake: FakeTelegram, bot: Bot) -> None:
    first = fake.push_update(fake.message(1, "satu"))
    second = fake.push_update(fake.message(1, "dua"))
    assert second == first + 1

    assert [u.update_id for u in await bot.get_updates(limit=1)] == [first]
    # Unconfirmed updates are returned again; offset confirms everything below it.
    assert [u.update_id for u in await bot.get_updates()] == [first, second]
    assert [u.update_id for u in await bot.get_updates(offset=second)] == [second]
    assert await bot.get_updates(offset=second + 1, timeout=0) == []

    started = time.monotonic()
    poll = asyncio.create_task(bot.get_updates(offset=second + 1, timeout=5))
    await fake.wait_for(lambda c: c.method == "getUpdates" and c.params.get("timeout") == 5)
    third = fake.push_update(fake.callback(1, "x", message_id=1))
    updates = await poll
    assert [u.update_id for u in updates] == [third]
    assert updates[0].callback_query is not None
    assert time.monotonic() - started < 1


async def test_media_group_returns_messages(fake: FakeTelegram, bot: Bot) -> None:
    known = fake.photo_sizes(b"old", 640, 480)[-1]["file_id"]
    media: list[MediaUnion] = [
        InputMediaPhoto(media=BufferedInputFile(b"img-1", "a.jpg"), caption="Produk"),
        InputMediaPhoto(media=known),
    ]
    messages = await bot.send_media_group(11, media)
    assert len(messages) == 2
    assert messages[0].media_group_id == messages[1].media_group_id is not None
    assert messages[0].caption == "Produk"
    assert messages[0].photo is not None
    assert messages[1].photo is not None
    assert fake.file_bytes(messages[0].photo[-1].file_id) == b"img-1"
    assert messages[1].photo[-1].file_id == known

    (call,) = fake.sent("sendMediaGroup")
    assert call.params["media"][0]["type"] == "photo"
    assert call.upload("media") is None
    ref = call.params["media"][0]["media"]
    assert call.files[ref.removeprefix("attach://")] == b"img-1"


async def test_raw_protocol_encodings(fake: FakeTelegram) -> None:
    api = f"{fake.base_url}/bot{fake.token}"
    markup = '{"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]}'
    async with aiohttp.ClientSession() as http:
        async with http.post(
            f"{api}/sendMessage", data={"chat_id": "8", "text": "42", "reply_markup": markup}
        ) as resp:
            body = await resp.json()
            assert resp.status == 200
            assert body["ok"] is True
            assert body["result"]["reply_markup"]["inline_keyboard"][0][0]["text"] == "A"
        async with http.get(f"{api}/sendMessage?chat_id=8&text=hai") as resp:
            assert (await resp.json())["result"]["text"] == "hai"
        async with http.post(f"{api}/getUpdates", json={"timeout": 0}) as resp:
            assert (await resp.json()) == {"ok": True, "result": []}
        async with http.post(f"{api}/noSuchMethod") as resp:
            assert resp.status == 404
            assert await resp.json() == {
                "ok": False,
                "error_code": 404,
                "description": "Not Found: method not found",
            }
        async with http.get(f"{fake.base_url}/file/bot{fake.token}/missing.bin") as resp:
            assert resp.status == 404

    form, query = fake.sent("sendMessage")
    # Text stays a string even when it looks like JSON; chat_id and markup are decoded.
    assert form.params == {
        "chat_id": 8,
        "text": "42",
        "reply_markup": {"inline_keyboard": [[{"text": "A", "callback_data": "a"}]]},
    }
    assert query.params == {"chat_id": 8, "text": "hai"}
    assert fake.sent("getUpdates")[0].params == {"timeout": 0}
    # The unknown method is the one call the spec refused; teardown would fail on it.
    assert [v.split(":", 1)[0] for v in fake.spec_violations] == ["noSuchMethod"]
    fake.spec_violations.clear()


async def test_wait_for_timeout_lists_recorded_calls(fake: FakeTelegram, bot: Bot) -> None:
    await bot.send_message(1, "ada")
    with pytest.raises(AssertionError, match=r"(?s)sendPhoto.*sendMessage.*'text': 'ada'"):
        await fake.wait_for("sendPhoto", timeout=0.05)
    fake.clear()
    assert fake.calls == []


async def test_injected_clock_stamps_calls() -> None:
    now = [100.0]
    async with FakeTelegram(clock=lambda: now[0]) as fake:
        bot = _bot(fake)
        try:
            await bot.send_message(1, "a")
            now[0] = 101.5
            await bot.send_message(1, "b")
        finally:
            await bot.session.close()
    assert [c.at for c in fake.sent("sendMessage")] == [100.0, 101.5]
    assert isinstance(fake.calls[0], Call)


async def test_strict_mode_rejects_what_telegram_rejects(fake: FakeTelegram, bot: Bot) -> None:
    with pytest.raises(TelegramBadRequest, match="can't parse entities"):
        await bot.send_message(1, "<b>tebal<br></b>", parse_mode="HTML")
    ok = await bot.send_message(1, "<b>Rp 10.000</b> &amp; ongkir", parse_mode="HTML")
    assert ok.text == "Rp 10.000 & ongkir"
    with pytest.raises(TelegramBadRequest, match="message is not modified"):
        await bot.edit_message_text("Rp 10.000 & ongkir", chat_id=1, message_id=ok.message_id)
    too_long = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="x" * 65)]]
    )
    fake.check_spec = False  # the spec check would refuse it first (see the tests below)
    with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
        await bot.send_message(1, "pilih", reply_markup=too_long)
    fake.check_spec = True
    assert await bot.delete_message(1, ok.message_id)
    with pytest.raises(TelegramBadRequest, match="message to delete not found"):
        await bot.delete_message(1, ok.message_id)


async def test_delete_message_follows_the_spec_48_hour_rule() -> None:
    now = [1000.0]
    async with FakeTelegram(clock=lambda: now[0]) as fake:
        bot = _bot(fake)
        try:
            fresh = await bot.send_message(1, "baru")
            old = await bot.send_message(1, "lama")
            now[0] += 48 * 3600 - 1
            assert await bot.delete_message(1, fresh.message_id)
            now[0] += 1
            with pytest.raises(TelegramBadRequest, match="can't be deleted"):
                await bot.delete_message(1, old.message_id)
            assert fake.message_in(1, old.message_id) is not None
            # Editing has no time limit: what a bot does instead.
            await bot.edit_message_text("dihapus", chat_id=1, message_id=old.message_id)
        finally:
            await bot.session.close()
    with pytest.raises(ValueError, match="first_name"):
        fake.user(2, first_name="x" * 65)
    with pytest.raises(ValueError, match="username"):
        fake.user(2, username="u" * 33)


# ---------------------------------------------------------------- the Bot API 10.1 spec as oracle

_BUTTON_65_BYTES = "x" * 63 + "\u00e9"  # 64 characters, 65 bytes in UTF-8


@pytest.mark.parametrize(
    ("method", "body", "status", "description"),
    [
        ("sendMesage", {"chat_id": 1, "text": "hai"}, 404, "Not Found: method not found"),
        (
            "sendMessage",
            {"chat_id": 1, "text": "hai", "colour": "red"},
            400,
            "Bad Request: unknown parameter 'colour' for method sendMessage",
        ),
        (
            "sendMessage",
            {"chat_id": 1},
            400,
            "Bad Request: required parameter 'text' of sendMessage is missing",
        ),
        (
            "sendMessage",
            {"chat_id": True, "text": "hai"},
            400,
            "Bad Request: chat_id must be Integer or String, got bool",
        ),
        (
            "deleteMessage",
            {"chat_id": 1, "message_id": "satu"},
            400,
            "Bad Request: message_id expected Integer, got str 'satu'",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "a" * 4097},
            400,
            "Bad Request: text must be 1-4096 characters, got 4097",
        ),
        (
            "sendMessage",
            {
                "chat_id": 1,
                "text": "pilih",
                "reply_markup": {
                    "inline_keyboard": [[{"text": "A", "callback_data": _BUTTON_65_BYTES}]]
                },
            },
            400,
            "Bad Request: reply_markup.inline_keyboard[0][0].callback_data must be 1-64 bytes, "
            "got 65",
        ),
        (
            "sendMessage",
            {
                "chat_id": 1,
                "text": "pilih",
                "reply_markup": {"inline_keyboard": [[{"text": "A", "data": "a"}]]},
            },
            400,
            "Bad Request: reply_markup.inline_keyboard[0][0]: unknown field 'data' of "
            "InlineKeyboardButton",
        ),
        (
            "sendMessage",
            {"chat_id": 1, "text": "hai", "reply_markup": {"keyboard": [[{}]]}},
            400,
            "Bad Request: reply_markup.keyboard[0][0]: required field 'text' of KeyboardButton "
            "is missing",
        ),
        (
            "setMyCommands",
            {"commands": [{"command": "mulai", "description": "d" * 257}]},
            400,
            "Bad Request: commands[0].description must be 1-256 characters, got 257",
        ),
        (
            "setMyCommands",
            {"commands": [{"command": "mulai", "description": "Mulai"}], "scope": {"type": "x"}},
            400,
            "Bad Request: scope is none of BotCommandScope's types",
        ),
    ],
    ids=[
        "unknown-method",
        "unknown-parameter",
        "missing-required",
        "wrong-type-chat_id",
        "wrong-type-form-integer",
        "text-4097",
        "callback_data-65-bytes",
        "unknown-button-field",
        "keyboard-button-without-text",
        "command-description-257",
        "unknown-scope",
    ],
)
async def test_spec_refuses_what_the_bot_api_does_not_allow(
    method: str, body: dict[str, object], status: int, description: str
) -> None:
    fake = FakeTelegram()
    await fake.start()
    try:
        async with aiohttp.ClientSession() as http:
            url = f"{fake.base_url}/bot{fake.token}/{method}"
            if method == "deleteMessage":  # as a form, like aiogram sends it
                request = http.post(url, data={k: str(v) for k, v in body.items()})
            else:
                request = http.post(url, json=body)
            async with request as resp:
                answer = await resp.json()
    finally:
        await fake.stop()
    assert resp.status == status
    assert answer["ok"] is False
    assert answer["error_code"] == status
    assert answer["description"].startswith(description)
    assert len(fake.spec_violations) == 1
    detail = description.split(": ", 1)[1] if status == 400 else "method 'sendMesage' is not in"
    assert fake.spec_violations[0].startswith(f"{method}: {detail}")
    with pytest.raises(AssertionError, match=r"1 call\(s\) broke the Telegram Bot API"):
        fake.assert_spec_clean()
    # Refused calls reach no handler: nothing was sent.
    assert fake.message_in(1, 1) is None


async def test_a_violation_the_bot_swallowed_still_fails_the_test() -> None:
    with pytest.raises(AssertionError, match="caption must be 0-1024 characters, got 1025"):
        async with FakeTelegram() as fake:
            bot = _bot(fake)
            try:
                with contextlib.suppress(TelegramBadRequest):
                    photo = BufferedInputFile(b"\xff\xd8 not really a jpeg", "foto.jpg")
                    await bot.send_photo(1, photo, caption="c" * 1025)
            finally:
                await bot.session.close()


async def test_spec_accepts_the_calls_a_bot_makes(fake: FakeTelegram, bot: Bot) -> None:
    await bot.get_me()
    await bot.delete_webhook(drop_pending_updates=True)
    await bot.set_my_commands(
        [BotCommand(command="mulai", description="d" * 256)],
        scope=BotCommandScopeAllPrivateChats(),
        language_code="id",
    )
    # 4096 characters after entities parsing, more before it.
    long_html = await bot.send_message(1, "<b>" + "a" * 4096 + "</b>", parse_mode="HTML")
    assert long_html.text == "a" * 4096
    buttons = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text="Setuju", callback_data="x" * 62 + "\u00e9")],
            [InlineKeyboardButton(text="Situs", url="https://example.org")],
        ]
    )
    sent = await bot.send_message(1, "Pilih:", reply_markup=buttons)
    await bot.edit_message_text("Dipilih", chat_id=1, message_id=sent.message_id)
    await bot.send_message(
        1,
        "Bagikan nomor",
        reply_markup=ReplyKeyboardMarkup(
            keyboard=[[KeyboardButton(text="Kirim nomor", request_contact=True)]],
            resize_keyboard=True,
            one_time_keyboard=True,
        ),
    )
    await bot.send_message(1, "Oke", reply_markup=ReplyKeyboardRemove())
    await bot.send_message(1, "Balas", reply_parameters=ReplyParameters(message_id=sent.message_id))
    photo = await bot.send_photo(
        1, BufferedInputFile(b"\xff\xd8 jpeg", "a.jpg"), caption="c" * 1024
    )
    await bot.edit_message_caption(chat_id=1, message_id=photo.message_id, caption="baru")
    album: list[MediaUnion] = [
        InputMediaPhoto(media=photo.photo[-1].file_id, caption="satu"),
        InputMediaPhoto(media=BufferedInputFile(b"\xff\xd8 b", "b.jpg")),
    ]
    await bot.send_media_group(1, album)
    await bot.send_document(1, BufferedInputFile(b"%PDF-1.4", "laporan.pdf"), caption="PDF")
    await bot.send_chat_action(1, "typing")
    await bot.answer_callback_query("42", text="t" * 200, show_alert=True)
    await bot.delete_message(1, sent.message_id)
    assert fake.spec_violations == []
    assert all(call.ok for call in fake.calls)
