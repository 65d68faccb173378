"""Export readiness per destination, worded for people: the destinations' names and the
checklist a producer reads in their language. The table and its checks: db/requirements.py."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from db.requirements import DESTINATIONS as CODES
from db.requirements import Check, Requirement, checklist, score
from handlers.i18n import N_

__all__ = ["DESTINATIONS", "FLAGS", "Check", "checklist", "checklist_text", "score", "summary"]

DESTINATIONS: dict[str, str] = {
    "JP": N_("Japan"),
    "CN": N_("China"),
    "US": N_("USA"),
    "EU": N_("European Union"),
    "MY": N_("Malaysia"),
    "SA": N_("Saudi Arabia"),
    "AU": N_("Australia"),
}
assert tuple(DESTINATIONS) == CODES
FLAGS = {"JP": "🇯🇵", "CN": "🇨🇳", "US": "🇺🇸", "EU": "🇪🇺", "MY": "🇲🇾", "SA": "🇸🇦", "AU": "🇦🇺"}


def checklist_text(
    t: Callable[..., str],
    language: str,
    rows: Iterable[Requirement],
    destination: str,
    sector: str | None,
    held: frozenset[str],
) -> str:
    """A destination's checklist: ✅ held, ⬜ still to do, 🤝 done with the buyer or an agency."""
    checks = checklist(rows, destination, sector, held)
    head = f"{FLAGS[destination]} {t(DESTINATIONS[destination])}"
    marks = {True: "✅", False: "⬜", None: "🤝"}
    lines = [f"{marks[c.met]} {c.requirement.label(language)}" for c in checks]
    return "\n".join([head, *lines])


def summary(
    t: Callable[..., str],
    rows: list[Requirement],
    destinations: Iterable[str],
    sector: str | None,
    held: frozenset[str],
) -> str:
    """One line for the card: "🇯🇵 2/3 · 🇺🇸 1/4" (what Kurasi can see, met of checkable)."""
    parts = []
    for code in destinations:
        met, known = score(checklist(rows, code, sector, held))
        parts.append(f"{FLAGS[code]} {met}/{known}")
    return " · ".join(parts)
