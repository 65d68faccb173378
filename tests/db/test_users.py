"""User rows take whatever name a channel sends: longer than the column is cut, never refused."""

from __future__ import annotations

from datetime import UTC, datetime

from db.models import DISPLAY_NAME_MAX, USERNAME_MAX
from db.users import clip, upsert_user

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def test_clip_never_leaves_half_an_emoji_or_a_lone_accent() -> None:
    family = "👨\u200d👩\u200d👧"
    assert clip("a" * 5 + family, 7) == "aaaaa👨"
    assert clip("abcde\u0301f", 6) == "abcde"
    assert clip("  ", 5) is None and clip(None, 5) is None
    assert clip("Sari", 5) == "Sari"


async def test_over_long_names_from_any_channel_are_cut_to_fit(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        user = await upsert_user(
            session,
            channel="console",
            external_id="wide",
            display_name="N" * 500,
            username="u" * 300,
            now=NOW,
        )
        assert len(user.display_name or "") == DISPLAY_NAME_MAX
        assert len(user.username or "") == USERNAME_MAX
        again = await upsert_user(
            session,
            channel="console",
            external_id="wide",
            display_name="M" * 500,
            username=None,
            now=NOW,
        )
        assert again.display_name == "M" * DISPLAY_NAME_MAX and again.username is None
