"""End to end through aiogram's real HTTP client, polling the fake Bot API server."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from bot.config import Settings
from db.models import Business, User
from tests.bot.telegram_driver import Person, running_bot, texts
from tests.fakes.telegram import FakeTelegram
from tests.support import FakeClock

USER = 5550001


async def stored_business(sessionmaker, user_id: int) -> Business | None:
    async with sessionmaker() as session:
        return await session.scalar(
            select(Business).join(User).where(User.external_id == str(user_id))
        )


async def onboard_until_name(tini: Person) -> None:
    assert "Pilih bahasa" in texts(await tini.say("/start"))
    await tini.press("Bahasa Indonesia")
    await tini.press("Setuju")


async def test_producer_onboards_over_telegram(
    fake: FakeTelegram, settings: Settings, sessionmaker, clock: FakeClock
) -> None:
    async with running_bot(settings, fake, clock=clock) as (_runtime, tracker):
        tini = Person(fake, tracker, USER)
        await onboard_until_name(tini)
        await tini.say("Keripik Tempe Bu Tini")
        await tini.say("Tini Rahayu")
        phone_prompt = fake.sent("sendMessage", chat_id=USER)[-1]
        keyboard = phone_prompt.params["reply_markup"]["keyboard"]
        assert keyboard[0][0]["request_contact"] is True
        shared = await tini.send(contact=fake.contact("+62 812-3456-7890", user_id=USER))
        assert any(c.params.get("reply_markup", {}).get("remove_keyboard") for c in shared)
        await tini.say("malang")
        await tini.press("Kota Malang")
        await tini.press("Makanan")
        await tini.say("1234567890123")
        toggled = await tini.press("PIRT")
        assert toggled[-1].method == "editMessageText"  # the checklist is edited in place
        assert fake.sent("answerCallbackQuery")
        await tini.press("Selesai")
        await tini.say("500 pcs")
        summary = texts(await tini.say("Malaysia"))
        assert "Keripik Tempe Bu Tini" in summary and "+6281234567890" in summary
        done = texts(await tini.press("Simpan"))
        assert "terdaftar" in done

    business = await stored_business(sessionmaker, USER)
    assert business is not None and business.registered_at is not None
    assert (business.name, business.owner_name, business.phone) == (
        "Keripik Tempe Bu Tini",
        "Tini Rahayu",
        "+6281234567890",
    )
    assert (business.region_code, business.sector, business.nib) == (
        "35.73",
        "food",
        "1234567890123",
    )
    assert business.legal_docs == ["pirt"]
    assert business.export_markets == ["Malaysia"]


async def test_command_menu_registered_in_both_languages(
    fake: FakeTelegram, settings: Settings
) -> None:
    async with running_bot(settings, fake):
        pass
    default = {c["command"]: c["description"] for c in fake.commands(language_code="")}
    english = {c["command"]: c["description"] for c in fake.commands(language_code="en")}
    assert set(default) == set(english) >= {"start", "profil", "batal", "bantuan"}
    assert default["bantuan"] != english["bantuan"]  # Indonesian by default, English for en


async def test_restart_mid_flow_resumes(
    fake: FakeTelegram, settings: Settings, sessionmaker
) -> None:
    async with running_bot(settings, fake) as (_runtime, tracker):
        tini = Person(fake, tracker, USER)
        await onboard_until_name(tini)
        await tini.say("Batik Sekar Jagad")
    async with running_bot(settings, fake) as (_runtime, tracker):
        tini = Person(fake, tracker, USER)
        reply = texts(await tini.say("Sekar Arum"))
        assert "nomor" in reply.lower()  # straight on to the phone question
    business = await stored_business(sessionmaker, USER)
    assert (business.name, business.owner_name) == ("Batik Sekar Jagad", "Sekar Arum")


async def test_redelivered_update_is_handled_once(
    fake: FakeTelegram, settings: Settings, sessionmaker
) -> None:
    update = fake.message(USER, "Kopi Ijen Raung")
    async with running_bot(settings, fake) as (_runtime, tracker):
        tini = Person(fake, tracker, USER)
        await onboard_until_name(tini)
        update = fake.message(USER, "Kopi Ijen Raung")
        assert await tini._push(update)
    # The bot stopped before confirming the offset; Telegram sends the update again.
    async with running_bot(settings, fake) as (_runtime, tracker):
        tini = Person(fake, tracker, USER)
        assert await tini._push(update, redeliver=True) == []
    business = await stored_business(sessionmaker, USER)
    assert business.name == "Kopi Ijen Raung"
    assert business.owner_name is None


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"sticker": True}, "teks"),
        ({"voice": True}, "teks"),
        ({"location": (-7.25, 112.75)}, "teks"),
        ({"text": "x" * 5000}, "100"),
    ],
)
async def test_bad_input_gets_a_reply_and_the_flow_stays(
    fake: FakeTelegram, settings: Settings, sessionmaker, fields: dict, expected: str
) -> None:
    async with running_bot(settings, fake) as (_runtime, tracker):
        tini = Person(fake, tracker, USER)
        await onboard_until_name(tini)
        refused = texts(await tini.send(**fields))
        assert expected in refused
        assert "nama usaha" in refused.lower()  # the question again
        accepted = texts(await tini.say("Sambal Bu Rudy"))
        assert "pemilik" in accepted.lower()
    assert (await stored_business(sessionmaker, USER)).name == "Sambal Bu Rudy"


async def test_bad_answers_deeper_in_the_flow(
    fake: FakeTelegram, settings: Settings, sessionmaker
) -> None:
    async with running_bot(settings, fake) as (_runtime, tracker):
        tini = Person(fake, tracker, USER)
        await onboard_until_name(tini)
        for answer in ("Kerupuk Udang Sidoarjo", "Bu Ani", "081234567890", "Sidoarjo"):
            await tini.say(answer)
        await tini.press("Makanan")
        assert "13" in texts(await tini.say("12345"))  # a 5-digit NIB
        await tini.press("Belum punya")
        await tini.press("Tidak ada")
        assert "angka" in texts(await tini.say("banyak sekali")).lower()
        await tini.say("2000 bungkus")
        # A button from an earlier step does nothing but say so.
        old_id, old_data = tini.find_button("Makanan")
        stale = texts(await tini.press_data(old_data, old_id))
        assert "sebelumnya" in stale.lower()
    business = await stored_business(sessionmaker, USER)
    assert business.sector == "food" and business.has_nib is False
    assert (business.capacity_amount, business.capacity_unit) == (2000, "bungkus")
    assert business.export_markets is None  # still being asked


async def test_flood_control_answer_is_waited_out(fake: FakeTelegram, settings: Settings) -> None:
    async with running_bot(settings, fake) as (runtime, tracker):
        tini = Person(fake, tracker, USER)
        fake.fail_next("sendMessage", 429, retry_after=1)
        # The reply waits out the bot's paused budget in the outbox, then goes once.
        assert "Pilih bahasa" in texts(await tini.say("/start"))
        assert runtime.telegram.budget.limited == 1
        first, again = fake.sent("sendMessage", chat_id=USER, include_failed=True)[:2]
        assert first.error == 429 and again.error is None
        # A user who blocked the bot: the send fails quietly, the bot carries on.
        fake.blocked_chats.add(USER)
        assert await tini.say("/bantuan") == []
        fake.blocked_chats.clear()
        assert "/profil" in texts(await tini.say("/bantuan"))


async def test_group_messages_are_not_answered_yet(
    fake: FakeTelegram, settings: Settings, sessionmaker
) -> None:
    async with running_bot(settings, fake) as (_runtime, tracker):
        update_id = fake.push_update(
            fake.message(USER, "halo semua", chat_id=-100123, chat_type="supergroup")
        )
        await tracker.wait(update_id)
    assert not fake.sent("sendMessage")
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(Business)) == 0


async def test_a_burst_is_parsed_once_though_getupdates_returns_held_updates_again(
    fake: FakeTelegram, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The poller's offset stays below the updates still running (Telegram forgets what is
    # below it), so getUpdates keeps returning those it holds: only new ones are parsed.
    from aiogram.types import Update

    parsed: list[int] = []
    post_init = Update.model_post_init

    def counted(self: Update, context: object) -> None:  # every Update pydantic builds
        parsed.append(self.update_id)
        post_init(self, context)

    monkeypatch.setattr(Update, "model_post_init", counted)
    async with running_bot(settings, fake) as (_runtime, tracker):
        ids = [fake.push_update(fake.message(7_000 + n, "/bantuan")) for n in range(40)]
        for update_id in ids:
            await tracker.wait(update_id)
    returned = [u["update_id"] for c in fake.sent("getUpdates") for u in c.result or []]
    assert len(returned) > len(ids)  # the held ones came back (else this tests nothing)
    assert sorted(parsed) == sorted(ids)  # each parsed once
