"""Decisions taken back with Urungkan count nowhere (issue 20, issue 24): the curator's
/statistik_saya, the admins' statistics (`kurasi stats`'s figures), the reviews export.

Sari approves one product, rejects the second and takes the rejection back, then asks
for a revision of it, and rejects the third: 1 approved, 1 revision, 1 rejected."""

from __future__ import annotations

import io

from bot.runtime import Kurasi
from bot.sender import MessageSender
from db.exports import write_export
from db.stats import collect
from tests.factories import submitted_product
from tests.handlers.test_curator_flow import scored
from tests.handlers.test_review import FOOD_CHAT, app, curator, make_curator, poster
from tests.support import FakeClock, RecordingChannel

__all__ = ["app", "poster"]


async def test_an_undone_rejection_counts_nowhere(
    app: Kurasi,
    channel: RecordingChannel,
    poster: MessageSender,
    sessionmaker,
    clock: FakeClock,
    media_store,
) -> None:
    for i, name in enumerate(("Satu", "Dua", "Tiga")):
        await submitted_product(
            sessionmaker,
            now=clock.now,
            store=media_store,
            chat_id=FOOD_CHAT,
            owner=f"p{i}",
            name=name,
        )
        clock.advance(minutes=5)
    await poster.run_until_idle()
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.send("/ambil")
    await scored(sari, channel)
    await sari.press("Setujui")
    await sari.press("Ambil berikutnya")
    await scored(sari, channel)  # a picked reason is enough once every criterion is scored
    await sari.press("Tolak")
    await sari.press("Foto kurang jelas")
    await sari.press("Kirim penolakan")
    clock.advance(seconds=10)
    await sari.press("Urungkan")
    assert any("Diurungkan" in a for a in sari.alerts)
    clock.advance(seconds=10)
    await scored(sari, channel)
    await sari.press("Minta revisi")
    await sari.press("Foto kurang jelas")
    await sari.press("Kirim permintaan revisi")
    await sari.press("Ambil berikutnya")
    await scored(sari, channel)  # a picked reason is enough once every criterion is scored
    await sari.press("Tolak")
    await sari.press("Foto kurang jelas")
    await sari.press("Kirim penolakan")
    clock.advance(minutes=1)

    await sari.send("/statistik_saya")
    assert "1 disetujui, 1 diminta revisi, 1 ditolak" in sari.text, sari.text

    async with sessionmaker() as session:
        stats = await collect(session, now=clock.now)
        [load] = stats.curators
        assert (load.approve, load.revise, load.reject) == (1, 1, 1)
        assert sum(w.reject for w in stats.weeks) == 1
        assert sum(stats.grades.values()) == 3
        out = io.BytesIO()
        await write_export(session, what="reviews", fmt="csv", out=out)
    # The reviews export: one row per round, the undone rejection is not a decision there.
    text = out.getvalue().decode("utf-8-sig")
    assert text.count("rejected") + text.count("ditolak") == 1, text
