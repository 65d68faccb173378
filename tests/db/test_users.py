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


async def test_a_username_is_matched_exactly_in_any_case_never_as_a_pattern(
    sessionmaker,
) -> None:
    """Underscores and percent signs are letters of a name, never LIKE wildcards."""
    from db.users import person_form, resolve_person

    async with sessionmaker() as session, session.begin():
        for external_id, username in (("1", "axb"), ("2", "a%z"), ("3", "Sari_Kadin")):
            await upsert_user(
                session,
                channel="telegram",
                external_id=external_id,
                display_name=None,
                username=username,
                now=NOW,
            )
        assert await resolve_person(session, channel="telegram", who="@a_b") is None
        assert await resolve_person(session, channel="telegram", who="@a%b") is None
        assert await resolve_person(session, channel="telegram", who="@axb") is not None
        found = await resolve_person(session, channel="telegram", who="@sari_kadin")
        assert found is not None and found[0] == "3"
        assert await resolve_person(session, channel="whatsapp", who="@axb") is None
        number = await resolve_person(session, channel="telegram", who="777")
        assert number is not None and number == ("777", None)  # never wrote: id as given
    assert [person_form(w) for w in ("123", "-100", "@a_b", "@", "a_b", "@a b", "@a%b")] == [
        "id",
        "id",
        "username",
        None,
        None,
        None,
        None,
    ]
