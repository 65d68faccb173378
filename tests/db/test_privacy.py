"""/hapusdata and /datasaya at the data layer: every table is accounted for, the curators'
written reasons are the producer's to read, and no copy of a photo outlives it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

import db.models  # noqa: F401 - every model registered on the metadata
from db.base import Base
from db.media_store import MediaStore
from db.models import Photo, Product, Review, User, Verdict
from db.privacy import (
    ERASED,
    HOLDS_NO_PERSON,
    KEPT_FOR_SECURITY,
    erase_user,
    export_user_data,
)
from db.reviews import claim, decide
from tests.factories import submitted_product

NOW = datetime(2026, 11, 25, 3, 0, tzinfo=UTC)


def test_every_table_is_erased_or_holds_no_person() -> None:
    """A table added to the models must say what /hapusdata does to it (db/privacy.py's
    ERASED, and the code in erase_user), or why it holds nothing about a person."""
    tables = {table.name for table in Base.metadata.sorted_tables}
    named = [set(ERASED), set(KEPT_FOR_SECURITY), set(HOLDS_NO_PERSON)]
    uncovered = sorted(tables - set().union(*named))
    assert not uncovered, (
        "tables /hapusdata does not cover: "
        + ", ".join(uncovered)
        + ". Erase what they hold about a person in db/privacy.py's erase_user and name "
        "them in ERASED, or name them in HOLDS_NO_PERSON with the reason."
    )
    assert sum(len(n) for n in named) == len(set().union(*named)), "a table named twice"
    gone = set().union(*named) - tables
    assert not gone, f"named in db/privacy.py but no longer a table: {sorted(gone)}"


async def _decided(sessionmaker, store: MediaStore) -> Product:
    product = await submitted_product(sessionmaker, now=NOW, store=store, owner="owner-1")
    async with sessionmaker() as session, session.begin():
        curator = User(channel="test", external_id="cur", display_name="Sari", reminder_optouts=[])
        session.add(curator)
        await session.flush()
        review = await session.scalar(select(Review).where(Review.product_id == product.id))
        loaded = await session.get(Product, product.id)
        assert review is not None and loaded is not None
        assert await claim(
            session,
            review=review,
            product=loaded,
            curator_user_id=curator.id,
            curator_name="Sari",
            now=NOW,
        )
        assert await decide(
            session,
            review=review,
            product=loaded,
            action=Verdict.revise,
            actor_user_id=curator.id,
            grade=None,
            reasons=["photos"],
            reason_text="Foto kemasan belakang belum terlihat jelas, mohon difoto ulang.",
            override=False,
            now=NOW,
        )
    return product


async def test_my_data_holds_the_curators_written_reasons(sessionmaker, media_store) -> None:
    product = await _decided(sessionmaker, media_store)
    async with sessionmaker() as session:
        owner = await session.scalar(select(User).where(User.external_id == "owner-1"))
        assert owner is not None
        data = await export_user_data(session, user=owner)
    [exported] = [p for p in data["products"] if p["name"] == product.name]
    [review] = exported["reviews"]
    assert review["decision"] == "revision_requested" and review["reasons"] == ["photos"]
    assert review["written_reason"] == (
        "Foto kemasan belakang belum terlihat jelas, mohon difoto ulang."
    )
    assert "Sari" not in str(data)  # who curated is the curator's, not the producer's


async def test_erasure_takes_every_copy_of_a_photo(sessionmaker, media_store) -> None:
    """The catalogue's thumbnails (media.dir/thumbs/<sha256>-480.jpg and -1600.jpg) go with
    the photo; a photo someone else also uses keeps its copies."""
    product = await submitted_product(sessionmaker, now=NOW, store=media_store, owner="owner-2")
    async with sessionmaker() as session:
        photo = await session.scalar(select(Photo).where(Photo.product_id == product.id))
        assert photo is not None
        owner = await session.scalar(select(User).where(User.external_id == "owner-2"))
    thumbs = media_store.root / "thumbs"
    thumbs.mkdir(parents=True, exist_ok=True)
    copies = [thumbs / f"{photo.sha256}-{side}.jpg" for side in (480, 1600)]
    for copy in copies:
        copy.write_bytes(b"jpeg")
    other = thumbs / f"{'0' * 64}-480.jpg"
    other.write_bytes(b"jpeg")
    async with sessionmaker() as session, session.begin():
        keys = await erase_user(session, user_id=owner.id, now=NOW)
    assert keys == [photo.store_key]
    for key in keys:
        media_store.delete(key)
    assert not any(copy.exists() for copy in copies)
    assert not media_store.exists(photo.store_key)
    assert other.exists()
