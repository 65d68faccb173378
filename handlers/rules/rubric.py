"""The curation rubric (DESIGN.md): seven criteria scored 1-3, a weighted total, a grade."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from handlers.i18n import N_

CRITERIA: tuple[str, ...] = (
    "legal",
    "quality",
    "packaging",
    "capacity",
    "price",
    "uniqueness",
    "export",
)
CRITERION_LABELS = {
    "legal": N_("Legality"),
    "quality": N_("Quality"),
    "packaging": N_("Packaging & label"),
    "capacity": N_("Capacity"),
    "price": N_("Price"),
    "uniqueness": N_("Uniqueness"),
    "export": N_("Export readiness"),
}
# Short names for the score buttons (a keyboard row is narrow on a phone).
CRITERION_SHORT = {
    "legal": N_("Legal"),
    "quality": N_("Quality"),
    "packaging": N_("Packaging"),
    "capacity": N_("Capacity"),
    "price": N_("Price"),
    "uniqueness": N_("Unique"),
    "export": N_("Export"),
}
SCORES = (1, 2, 3)
APPROVABLE = frozenset({"A", "B"})


@dataclass(frozen=True, slots=True)
class Rubric:
    weights: Mapping[str, int] = field(default_factory=lambda: dict.fromkeys(CRITERIA, 1))
    grade_a: float = 0.85
    grade_b: float = 0.70
    grade_c: float = 0.55

    def total(self, scores: Mapping[str, int]) -> int:
        return sum(self.weights.get(c, 1) * scores[c] for c in CRITERIA if c in scores)

    def maximum(self) -> int:
        return sum(self.weights.get(c, 1) * max(SCORES) for c in CRITERIA)

    def grade(self, scores: Mapping[str, int]) -> str | None:
        """A-D once every criterion is scored; None before."""
        if any(scores.get(c) not in SCORES for c in CRITERIA):
            return None
        share = self.total(scores) / self.maximum() if self.maximum() else 0
        if share >= self.grade_a:
            return "A"
        if share >= self.grade_b:
            return "B"
        if share >= self.grade_c:
            return "C"
        return "D"
