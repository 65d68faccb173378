"""Curators in the review chat: /bantuan and /help answer; one rule for deciding without
scores (a written reason, whatever the verdict)."""

from __future__ import annotations

import pytest

from bot.sender import MessageSender
from tests.handlers.test_review import (
    curator,
    make_curator,
    review_app,
    submit_via_chat,
    the_only_product,
)
from tests.support import Chat, RecordingChannel


@pytest.fixture(params=["id", "en"])
def app(request, sessionmaker, clock, media_store):
    return review_app(sessionmaker, clock, media_store, review_language=request.param)


@pytest.fixture
def poster(app) -> MessageSender:
    return MessageSender(app, language=app.flow_settings.review_language)


@pytest.mark.parametrize("command", ["/bantuan", "/help"])
async def test_help_in_the_review_chat(
    app, channel: RecordingChannel, sessionmaker, clock, command
):
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.send(command)
    english = app.flow_settings.review_language == "en"
    assert "/ambil" in sari.text and "/antrian" in sari.text
    assert ("written reason" if english else "alasan tertulis") in sari.text


@pytest.mark.parametrize("verdict", ["reject", "approve"])
async def test_unscored_decisions_need_a_written_reason(
    app, channel: RecordingChannel, chat: Chat, poster, sessionmaker, clock, verdict: str
) -> None:
    english = app.flow_settings.review_language == "en"
    await submit_via_chat(chat)
    await poster.run_until_idle()
    await make_curator(sessionmaker, clock, "c1")
    sari = curator(app, channel, "c1", "Sari")
    await sari.press("Claim" if english else "Ambil")
    if verdict == "reject":
        await sari.press("Reject" if english else "Tolak")
        await sari.press("Photos unclear" if english else "Foto kurang jelas")
        await sari.press("Send" if english else "Kirim")
    else:
        await sari.press("Approve" if english else "Setujui")
    asked = sari.last[-1]
    assert asked.force_reply  # the same question for both verdicts
    assert ("Not every criterion is scored" if english else "Belum semua kriteria") in asked.text
    assert (await the_only_product(sessionmaker)).status == "in_review"
    await sari.send("Foto produk tidak menunjukkan label dan kemasan.")
    if verdict == "reject":
        await sari.press("Send" if english else "Kirim")
    status = (await the_only_product(sessionmaker)).status
    assert status == ("rejected" if verdict == "reject" else "approved")
