"""HS headings suggested from a product's sector and words (the shipped table
db/data/hs_headings.csv: heading, sector, keywords, English and Indonesian label)."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

SUGGESTED = 3
_HEADING = re.compile(r"\d{4}(\.\d{2}){0,3}")


@dataclass(frozen=True, slots=True)
class Heading:
    code: str  # "0901"
    sector: str
    keywords: tuple[str, ...]
    label_en: str
    label_id: str

    def label(self, language: str) -> str:
        return self.label_id if language == "id" else self.label_en


@cache
def headings() -> tuple[Heading, ...]:
    text = (resources.files("db") / "data" / "hs_headings.csv").read_text(encoding="utf-8")
    return tuple(
        Heading(
            row["heading"].strip(),
            row["sector"].strip(),
            tuple(k.strip().lower() for k in row["keywords"].split(";") if k.strip()),
            row["label_en"].strip(),
            row["label_id"].strip(),
        )
        for row in csv.DictReader(text.splitlines())
    )


def by_code(code: str) -> Heading | None:
    return next((h for h in headings() if h.code == code), None)


def suggest(sector: str | None, *words: str | None) -> list[Heading]:
    """The sector's headings whose keywords appear in the words (name first, then
    materials and description), best first; none when nothing matches."""
    texts = [(w or "").lower() for w in words]
    scored: list[tuple[int, int, Heading]] = []
    for order, heading in enumerate(headings()):
        if sector and heading.sector != sector:
            continue
        score = sum(
            (len(texts) - i) * sum(1 for k in heading.keywords if _has(text, k))
            for i, text in enumerate(texts)
        )
        if score:
            scored.append((-score, order, heading))
    return [h for _, _, h in sorted(scored, key=lambda s: (s[0], s[1]))[:SUGGESTED]]


def _has(text: str, keyword: str) -> bool:
    return re.search(rf"(?<!\w){re.escape(keyword)}", text) is not None


def valid_code(code: str) -> bool:
    """A heading (4 digits) or a subheading ("0901.21", up to 10 digits)."""
    return _HEADING.fullmatch(code) is not None
