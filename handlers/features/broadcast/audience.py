"""Who a broadcast reaches: the filters (sectors, regencies, product status, language,
channel) as the composer's facets, described in words and counted."""

from __future__ import annotations

from typing import Any

from db import broadcasts as data
from handlers.i18n import N_
from handlers.kit.context import Context, Translate
from handlers.kit.forms.filters import Facet, FilterInput, Filters
from handlers.kit.labels import SECTOR_LABELS, region_label, region_option, region_options
from handlers.kit.render import Option

STATUS_LABELS = {
    "approved": N_("Has an approved product"),
    "in_review": N_("Has a product in review"),
    "draft": N_("Has a draft"),
    data.NO_PRODUCT: N_("Registered, no product yet"),
}
LANGUAGE_LABELS = {"id": "Bahasa Indonesia", "en": "English"}
CHANNEL_LABELS = {"telegram": "Telegram", "whatsapp": "WhatsApp"}


def _checklist(name: str, label: str, labels: dict[str, str]) -> Facet:
    return Facet(name, label, choices=lambda ctx: [Option(k, ctx.t(v)) for k, v in labels.items()])


FACETS = (
    _checklist("sectors", N_("Sectors"), SECTOR_LABELS),
    Facet(
        "regions",
        N_("Regencies"),
        search=region_options,
        get=region_option,
        ask=N_("Type a regency or city (e.g. Kab. Malang, Surabaya); several: one at a time."),
        not_found=N_("No regency or city matches “{query}”. Try again."),
        several=N_("Several match; I took {name}. Type the full name if you meant another."),
        added=N_("Added {name}. Recipients: {n}. Type another, or tap Done."),
    ),
    _checklist("statuses", N_("Product status"), STATUS_LABELS),
    _checklist("languages", N_("Language"), LANGUAGE_LABELS),
    _checklist("channels", N_("Channel"), CHANNEL_LABELS),
)


def audience_of(filters: Filters) -> data.Audience:
    return data.Audience.from_dict(filters)


def describe(t: Translate, audience: data.Audience) -> str:
    """The segment in words, one filter a line."""
    if audience.everyone:
        return t("Everyone (registered, not opted out)")
    parts = []
    if audience.sectors:
        parts.append(
            t("Sectors: {v}", v=", ".join(t(SECTOR_LABELS.get(s, s)) for s in audience.sectors))
        )
    if audience.regions:
        names = [region_label(c) or c for c in audience.regions]
        parts.append(t("Regencies: {v}", v=", ".join(names)))
    if audience.statuses:
        parts.append(t("Status: {v}", v=", ".join(t(STATUS_LABELS[s]) for s in audience.statuses)))
    if audience.languages:
        parts.append(
            t("Language: {v}", v=", ".join(LANGUAGE_LABELS[x] for x in audience.languages))
        )
    if audience.channels:
        parts.append(t("Channel: {v}", v=", ".join(CHANNEL_LABELS[x] for x in audience.channels)))
    return "\n".join(parts)


async def count(ctx: Context, filters: Filters) -> int:
    return await data.count_audience(ctx.session, audience=audience_of(filters))


AUDIENCE: FilterInput[dict[str, Any]] = FilterInput(
    facets=FACETS,
    count=count,
    describe=lambda ctx, filters: describe(ctx.t, audience_of(filters)),
    counted=N_("Recipients: {n}"),
    start=lambda ctx, record: dict(record.get("filters") or {}),
    everyone=N_("Everyone"),
    done=N_("Preview ▶️"),
)
