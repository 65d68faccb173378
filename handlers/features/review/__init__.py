"""Curators in review chats: claim, score against the rubric, decide — in few taps.

`card` renders the curators' card and its typed button payloads, `access` says who may act
where, `actions` handles the card's buttons (claim, score, release, next), `decisions` the
verdicts (approve, revise or reject with reasons, undo), `refresh` draws the card again as it
stands, `notices` tells the chat and the producer, `admin` holds the chat and curator commands.
"""

from __future__ import annotations

from handlers.features.review import admin
from handlers.features.review.actions import claim_next
from handlers.i18n import N_
from handlers.kit.feature import Feature, Surface

CURATOR_ADMIN = {
    "kurator_tambah": admin.curator_add,
    "kurator_hapus": admin.curator_remove,
    "kurator": admin.curator_list,
}

FEATURE = Feature(
    commands=CURATOR_ADMIN,
    group_commands={
        "ambil": claim_next,
        "take": claim_next,
        "antrian": admin.queue,
        "queue": admin.queue,
        "statistik_saya": admin.my_stats,
        "mystats": admin.my_stats,
        **CURATOR_ADMIN,
    },
    admin_only=frozenset(CURATOR_ADMIN),
    surface=(
        Surface(
            "ambil",
            help={"curator": N_("take the oldest waiting product of this chat")},
            aliases=("take",),
            rank=10,
        ),
        Surface(
            "antrian",
            help={"curator": N_("the products waiting in this chat")},
            aliases=("queue",),
            rank=20,
        ),
        Surface(
            "statistik_saya", help={"curator": N_("your decisions")}, aliases=("mystats",), rank=30
        ),
        Surface(
            "kurator_tambah",
            help={"admin": N_("make someone a curator (ID or @username)")},
            rank=80,
        ),
        Surface("kurator_hapus", help={"admin": N_("take someone's curator role away")}, rank=81),
        Surface("kurator", help={"admin": N_("the curators and their review chats")}, rank=82),
    ),
)
