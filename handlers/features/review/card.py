"""The curators' card: the product and its business on one message, and its buttons.

Button payloads are typed (`ReviewPayload`): the review id, an optional criterion and score
or reason, packed and checked in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

from sqlalchemy.ext.asyncio import AsyncSession

from db.media_store import MediaStore
from db.models import Business, Product, ProductStatus, Review, ReviewDecision
from db.products import photos_of
from db.reviews import changed_fields, previous_review, product_with_business
from handlers.features.fields import PRODUCT_FIELD_LABELS, curator_lines
from handlers.features.review.assist import Assessment, card_assist
from handlers.i18n import N_
from handlers.kit.context import Translate
from handlers.kit.events import Button, MediaOut, Reply
from handlers.kit.labels import legal_text, region_label, thousands
from handlers.kit.payload import ButtonData, Payload
from handlers.rules.precheck import BY_CODE
from handlers.rules.rubric import CRITERIA, CRITERION_SHORT, SCORES

FLOW = "rv"
S = ProductStatus

REASONS = {
    "photos": N_("Photos unclear"),
    "legal": N_("Legal documents incomplete"),
    "label": N_("No label or incomplete label"),
    "capacity": N_("Capacity too small"),
    "price": N_("Price unclear"),
    "description": N_("Description incomplete"),
    "quality": N_("Quality not consistent"),
}
DECISION_LABELS = {
    ReviewDecision.approved: N_("approved"),
    ReviewDecision.revision_requested: N_("revision requested"),
    ReviewDecision.rejected: N_("rejected"),
}


class Act(StrEnum):
    """What a card button does."""

    claim = "claim"
    noop = "noop"
    score = "score"
    approve = "approve"
    revise = "revise"
    reject = "reject"
    reason = "reason"
    write = "write"
    send = "send"
    back = "back"
    release = "release"
    undo = "undo"  # take back an approval or rejection within UNDO_SECONDS
    next = "next"  # claim the oldest waiting product of this chat
    hs = "hs"  # confirm a suggested HS heading (curator assist)
    peek = "peek"  # show the product whose photo this one's copies


_WITH_VALUE = (Act.score, Act.reason, Act.hs, Act.peek)


# The card's kinds of button on the wire (ReviewPayload is what the review room handles).
@dataclass(frozen=True)
class _Plain(ButtonData, flow=FLOW, steps=[a.value for a in Act if a not in _WITH_VALUE]):
    step: str
    review_id: int


@dataclass(frozen=True)
class _Score(ButtonData, flow=FLOW, steps=(Act.score.value,)):
    step: str
    review_id: int
    criterion: str
    score: int


@dataclass(frozen=True)
class _Reason(ButtonData, flow=FLOW, steps=(Act.reason.value,)):
    step: str
    review_id: int
    reason: str


@dataclass(frozen=True)
class _Ref(ButtonData, flow=FLOW, steps=(Act.hs.value, Act.peek.value)):
    """An HS heading kept as typed (leading zeros) or a product id."""

    step: str
    review_id: int
    ref: str


@dataclass(frozen=True, slots=True)
class ReviewPayload:
    """A card button: the action, the review, and what was chosen (criterion, score, reason)."""

    act: Act
    review_id: int
    criterion: str | None = None
    score: int | None = None
    reason: str | None = None

    def pack(self) -> str:
        act, rid = self.act.value, self.review_id
        if self.act == Act.score:
            return _Score(act, rid, self.criterion or "", self.score or 0).pack()
        if self.act == Act.reason:
            return _Reason(act, rid, self.reason or "").pack()
        if self.act in (Act.hs, Act.peek):
            return _Ref(act, rid, self.reason or "").pack()
        return _Plain(act, rid).pack()

    @classmethod
    def unpack(cls, payload: Payload) -> ReviewPayload | None:
        """None for anything a card never carried (a forged or garbled button)."""
        if (plain := _Plain.read(payload)) is not None:
            return cls(Act(plain.step), plain.review_id)
        if (scored := _Score.read(payload)) is not None:
            if scored.criterion not in CRITERIA or scored.score not in SCORES:
                return None
            return cls(Act.score, scored.review_id, scored.criterion, scored.score)
        if (reason := _Reason.read(payload)) is not None:
            if reason.reason not in REASONS:
                return None
            return cls(Act.reason, reason.review_id, reason=reason.reason)
        if (ref := _Ref.read(payload)) is not None:  # an HS heading (4 digits) or a product id
            act, value = Act(ref.step), ref.ref
            digits = value.isascii() and value.isdecimal() and 0 < len(value) <= 12
            if not digits or (act == Act.hs and len(value) != 4):
                return None
            return cls(act, ref.review_id, reason=value)
        return None

    def button(self, label: str) -> Button:
        return Button(label=label, payload=self.pack())


def age(t: Translate, since: datetime | None, now: datetime) -> str:
    if since is None:
        return "—"
    delta = now - since
    if delta >= timedelta(days=1):
        return t("{n} d", n=delta.days)
    return t("{n} h", n=max(int(delta.total_seconds() // 3600), 0))


def reason_text(t: Translate, review: Review) -> str:
    parts = [t(REASONS[r]) for r in review.reasons if r in REASONS]
    if review.reason_text:
        parts.append(review.reason_text)
    return "; ".join(parts) or "—"


def card_text(
    t: Translate,
    found: tuple[Product, Business],
    review: Review,
    now: datetime,
    *,
    previous: Review | None = None,
    rubric_grade: str | None = None,
    assist: list[str] | None = None,
) -> str:
    product, business = found
    nib = business.nib if business.has_nib else t("none yet")
    lines = [
        t("📦 #{id} {name} — round {round}", id=product.id, name=product.name, round=review.round),
        *curator_lines(t, product, at="heading"),
        "",
        t(
            "🏢 {business}, {region} · NIB {nib}",
            business=business.name,
            region=region_label(business.region_code) or "—",
            nib=nib,
        ),
        t("Business documents: {docs}", docs=legal_text(t, business.legal_docs or [])),
        t(
            "Business capacity: {amount} {unit}/month · Export: {export}",
            amount=thousands(business.capacity_amount or 0),
            unit=business.capacity_unit or "",
            export=", ".join(business.export_markets or []) or t("not yet"),
        ),
        "",
        # The product's fields as features/fields.py declares their lines here.
        *curator_lines(t, product, at="body"),
        *curator_lines(t, product, at="end"),
    ]
    if product.precheck:
        notes = [
            t(BY_CODE[c].curator or BY_CODE[c].message) for c in product.precheck if c in BY_CODE
        ]
        lines += ["", t("⚠️ Pre-check:"), *(f"• {n}" for n in notes)]
    if assist:  # the curator assist's compact block (handlers/features/review/assist.py)
        lines += ["", *assist]
    if previous is not None:
        changed = changed_fields(previous.snapshot, review.snapshot)
        lines += [
            "",
            t(
                "🔁 Changed since round {n}: {fields}",
                n=previous.round,
                fields=", ".join(t(PRODUCT_FIELD_LABELS[f]) for f in changed) or t("nothing"),
            ),
        ]
        lines.append(t("Previous reason: {reason}", reason=reason_text(t, previous)))
    lines += ["", _status_line(t, product, review, rubric_grade, now)]
    return "\n".join(lines)


def _status_line(
    t: Translate, product: Product, review: Review, grade: str | None, now: datetime
) -> str:
    if review.decision is not None:
        label = t(DECISION_LABELS[ReviewDecision(review.decision)])
        line = t("🏁 {decision} by {name}", decision=label, name=review.curator_name or "—")
        if review.grade:
            line += " · " + t("grade {grade}", grade=review.grade)
        return line
    if product.status == S.in_review and review.curator_name:
        line = t("🔎 Held by {name}", name=review.curator_name)
        scored = len([c for c in CRITERIA if c in review.scores])
        line += " · " + t("scores {n}/{total}", n=scored, total=len(CRITERIA))
        if grade:
            line += " · " + t("grade {grade}", grade=grade)
        return line
    if product.status == S.submitted:
        return t("⏳ Waiting for a curator ({age})", age=age(t, product.submitted_at, now))
    return t("Status: {status}", status=product.status)


def waiting_buttons(t: Translate, review: Review) -> list[list[Button]]:
    return [[ReviewPayload(Act.claim, review.id).button(t("📥 Claim"))]]


def held_buttons(t: Translate, review: Review) -> list[list[Button]]:
    rows: list[list[Button]] = []
    for code in CRITERIA:
        current = review.scores.get(code)
        row = [ReviewPayload(Act.noop, review.id).button(t(CRITERION_SHORT[code]))]
        for score in SCORES:
            mark = f"•{score}•" if current == score else str(score)
            row.append(ReviewPayload(Act.score, review.id, code, score).button(mark))
        rows.append(row)
    rows.append(
        [
            ReviewPayload(Act.approve, review.id).button(t("✅ Approve")),
            ReviewPayload(Act.revise, review.id).button(t("✏️ Revise")),
            ReviewPayload(Act.reject, review.id).button(t("❌ Reject")),
        ]
    )
    rows.append([ReviewPayload(Act.release, review.id).button(t("↩️ Release"))])
    return rows


def reason_buttons(
    t: Translate, review: Review, chosen: list[str], action: str
) -> list[list[Button]]:
    items = [
        ReviewPayload(Act.reason, review.id, reason=code).button(
            ("✅ " if code in chosen else "") + t(label)
        )
        for code, label in REASONS.items()
    ]
    rows = [items[i : i + 2] for i in range(0, len(items), 2)]
    send = t("📨 Send revision request") if action == Act.revise else t("📨 Send rejection")
    rows.append([ReviewPayload(Act.write, review.id).button(t("✍️ Write a reason"))])
    rows.append(
        [
            ReviewPayload(Act.send, review.id).button(send),
            ReviewPayload(Act.back, review.id).button(t("↩️ Back")),
        ]
    )
    return rows


def assist_buttons(
    t: Translate, review: Review, product: Product, a: Assessment
) -> list[list[Button]]:
    """The held card's assist row: the suggested Legality score in one tap, the suggested
    HS headings to confirm; and a button per copied photo's product (curators only: the
    card lives in the review chat)."""
    rows: list[list[Button]] = []
    current = review.scores.get("legal")
    if current != a.legal_score:
        label = t("✨ Legal {n} (suggested)", n=a.legal_score)
        row = [ReviewPayload(Act.score, review.id, "legal", a.legal_score).button(label)]
    else:
        row = []
    if not product.hs_code:
        row += [
            ReviewPayload(Act.hs, review.id, reason=h.code).button(f"HS {h.code} ✓")
            for h in a.hs_suggestions[:2]
        ]
    if row:
        rows.append(row)
    peeks = [
        ReviewPayload(Act.peek, review.id, reason=str(c.other_product_id)).button(
            f"🔍 #{c.other_product_id}"
        )
        for c in a.copies[:3]
    ]
    if peeks:
        rows.append(peeks)
    return rows


async def card_replies(
    session: AsyncSession,
    t: Translate,
    *,
    review: Review,
    now: datetime,
    channel: str,
    store: MediaStore | None,
    today: date | None = None,
    language: str = "id",
) -> tuple[Reply, Reply]:
    """What the poster sends for a new card: the photo album, then the card with its button."""
    found = await product_with_business(session, product_id=review.product_id)
    assert found is not None
    product = found[0]
    photos = await photos_of(session, product_id=product.id)
    previous = await previous_review(session, product_id=product.id, round=review.round)
    album = Reply(
        text="",
        media=tuple(
            MediaOut(
                path=str(store.path(p.store_key)) if store else p.store_key,
                photo_id=p.id,
                cached_id=p.channel_ids.get(channel),
                caption=f"#{product.id} {product.name}" if i == 0 else None,
            )
            for i, p in enumerate(photos)
        ),
    )
    block, _ = await card_assist(
        session,
        t,
        product=product,
        business=found[1],
        today=today or now.date(),
        language=language,
    )
    text = card_text(t, found, review, now, previous=previous, assist=block)
    return album, Reply(text=text, buttons=tuple(tuple(r) for r in waiting_buttons(t, review)))
