"""The product form's curator-assist questions (issue 23), in a block of their own: the
number of each legal document the producer says they hold (read offline, a friendly hint
when it cannot be right, and the producer goes on), the HS heading, and target markets
(answered with each market's checklist in the producer's language)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from db.models import Business, Product
from db.requirements import held_by, requirement_rows
from handlers.i18n import N_
from handlers.kit.context import Context
from handlers.kit.events import Event, Text
from handlers.kit.forms.engine import (
    NOT_UNDERSTOOD,
    Field,
    Form,
    Got,
    Input,
    Outcome,
    Refuse,
    Skip,
)
from handlers.kit.forms.inputs import ChecklistInput, ChoiceInput
from handlers.kit.parsing.text import clean_text
from handlers.kit.render import Option
from handlers.rules import hs, legality, readiness


class Draft(Protocol):
    """What these fields read of the product form's record (features/fields.py's Draft)."""

    @property
    def product(self) -> Product: ...

    @property
    def business(self) -> Business: ...


PREFIX = "num_"
HS_FIELD = "hs_code"
MARKETS_FIELD = "markets"
TYPED_MAX = 80  # longer is clipped (and told): nothing typed is refused

NUMBER_LABELS = {
    "pirt": N_("P-IRT number"),
    "bpom": N_("BPOM number"),
    "halal": N_("Halal certificate number"),
    "sni": N_("SNI certificate number"),
    "merek": N_("Trademark (HKI) number"),
    "svlk": N_("Timber legality (SVLK) document"),
}
NUMBER_QUESTIONS = {
    "pirt": N_(
        "What is the P-IRT number? It is on the certificate and the label, 15 digits, "
        "for example {example}."
    ),
    "bpom": N_(
        "What is the BPOM number? For food MD or ML and 12 digits (e.g. {example}); for "
        "cosmetics NA–NE and 11 digits."
    ),
    "halal": N_("What is the Halal certificate number? It starts with ID, e.g. {example}."),
    "sni": N_("What is the SNI certificate or standard number? For example {example}."),
    "merek": N_("What is the registered trademark number? For example {example}."),
    "svlk": N_(
        "The product is made of wood: what is the number of its timber legality document "
        "(SVLK V-Legal, or the supplier's declaration, DKP, for small industry)?"
    ),
}
NOT_AT_HAND = N_("Not at hand")


class NumberInput(Input[Draft]):
    """Any typed text is taken (clipped, cleaned): the reading and its hint come after."""

    async def read(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: Draft, event: Event
    ) -> Outcome:
        if not isinstance(event, Text):
            return Refuse(ctx.t(NOT_UNDERSTOOD))
        cleaned = clean_text(event.text[:TYPED_MAX], max_len=TYPED_MAX)
        return Got(cleaned) if cleaned else Refuse(ctx.t("I couldn't find a number in that."))


def _held(kind: str) -> Callable[[Draft], bool]:
    def applies(draft: Draft) -> bool:
        product = draft.product
        docs = product.legal_docs or []
        if kind == "svlk":
            return "svlk" in docs or legality.needs_svlk(product.sector, product.materials)
        return kind in docs

    return applies


def _ask(kind: str) -> Callable[[Context, Draft], str]:
    return lambda ctx, d: ctx.t(NUMBER_QUESTIONS[kind], example=legality.EXAMPLES[kind])


def _hs_options(ctx: Context, draft: Draft) -> list[Option]:
    product = draft.product
    found = hs.suggest(product.sector, product.name, product.materials, product.description)
    return [Option(h.code, f"{h.code} {h.label(ctx.language)}") for h in found]


def _hs_check(ctx: Context, draft: Draft, value: Any) -> str | None:
    if value == "" or hs.valid_code(str(value)):
        return None
    return ctx.t("An HS heading is 4 digits, e.g. 0901; or press “Not sure”.")


def _market_options(ctx: Context, draft: Draft) -> list[Option]:
    return [
        Option(code, f"{readiness.FLAGS[code]} {ctx.t(label)}")
        for code, label in readiness.DESTINATIONS.items()
    ]


FIELDS: tuple[Field[Draft], ...] = (
    *(
        Field(
            PREFIX + kind,
            NUMBER_LABELS[kind],
            _ask(kind),
            NumberInput(),
            applies=_held(kind),
            skip=Skip(NOT_AT_HAND, ""),
        )
        for kind in (*legality.NUMBERED, "svlk")
    ),
    Field(
        HS_FIELD,
        N_("HS code"),
        N_(
            "Export papers name the product by its HS code. Is it one of these? Press it, "
            "type the 4-digit heading, or press “Not sure” (a curator can confirm it)."
        ),
        ChoiceInput(
            choices=_hs_options,
            refusal=N_("An HS heading is 4 digits, e.g. 0901; or press “Not sure”."),
            columns=1,
            free_word=True,
        ),
        applies=lambda d: d.product.sector is not None,
        skip=Skip(N_("Not sure"), ""),
        check=_hs_check,
        editable=False,
    ),
    Field(
        MARKETS_FIELD,
        N_("Target markets"),
        N_(
            "Which countries would you like to sell to? Tick them and I'll show what each "
            "asks for, against what you have. Or press “None yet”."
        ),
        ChecklistInput(
            choices=_market_options,
            start=lambda ctx, d: list(d.product.target_markets or []),
            refusal=N_("Please tap the countries, then “Done”."),
            toggled=N_("Tap each country, then “Done”."),
            empty_done=N_("None yet"),
        ),
        editable=False,
    ),
)
NAMES = frozenset(f.name for f in FIELDS)


def answered(product: Product, name: str) -> bool:
    """Numbers are asked in order; the HS heading and markets only from the card's button
    (optional: never "the next unanswered field")."""
    if name.startswith(PREFIX):
        return name[len(PREFIX) :] in (product.legal_numbers or {})
    return True


async def save(ctx: Context, draft: Draft, name: str, value: Any) -> None:
    """Store the answer; a number that cannot be right gets its hint, and the form goes on."""
    product, business = draft.product, draft.business
    if name.startswith(PREFIX):
        kind = name[len(PREFIX) :]
        product.legal_numbers = {**(product.legal_numbers or {}), kind: value}
        if value:
            rules = legality.Context(product.sector, business.region_code, ctx.today)
            reading = legality.read(kind, str(value), rules)
            if (hint := legality.producer_hint(ctx.t, reading)) is not None:
                ctx.reply(hint)
    elif name == HS_FIELD:
        product.hs_code = str(value)
        product.hs_source = "producer" if value else None
    else:
        markets = [m for m in value or [] if m in readiness.DESTINATIONS]
        product.target_markets = markets
        if markets:
            rows = await requirement_rows(ctx.session)
            held = held_by(product, business)
            lists = [
                readiness.checklist_text(ctx.t, ctx.language, rows, m, product.sector, held)
                for m in markets
            ]
            legend = ctx.t("✅ you have it · ⬜ still to do · 🤝 arranged with the buyer")
            ctx.reply("\n\n".join([*lists, legend]))


def card_lines(ctx: Context, product: Product) -> list[str]:
    """The producer's card: the numbers given, the HS heading, the markets named."""
    lines = []
    numbers = product.legal_numbers or {}
    if numbers:
        parts = [f"{ctx.t(legality.LABELS[k])} {v or '—'}" for k, v in numbers.items()]
        lines.append(ctx.t("Document numbers: {numbers}", numbers=" · ".join(parts)))
    if product.hs_code:
        lines.append(f"{ctx.t('HS code')}: {product.hs_code}")
    if product.target_markets:
        names = [ctx.t(readiness.DESTINATIONS[m]) for m in product.target_markets]
        lines.append(f"{ctx.t('Target markets')}: {', '.join(names)}")
    return lines


__all__ = ["FIELDS", "NAMES", "answered", "card_lines", "save"]
