"""Users, their conversation state, and the redelivery guard.

Every update starts with `begin_update`: record the update id (a redelivery stops here),
create or refresh the sender's user row, and create and lock their conversation row. On
PostgreSQL that is one statement (a CTE); on SQLite a few cheap ones. The statements are
built once, at import, so SQLAlchemy compiles and caches each of them once.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from db.base import UTCDateTime
from db.businesses import business_loaded
from db.models import (
    DISPLAY_NAME_MAX,
    USERNAME_MAX,
    Business,
    Conversation,
    ProcessedUpdate,
    User,
    UserAlias,
)

# last_inbound_at is for "active in the last N days"; one write a minute is plenty.
INBOUND_RESOLUTION = timedelta(minutes=1)

_USER_COLUMNS = [c.name for c in User.__table__.columns]
_CONVERSATION_COLUMNS = [c.name for c in Conversation.__table__.columns]
_BUSINESS_COLUMNS = [c.name for c in Business.__table__.columns]


# Identities on these channels may be aliases of a user on another channel (db/links.py):
# the same person on WhatsApp and Telegram, linked by a code.
LINKABLE_CHANNELS = frozenset({"whatsapp"})
_JOINERS = {"\u200d", "\ufe0e", "\ufe0f"}  # zero-width joiner, variation selectors


def clip(text: str | None, limit: int) -> str | None:
    """`text` cut to `limit` characters (as the column counts them), without leaving half an
    emoji sequence or a lone accent at the cut; None for nothing left."""
    if text is None:
        return None
    if len(text) > limit:
        text = text[:limit]
        while text and (text[-1] in _JOINERS or unicodedata.combining(text[-1])):
            text = text[:-1]
    return text.strip() or None


def _cols(alias: str, names: list[str]) -> str:
    return ", ".join(f"{alias}.{name}" for name in names)


# --- PostgreSQL: one statement -------------------------------------------------------------
# `fresh` is one row when the update is new (none for a redelivery, which then touches
# nothing). The user upsert writes only when something changed (a name, a block, an
# inbound time older than a minute); `usr` is the row either way. The conversation upsert
# takes the row lock (DO UPDATE locks even a no-op) and returns its latest committed
# version. A sender's first two updates racing on two workers can leave `usr` empty (the
# other's new row is not in this statement's snapshot): the caller then asks again.

_FRESH_MARK = """fresh AS (
    INSERT INTO processed_updates (channel, update_key, processed_at)
    VALUES (:update_channel, :update_key, :now)
    ON CONFLICT DO NOTHING
    RETURNING 1 AS one
)"""
_FRESH_ALWAYS = "fresh AS (SELECT 1 AS one)"

_PG_BEGIN = f"""WITH {{fresh}},
u AS (
    INSERT INTO users AS old (channel, external_id, display_name, username, is_admin,
                              reminder_optouts, created_at, updated_at, last_inbound_at)
    SELECT CAST(:channel AS VARCHAR), CAST(:external_id AS VARCHAR),
           CAST(:display_name AS VARCHAR), CAST(:username AS VARCHAR), false,
           CAST('[]' AS JSONB), :now, :now, :now
    FROM fresh
    ON CONFLICT (channel, external_id) DO UPDATE SET
        display_name = COALESCE(EXCLUDED.display_name, old.display_name),
        username = EXCLUDED.username,
        blocked_at = NULL,
        last_inbound_at = CASE WHEN old.last_inbound_at IS NULL
                                 OR old.last_inbound_at <= :stale
                               THEN EXCLUDED.last_inbound_at ELSE old.last_inbound_at END,
        updated_at = EXCLUDED.updated_at
    WHERE old.display_name IS DISTINCT FROM COALESCE(EXCLUDED.display_name, old.display_name)
       OR old.username IS DISTINCT FROM EXCLUDED.username
       OR old.blocked_at IS NOT NULL
       OR old.last_inbound_at IS NULL
       OR old.last_inbound_at <= :stale
    RETURNING {_cols("old", _USER_COLUMNS)}
),
usr AS (
    SELECT {_cols("u", _USER_COLUMNS)} FROM u
    UNION ALL
    SELECT {_cols("users", _USER_COLUMNS)} FROM users
    WHERE users.channel = :channel AND users.external_id = :external_id
      AND EXISTS (SELECT 1 FROM fresh) AND NOT EXISTS (SELECT 1 FROM u)
),
c AS (
    INSERT INTO conversations AS conv (user_id, data, updated_at)
    SELECT usr.id, CAST('{{{{}}}}' AS JSONB), :now FROM usr
    ON CONFLICT (user_id) DO UPDATE SET flow = conv.flow
    RETURNING {_cols("conv", _CONVERSATION_COLUMNS)}
)
SELECT {_cols("usr", _USER_COLUMNS)}, {_cols("c", _CONVERSATION_COLUMNS)},
       {_cols("b", _BUSINESS_COLUMNS)}
FROM fresh LEFT JOIN usr ON true LEFT JOIN c ON c.user_id = usr.id
LEFT JOIN businesses AS b ON b.owner_id = usr.id"""  # noqa: S608 - names only


def _pg_statement(fresh: str) -> Any:
    sql = text(_PG_BEGIN.format(fresh=fresh)).bindparams(
        bindparam("now", type_=UTCDateTime()),
        bindparam("stale", type_=UTCDateTime()),
    )
    textual = sql.columns(
        *User.__table__.columns, *Conversation.__table__.columns, *Business.__table__.columns
    )
    return (
        select(User, Conversation, Business)
        .from_statement(textual)
        .execution_options(populate_existing=True)
    )


_PG_NEW_UPDATE = _pg_statement(_FRESH_MARK)
_PG_NO_UPDATE_KEY = _pg_statement(_FRESH_ALWAYS)

# --- SQLite (one writer at a time, in-process): small statements, each built once ----------

_SQLITE_MARK = text(
    "INSERT INTO processed_updates (channel, update_key, processed_at) "
    "VALUES (:update_channel, :update_key, :now) ON CONFLICT DO NOTHING"
).bindparams(bindparam("now", type_=UTCDateTime()))
_SQLITE_USER = text(
    "INSERT INTO users (channel, external_id, display_name, username, is_admin, "
    "reminder_optouts, created_at, updated_at) "
    "VALUES (:channel, :external_id, :display_name, :username, 0, '[]', :now, :now) "
    "ON CONFLICT (channel, external_id) DO NOTHING"
).bindparams(bindparam("now", type_=UTCDateTime()))
_SQLITE_CONVERSATION = text(
    "INSERT INTO conversations (user_id, data, updated_at) "
    "SELECT id, '{}', :now FROM users WHERE channel = :channel AND external_id = :external_id "
    "ON CONFLICT (user_id) DO NOTHING"
).bindparams(bindparam("now", type_=UTCDateTime()))
_LOAD = (
    select(User, Conversation, Business)
    .join(Conversation, Conversation.user_id == User.id)
    .outerjoin(Business, Business.owner_id == User.id)
    .where(User.channel == bindparam("channel"), User.external_id == bindparam("external_id"))
    .execution_options(populate_existing=True)
)


_ALIAS = (
    select(User.channel, User.external_id, User.username)
    .join(UserAlias, UserAlias.user_id == User.id)
    .where(UserAlias.channel == bindparam("channel"), UserAlias.external_id == bindparam("id"))
)


async def begin_update(
    session: AsyncSession,
    *,
    channel: str,
    update_key: str | None,
    external_id: str,
    display_name: str | None,
    username: str | None,
    now: datetime,
) -> tuple[User, Conversation] | None:
    """Start handling an update in the session's transaction: None for a redelivery (it was
    handled before), else the sender's user row and their conversation, locked until the
    transaction ends.

    Two updates from one person (an album, a double tap) on two workers are applied one
    after the other instead of overwriting each other's state; an update whose handling
    fails rolls back and stays unmarked.
    """
    update_channel = channel
    if channel in LINKABLE_CHANNELS:
        linked = (await session.execute(_ALIAS, {"channel": channel, "id": external_id})).first()
        if linked is not None:  # the person's own account on the other channel
            channel, external_id = linked.channel, linked.external_id
            display_name, username = None, linked.username
    params = {
        "update_channel": update_channel,
        "channel": channel,
        "update_key": update_key,
        "external_id": external_id,
        # Names are cut to fit: whatever a platform allows (or a new one sends) is stored.
        "display_name": clip(display_name, DISPLAY_NAME_MAX),
        "username": clip(username, USERNAME_MAX),
        "now": now,
    }
    if session.get_bind().dialect.name == "postgresql":
        stmt = _PG_NEW_UPDATE if update_key is not None else _PG_NO_UPDATE_KEY
        rows = (await session.execute(stmt, {**params, "stale": now - INBOUND_RESOLUTION})).all()
        if not rows:
            return None  # a redelivery
        user, conversation, business = rows[0]
        if user is not None and conversation is not None:
            business_loaded(session, user.id, business)
            return user, conversation
        # The race described above: the update is recorded; the rows exist now.
        return await _load_or_create(session, params)
    if update_key is not None:
        marked: Any = await session.execute(_SQLITE_MARK, params)
        if not marked.rowcount:
            return None
    return await _load_or_create(session, params)


# The portable path (SQLite always; PostgreSQL after the first-contact race), per dialect.
_PG_USER = text(
    "INSERT INTO users (channel, external_id, display_name, username, is_admin, "
    "reminder_optouts, created_at, updated_at) "
    "VALUES (:channel, :external_id, :display_name, :username, false, "
    "CAST('[]' AS JSONB), :now, :now) ON CONFLICT (channel, external_id) DO NOTHING"
).bindparams(bindparam("now", type_=UTCDateTime()))
_PG_CONVERSATION = text(
    "INSERT INTO conversations (user_id, data, updated_at) "
    "SELECT id, CAST('{}' AS JSONB), :now FROM users "
    "WHERE channel = :channel AND external_id = :external_id "
    "ON CONFLICT (user_id) DO NOTHING"
).bindparams(bindparam("now", type_=UTCDateTime()))
_PORTABLE = {
    "sqlite": (_SQLITE_USER, _SQLITE_CONVERSATION, _LOAD),
    "postgresql": (
        _PG_USER,
        _PG_CONVERSATION,
        _LOAD.with_for_update(of=Conversation),
    ),
}


async def _load_or_create(
    session: AsyncSession, params: dict[str, Any]
) -> tuple[User, Conversation]:
    """Load (and lock) both rows, inserting them first for someone new; refresh the user in
    Python. A known person (nearly every update) costs one SELECT."""
    insert_user, insert_conversation, load = _PORTABLE[session.get_bind().dialect.name]
    keys = {"channel": params["channel"], "external_id": params["external_id"]}
    found = (await session.execute(load, keys)).first()
    if found is None:
        await session.execute(insert_user, params)
        await session.execute(insert_conversation, params)
        found = (await session.execute(load, keys)).one()
    user, conversation, business = found
    business_loaded(session, user.id, business)
    now: datetime = params["now"]
    if params["display_name"] and user.display_name != params["display_name"]:
        user.display_name = params["display_name"]
    if params["username"] != user.username:
        user.username = params["username"]
    if user.last_inbound_at is None or user.last_inbound_at <= now - INBOUND_RESOLUTION:
        user.last_inbound_at = now
    if user.blocked_at is not None:
        user.blocked_at = None  # they wrote to us, so they have not blocked the bot
    return user, conversation


async def forget_processed_updates(session: AsyncSession, *, before: datetime) -> int:
    result = await session.execute(
        delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < before)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def get_user(session: AsyncSession, *, channel: str, external_id: str) -> User | None:
    return await session.scalar(
        select(User).where(User.channel == channel, User.external_id == external_id)
    )


# How an admin names a person: a channel's numeric id, or @username (Telegram's letters).
_PERSON_ID_RE = re.compile(r"-?[0-9]{1,20}")
_USERNAME_RE = re.compile(r"@?([A-Za-z0-9_]{1,64})")


def person_form(who: str) -> str | None:
    """The form of `who`: "id" (a numeric id), "username" (@username) or None."""
    who = who.strip()
    if _PERSON_ID_RE.fullmatch(who):
        return "id"
    if who.startswith("@") and _USERNAME_RE.fullmatch(who):
        return "username"
    return None


async def resolve_person(
    session: AsyncSession, *, channel: str, who: str
) -> tuple[str, User | None] | None:
    """The one reading of "ID or @username", for every command that names a person: the
    external id and the user row (None when they never wrote). None when `who` is neither
    form, or nobody has written as that @username (matched exactly, in any case)."""
    who = who.strip()
    form = person_form(who)
    if form == "id":
        return who, await get_user(session, channel=channel, external_id=who)
    if form == "username":
        user = await find_by_username(session, channel=channel, username=who)
        return (user.external_id, user) if user is not None else None
    return None


async def find_by_username(session: AsyncSession, *, channel: str, username: str) -> User | None:
    """The person who last wrote to the bot as @username (any case, no pattern: "_" is an
    underscore); None if nobody has."""
    match = _USERNAME_RE.fullmatch(username.strip())
    if match is None:
        return None
    name = match.group(1).lower()
    return await session.scalar(
        select(User)
        .where(User.channel == channel, func.lower(User.username) == name)
        .order_by(User.last_inbound_at.desc().nulls_last(), User.id.desc())
        .limit(1)
    )


async def upsert_user(
    session: AsyncSession,
    *,
    channel: str,
    external_id: str,
    display_name: str | None,
    username: str | None,
    now: datetime,
) -> User:
    """The sender's user row, created on first contact, names refreshed (as `begin_update`
    does for an update; for the CLI and data set-up that have no update)."""
    started = await begin_update(
        session,
        channel=channel,
        update_key=None,
        external_id=external_id,
        display_name=display_name,
        username=username,
        now=now,
    )
    assert started is not None  # without an update key there is no redelivery
    return started[0]


async def get_user_by_id(session: AsyncSession, *, user_id: int) -> User | None:
    return await session.get(User, user_id)


async def users_by_external_ids(session: AsyncSession, *, external_ids: list[str]) -> list[User]:
    return list(await session.scalars(select(User).where(User.external_id.in_(external_ids))))


async def last_inbound(
    session: AsyncSession, *, user_ids: Sequence[int]
) -> dict[int, datetime | None]:
    """When each user last wrote to us (WhatsApp's 24-hour window counts from it)."""
    if not user_ids:
        return {}
    rows = await session.execute(
        select(User.id, User.last_inbound_at).where(User.id.in_(list(user_ids)))
    )
    return {uid: at for uid, at in rows.all()}


async def language_of(session: AsyncSession, *, user_id: int | None) -> str:
    """The user's language, for messages to an admin outside an update ("id" if unknown)."""
    if user_id is None:
        return "id"
    return (await session.scalar(select(User.language).where(User.id == user_id))) or "id"


async def mark_blocked(session: AsyncSession, *, user_id: int | None, now: datetime) -> None:
    if user_id is not None:
        await session.execute(
            update(User).where(User.id == user_id, User.blocked_at.is_(None)).values(blocked_at=now)
        )
