"""The curator assist joined up: a submission assessed (legality numbers, copied photos,
plausibility, HS heading, export readiness), its flags for triage, and the card's compact
block worded for the curator. The rules themselves are handlers/rules/."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy.ext.asyncio import AsyncSession

from db.assist import near_photos, product_hashes, product_names, sector_median_price
from db.models import Business, Photo, Product
from db.products import photos_of
from db.requirements import DESTINATIONS, held_by, requirement_rows
from handlers.i18n import N_
from handlers.kit.context import Translate
from handlers.rules import hs, legality, photo_hash, plausibility, readiness
from handlers.rules.legality import Level, Reading

COPY_FLAG = "photo_copy"
FLAG_LABELS = {
    COPY_FLAG: N_("copied photo"),
    "legal": N_("legality number"),
    "plausibility": N_("figures"),
}


@dataclass(frozen=True, slots=True)
class Copy:
    position: int  # of the photo on this product
    other_product_id: int
    other_name: str
    distance: int


@dataclass
class Assessment:
    readings: dict[str, Reading] = field(default_factory=dict)
    questions: list[plausibility.Question] = field(default_factory=list)
    copies: list[Copy] = field(default_factory=list)
    hs_suggestions: list[hs.Heading] = field(default_factory=list)
    legal_score: int = 2
    readiness: str = ""

    @property
    def flags(self) -> list[str]:
        """Codes for triage: "legal:pirt:expired", "plausibility:price_vs_median", …"""
        found = [
            f"legal:{kind}:{f.code}"
            for kind, reading in self.readings.items()
            for f in reading.findings
            if f.level >= Level.warn
        ]
        found += [f"plausibility:{q.code}" for q in self.questions]
        if self.copies:
            found.append(COPY_FLAG)
        return found


def read_numbers(product: Product, business: Business | None, today: date) -> dict[str, Reading]:
    ctx = legality.Context(
        sector=product.sector, region_code=business.region_code if business else None, today=today
    )
    readings: dict[str, Reading] = {}
    if business is not None and business.has_nib and business.nib:
        readings["nib"] = legality.read("nib", business.nib, ctx)
    for kind, typed in (product.legal_numbers or {}).items():
        if typed and kind in legality.READERS:
            readings[kind] = legality.read(kind, typed, ctx)
    return readings


async def assess(
    session: AsyncSession,
    *,
    product: Product,
    business: Business | None,
    photos: list[Photo],
    today: date,
    language: str = "en",
    t: Translate | None = None,
) -> Assessment:
    readings = read_numbers(product, business, today)
    prices = await sector_median_price(
        session, sector=product.sector, unit=product.unit, exclude_product_id=product.id
    )
    figures = plausibility.Figures(
        name=product.name,
        sector=product.sector,
        unit=product.unit,
        price=product.price,
        min_order=product.min_order,
        capacity=product.capacity,
        shelf_life_days=product.shelf_life_days,
        business_capacity=business.capacity_amount if business else None,
        business_unit=business.capacity_unit if business else None,
        sector_median_price=plausibility.median(prices),
    )
    copies = await find_copies(session, product=product, photos=photos)
    wood = legality.needs_svlk(product.sector, product.materials)
    score = legality.suggested_score(
        readings,
        sector=product.sector,
        has_nib=bool(business and business.has_nib),
        wood=wood,
    )
    line = ""
    if t is not None:
        rows = await requirement_rows(session)
        markets = [m for m in (product.target_markets or DESTINATIONS) if m in DESTINATIONS]
        line = readiness.summary(t, rows, markets, product.sector, held_by(product, business))
    return Assessment(
        readings=readings,
        questions=plausibility.questions(figures),
        copies=copies,
        hs_suggestions=hs.suggest(product.sector, product.name, product.materials)
        if not product.hs_code
        else [],
        legal_score=score,
        readiness=line,
    )


async def find_copies(
    session: AsyncSession, *, product: Product, photos: list[Photo]
) -> list[Copy]:
    """Photos of this product near-identical to a photo of another business's product."""
    hashes = await product_hashes(session, product_id=product.id)
    positions = {p.id: p.position for p in photos}
    copies: list[Copy] = []
    for photo_id, value in sorted(hashes.items()):
        probes = [photo_hash.probes(b) for b in photo_hash.bands(value)]
        near = await near_photos(
            session,
            value=value,
            probes=probes,
            max_distance=photo_hash.DISTANCE,
            exclude_business_id=product.business_id,
            limit=1,
        )
        for _other_photo, other_product, _business, distance in near:
            copies.append(Copy(positions.get(photo_id, 0), other_product, "", distance))
    if copies:
        names = await product_names(session, product_ids=[c.other_product_id for c in copies])
        copies = [
            Copy(c.position, c.other_product_id, names.get(c.other_product_id, ""), c.distance)
            for c in copies
        ]
    return copies


def card_block(t: Translate, language: str, product: Product, a: Assessment) -> list[str]:
    """The card's compact assist block, for the curator."""
    lines = [t("🤖 Checked before you read:")]
    lines += [legality.curator_line(t, r) for r in a.readings.values()]
    if not a.readings:
        lines.append(t("No document numbers given."))
    lines.append(t("Suggested Legality score: {n}", n=a.legal_score))
    lines += [f"❓ {t(q.text, **q.params)}" for q in a.questions]
    for c in a.copies:
        lines.append(
            t(
                "🖼 Photo {n} is near-identical to a photo of #{id} “{name}” (another business)",
                n=c.position,
                id=c.other_product_id,
                name=c.other_name,
            )
        )
    if product.hs_code:
        heading = hs.by_code(product.hs_code[:4])
        label = heading.label(language) if heading else ""
        lines.append(
            t(
                "HS {code} {label} (confirmed by {who})",
                code=product.hs_code,
                label=label,
                who=t("curator") if product.hs_source == "curator" else t("producer"),
            )
        )
    elif a.hs_suggestions:
        shown = " · ".join(f"{h.code} {h.label(language)}" for h in a.hs_suggestions)
        lines.append(t("HS suggested: {headings}", headings=shown))
    if a.readiness:
        lines.append(t("Export readiness: {line}", line=a.readiness))
    return lines


def flags_text(t: Translate, flags: list[str]) -> str:
    """A queue line's flags: "⚑ legality number, copied photo"; "" when none."""
    kinds = []
    for flag in flags:
        kind = flag.split(":", 1)[0]
        if kind in FLAG_LABELS and kind not in kinds:
            kinds.append(kind)
    return ("⚑ " + ", ".join(t(FLAG_LABELS[k]) for k in kinds)) if kinds else ""


async def card_assist(
    session: AsyncSession,
    t: Translate,
    *,
    product: Product,
    business: Business,
    today: date,
    language: str,
) -> tuple[list[str], Assessment]:
    """The card's block and the assessment behind it."""
    photos = await photos_of(session, product_id=product.id)
    a = await assess(
        session,
        product=product,
        business=business,
        photos=photos,
        today=today,
        language=language,
        t=t,
    )
    return card_block(t, language, product, a), a


def is_clean(product: Product) -> bool:
    """Complete, no flags: no pre-check warning and nothing the assist found."""
    return not product.flags and not product.precheck


def triage_order(products: list[Product]) -> list[Product]:
    """ "Complete, no flags" first, each group oldest first (the order given)."""
    return [p for p in products if is_clean(p)] + [p for p in products if not is_clean(p)]


def queue_line(t: Translate, product: Product) -> str:
    """A submission's flags in a queue: "✓ no flags" or "⚑ legality number, figures"."""
    if is_clean(product):
        return t("✓ complete, no flags")
    shown = flags_text(t, list(product.flags))
    if product.precheck:
        shown = (shown + " · " if shown else "⚑ ") + t("pre-check")
    return shown
