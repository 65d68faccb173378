"""Why a typed amount was refused, and the reply that says the real rule."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from handlers.i18n import N_

MAX_AMOUNT = 1_000_000_000


class Reason(StrEnum):
    """What was wrong with a typed amount, so the reply can say the real rule."""

    NOT_A_NUMBER = "not_a_number"
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"
    NOT_WHOLE = "not_whole"
    AMBIGUOUS = "ambiguous"
    BAD_UNIT = "bad_unit"
    NOT_MONTHLY = "not_monthly"


@dataclass(frozen=True, slots=True)
class Refused:
    """An answer turned down, with the bounds that applied (for the message)."""

    reason: Reason
    minimum: int = 1
    maximum: int = MAX_AMOUNT


REFUSAL_TEXT: dict[Reason, str] = {
    Reason.NOT_A_NUMBER: N_(
        "I couldn't read a number there. Type it in digits or words, for example 100, "
        "1.500 or seratus."
    ),
    Reason.TOO_SMALL: N_("It has to be at least {minimum}. Please type {minimum} or more."),
    Reason.TOO_LARGE: N_("That is more than {maximum}. Please check the number and type it again."),
    Reason.NOT_WHOLE: N_("Please type a whole number, without a decimal part."),
    Reason.AMBIGUOUS: N_(
        "That can be read two ways. Please write it in full, for example 2.500.000 or "
        "2 juta 500 ribu."
    ),
    Reason.BAD_UNIT: N_(
        "Please type a number and at most one word for the unit, for example 500 pcs."
    ),
    Reason.NOT_MONTHLY: N_("Please give the amount per month, for example 500 pcs per bulan."),
}


def refusal_text(
    t: Callable[..., str],
    refused: Refused,
    *,
    not_a_number: str | None = None,
    too_large: str | None = None,
) -> str:
    """The reader's-language reply for a refusal; `not_a_number` (marked with N_) replaces
    the generic "couldn't read a number" with the question's own example, `too_large` the
    generic "more than {maximum}" with what the maximum means."""
    template = REFUSAL_TEXT[refused.reason]
    if refused.reason is Reason.NOT_A_NUMBER and not_a_number is not None:
        template = not_a_number
    if refused.reason is Reason.TOO_LARGE and too_large is not None:
        template = too_large
    return t(
        template,
        minimum=_dotted(refused.minimum),
        maximum=_dotted(refused.maximum),
    )


def _dotted(n: int) -> str:
    return f"{n:,}".replace(",", ".")
