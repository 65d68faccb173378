"""The WhatsApp inbox's data rules: stored once per message id, handed out oldest first and
one per sender, taken by the handling transaction, erased with the person."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from db import inbox
from db.base import utcnow
from db.engine import is_sqlite
from db.models import UserAlias, WhatsAppInbound
from db.privacy import erase_user
from tests.factories import producer


async def _stored(sessionmaker: Any) -> list[tuple[str, str]]:
    async with sessionmaker() as session:
        rows = await session.execute(
            select(WhatsAppInbound.message_id, WhatsAppInbound.chat_id).order_by(WhatsAppInbound.id)
        )
        return [(m, c) for m, c in rows.all()]


async def test_a_message_id_is_stored_once(sessionmaker: Any) -> None:
    async with sessionmaker() as session, session.begin():
        assert await inbox.store(session, messages=[("m1", "62811", "{}")], now=utcnow()) == 1
    async with sessionmaker() as session, session.begin():
        batch = [("m1", "62811", "{}"), ("m2", "62811", "{}")]
        assert await inbox.store(session, messages=batch, now=utcnow()) == 1
    assert await _stored(sessionmaker) == [("m1", "62811"), ("m2", "62811")]


async def test_heads_are_each_senders_oldest_and_a_taken_one_lets_the_next_through(
    sessionmaker: Any,
) -> None:
    batch = [("a1", "A", "{}"), ("b1", "B", "{}"), ("a2", "A", "{}"), ("c1", "C", "{}")]
    async with sessionmaker() as session, session.begin():
        await inbox.store(session, messages=batch, now=utcnow())
    async with sessionmaker() as session, session.begin():
        heads = await inbox.heads(session, limit=10)
        assert [h.message_id for h in heads] == ["a1", "b1", "c1"]
        assert [h.message_id for h in await inbox.heads(session, limit=10, busy={"A"})] == [
            "b1",
            "c1",
        ]
        assert [h.message_id for h in await inbox.heads(session, limit=1)] == ["a1"]
    async with sessionmaker() as session, session.begin():
        assert await inbox.take(session, row_id=heads[0].id)
    async with sessionmaker() as session, session.begin():
        assert not await inbox.take(session, row_id=heads[0].id)  # gone: handled already
        assert [h.message_id for h in await inbox.heads(session, limit=10)] == ["b1", "a2", "c1"]


async def test_a_rolled_back_take_leaves_the_message_stored(sessionmaker: Any) -> None:
    async with sessionmaker() as session, session.begin():
        await inbox.store(session, messages=[("m1", "A", "{}")], now=utcnow())
    async with sessionmaker() as session:
        [head] = await inbox.heads(session, limit=1)
        await session.rollback()
        async with session.begin():
            assert await inbox.take(session, row_id=head.id)
            await session.rollback()
    assert await _stored(sessionmaker) == [("m1", "A")]


async def test_erasing_a_person_erases_their_stored_messages_and_no_one_elses(
    sessionmaker: Any,
) -> None:
    now = utcnow()
    async with sessionmaker() as session, session.begin():
        user, _ = await producer(session, channel="telegram", external_id="5001", now=now)
        session.add(UserAlias(channel="whatsapp", external_id="6281111", user_id=user.id))
        wa_user, _ = await producer(session, channel="whatsapp", external_id="6282222", now=now)
        batch = [("x1", "6281111", "{}"), ("y1", "6282222", "{}"), ("z1", "6283333", "{}")]
        await inbox.store(session, messages=batch, now=now)
        user_id, wa_user_id = user.id, wa_user.id
    async with sessionmaker() as session, session.begin():
        await erase_user(session, user_id=user_id, now=now)
    assert await _stored(sessionmaker) == [("y1", "6282222"), ("z1", "6283333")]
    async with sessionmaker() as session, session.begin():
        await erase_user(session, user_id=wa_user_id, now=now)
    assert await _stored(sessionmaker) == [("z1", "6283333")]
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(WhatsAppInbound)) == 1


async def test_a_message_held_by_another_worker_hides_its_sender(
    sessionmaker: Any, database_url: str
) -> None:
    if is_sqlite(database_url):
        pytest.skip("SQLite has one writer: no two workers hold rows at once")
    batch = [("a1", "A", "{}"), ("a2", "A", "{}"), ("b1", "B", "{}")]
    async with sessionmaker() as session, session.begin():
        await inbox.store(session, messages=batch, now=utcnow())
    async with sessionmaker() as session, session.begin():
        [a1, _b1] = await inbox.heads(session, limit=10)
    async with sessionmaker() as first, first.begin():
        assert await inbox.take(first, row_id=a1.id)  # handling a1, not committed yet
        async with sessionmaker() as second, second.begin():
            # a1 is held, and a2 is not A's oldest until a1 is gone: only B's message.
            assert [h.message_id for h in await inbox.heads(second, limit=10)] == ["b1"]
            assert not await inbox.take(second, row_id=a1.id)
    async with sessionmaker() as session, session.begin():
        assert [h.message_id for h in await inbox.heads(session, limit=10)] == ["a2", "b1"]
