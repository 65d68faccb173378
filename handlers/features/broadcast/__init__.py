"""/siaran: an admin composes a broadcast (message, audience, preview, send or schedule) and
steers it while it runs (pause, resume, stop). Sending itself is bot/broadcast.py's job.

`compose` is the composer, a form (handlers/forms); `audience` its filters, counted as they
change; `steer` the reports, /siaran_daftar and the progress message's buttons.
"""

from __future__ import annotations

from handlers.features.broadcast.compose import FORM, start
from handlers.features.broadcast.steer import (
    CONTROL,
    estimate,
    final_reply,
    list_recent,
    on_control,
    progress_reply,
    report_text,
)
from handlers.i18n import N_
from handlers.kit.feature import Feature, Surface

__all__ = ["FEATURE", "estimate", "final_reply", "progress_reply", "report_text"]

FEATURE = Feature(
    commands={
        "siaran": start,
        "broadcast": start,
        "siaran_daftar": list_recent,
        "broadcasts": list_recent,
    },
    admin_only=frozenset({"siaran", "broadcast", "siaran_daftar", "broadcasts"}),
    buttons={CONTROL: on_control},
    forms=(FORM,),
    surface=(
        Surface(
            "siaran",
            help={"admin": N_("write a broadcast to producers, now or scheduled")},
            aliases=("broadcast",),
            rank=70,
        ),
        Surface(
            "siaran_daftar",
            help={"admin": N_("the latest broadcasts and how they went")},
            aliases=("broadcasts",),
            rank=71,
        ),
    ),
)
