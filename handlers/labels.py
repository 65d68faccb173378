"""Labels and small widgets shared by the flows: sectors, legal documents, money."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping

from db.businesses import LEGAL_DOCS
from handlers.context import LANGUAGES, Context, button
from handlers.events import Button, Event
from handlers.i18n import N_
from handlers.parsing import SECTOR_ALIASES, Choice, is_no_answer, match_choice, split_list
from handlers.steps import answers, pressed, text_of

SECTOR_LABELS = {
    "food": N_("Food & beverage"),
    "fashion": N_("Fashion"),
    "handicraft": N_("Handicraft"),
    "furniture": N_("Furniture"),
    "agribusiness": N_("Agribusiness"),
    "spa": N_("Spa, herbal & cosmetics"),
    "other": N_("Other"),
}
LEGAL_LABELS = {
    "pirt": "PIRT",
    "bpom": "BPOM",
    "halal": "Halal",
    "sni": "SNI",
    "merek": N_("Trademark (HKI)"),
}


def sector_buttons(ctx: Context, flow: str, step: str) -> list[list[Button]]:
    items = [button(ctx.t(label), flow, step, code) for code, label in SECTOR_LABELS.items()]
    return [items[i : i + 2] for i in range(0, len(items), 2)]


# Words people type for a legal document, beside its label (sectors: SECTOR_ALIASES).
LEGAL_ALIASES: dict[str, tuple[str, ...]] = {
    "pirt": ("p-irt", "spp-irt", "sppirt"),
    "bpom": ("pom", "badan pom"),
    "halal": ("sertifikat halal", "mui"),
    "sni": ("standar nasional indonesia",),
    "merek": ("merek", "merk", "hki", "haki", "trademark", "merek dagang"),
}
CHOICE_ALIASES: dict[str, tuple[str, ...]] = {**SECTOR_ALIASES, **LEGAL_ALIASES}


def choice_options(ctx: Context, labels: Mapping[str, str]) -> dict[str, list[str]]:
    """Every name of each code: the code, its label in every language, and its aliases."""
    return {
        code: [
            code,
            label,
            *(ctx.translator(lang)(label) for lang in LANGUAGES),
            *CHOICE_ALIASES.get(code, ()),
        ]
        for code, label in labels.items()
    }


def typed_choice(ctx: Context, text: str, labels: Mapping[str, str]) -> Choice[str]:
    """What a typed answer chose among buttons (see `match_choice`): one code, or candidates."""
    return match_choice(text, choice_options(ctx, labels))


def match_label(ctx: Context, text: str, labels: Mapping[str, str]) -> str | None:
    """The code whose label (in any language), code or alias was typed — case, accents and
    small typos forgiven; None when nothing or several codes fit."""
    return typed_choice(ctx, text, labels).match


def legal_buttons(ctx: Context, flow: str, step: str, chosen: list[str]) -> list[list[Button]]:
    """A checklist: tapping a document toggles its tick; the last button finishes."""
    t = ctx.t
    rows = [
        [
            button(("✅ " if doc in chosen else "▫️ ") + t(LEGAL_LABELS[doc]), flow, step, doc)
            for doc in LEGAL_DOCS[i : i + 2]
        ]
        for i in range(0, len(LEGAL_DOCS), 2)
    ]
    done = t("Done ✓") if chosen else t("None of these")
    rows.append([button(done, flow, step, "done")])
    return rows


def legal_text(ctx: Context, docs: list[str] | None) -> str:
    if docs is None:
        return "—"
    if not docs:
        return ctx.t("none")
    return ", ".join(ctx.t(LEGAL_LABELS[d]) for d in docs if d in LEGAL_LABELS)


def thousands(n: int) -> str:
    """Indonesian digit grouping: 1.500.000."""
    return f"{n:,}".replace(",", ".")


def rupiah(n: int) -> str:
    return f"Rp {thousands(n)}"


def read_checklist(ctx: Context, event: Event, chosen: list[str]) -> list[str] | str | None:
    """An answer to the documents checklist.

    Returns the final list of documents when the person is done (a "Done" press, a typed
    list, or "none"); the string "toggled" after a tick was flipped (stored in the
    conversation as `legal`, and the checklist redrawn); None when it could not be read.
    """
    choice = pressed(event)
    text = text_of(event)
    if choice in LEGAL_DOCS:
        chosen = [d for d in chosen if d != choice] if choice in chosen else [*chosen, choice]
        ctx.update_data(legal=[d for d in LEGAL_DOCS if d in chosen])
        return "toggled"
    if choice == "done":
        return chosen
    if text is None:
        return None
    if is_no_answer(text):
        return []
    typed = [match_label(ctx, item, LEGAL_LABELS) for item in split_list(text)]
    if not typed or None in typed:
        return None
    return [d for d in LEGAL_DOCS if d in typed]


def checklist_answer(
    flow: str,
    save: Callable[[Context, list[str]], Awaitable[None]],
    ask: Callable[[Context], Awaitable[None]],
) -> Callable[[Context, Event], Awaitable[None]]:
    """The answer step of a documents checklist: redraw on a tick, `save` the final list."""
    refuse, _not_understood = answers(ask)

    async def answer(ctx: Context, event: Event) -> None:
        result = read_checklist(ctx, event, list(ctx.data.get("legal") or []))
        if result == "toggled":
            ctx.reply(
                ctx.t("Tap each document you have, then “Done”."),
                buttons=legal_buttons(ctx, flow, "legal_docs", ctx.data["legal"]),
                edit=True,
            )
        elif isinstance(result, list):
            ctx.update_data(legal=None)
            await save(ctx, result)
        else:
            await refuse(
                ctx, ctx.t("Please tap the documents you have, or type e.g. “PIRT, Halal”.")
            )

    return answer
