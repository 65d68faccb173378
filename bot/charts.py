"""Charts of the statistics as PNG bytes (matplotlib, Agg backend), drawn in a worker thread.

The handlers ask for a chart by name through `FlowSettings.charts` (`render`), so they never
import matplotlib; drawing takes a few hundred milliseconds and must not stall the event loop.
"""

from __future__ import annotations

import asyncio
import io
import threading
from typing import TYPE_CHECKING, Any

from db.regions import get_region
from db.stats import Stats
from handlers.kit.context import Translate
from handlers.kit.labels import SECTOR_LABELS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

KINDS = ("clusters", "decisions", "backlog")
WIDTH, HEIGHT, DPI = 8.0, 5.0, 110  # 880 × 550 px: readable on a phone, small to send
_LOCK = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe

_COLOURS = {"approve": "#2e7d32", "revise": "#f9a825", "reject": "#c62828", "backlog": "#1565c0"}


async def render(kind: str, data: Any, t: Translate, /) -> bytes:
    """The named chart of `data` (a `db.stats.Stats`), as PNG bytes."""
    return await asyncio.to_thread(draw, kind, data, t)


def _figure(width: float, height: float) -> Figure:
    """A new figure. matplotlib is imported on the first chart, not at start: it adds tens
    of megabytes to every worker, and most never draw one."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=DPI)


def _integer_ticks() -> Any:
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)


def draw(kind: str, stats: Stats, t: Translate) -> bytes:
    if kind not in KINDS:
        raise ValueError(f"unknown chart {kind!r}")
    with _LOCK:
        fig = _figure(WIDTH, HEIGHT)
        if kind == "clusters":
            _clusters(fig, stats, t)
        elif kind == "decisions":
            _decisions(fig, stats, t)
        else:
            _backlog(
                fig,
                [w.strftime("%d %b") for w, _ in stats.backlog_trend],
                [n for _, n in stats.backlog_trend],
                t,
            )
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()


def draw_trend(labels: list[str], counts: list[int], t: Translate) -> bytes:
    """A review chat's own backlog over its last days."""
    with _LOCK:
        fig = _figure(WIDTH, HEIGHT * 0.7)
        _backlog(fig, labels, counts, t)
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()


def _regency(code: str) -> str:
    region = get_region(code)
    if region is None:
        return code
    return ("Kota " if region.kind == "kota" else "") + region.name


def _clusters(fig: Figure, stats: Stats, t: Translate) -> None:
    """Producers per sector × regency: the cluster map."""
    ax = fig.add_subplot()
    sectors = sorted({c.sector for c in stats.clusters})
    totals: dict[str, int] = {}
    for c in stats.clusters:
        totals[c.region_code] = totals.get(c.region_code, 0) + c.producers
    # The busiest 15 regencies keep the map readable; the rest are summed in the text.
    regions = sorted(totals, key=lambda r: (-totals[r], r))[:15]
    grid = [[0] * len(regions) for _ in sectors]
    for c in stats.clusters:
        if c.region_code in regions:
            grid[sectors.index(c.sector)][regions.index(c.region_code)] = c.producers
    ax.set_title(t("Producers by sector × regency"))
    if not sectors:
        ax.text(0.5, 0.5, t("No producers yet"), ha="center", va="center")
        ax.set_axis_off()
        return
    image = ax.imshow(grid, cmap="YlOrBr", aspect="auto")
    ax.set_xticks(range(len(regions)), [_regency(r) for r in regions], rotation=45, ha="right")
    ax.set_yticks(range(len(sectors)), [t(SECTOR_LABELS.get(s, "Other")) for s in sectors])
    peak = max((v for row in grid for v in row), default=0)
    for y, row in enumerate(grid):
        for x, value in enumerate(row):
            if value:
                colour = "white" if value > peak / 2 else "black"
                ax.text(x, y, str(value), ha="center", va="center", color=colour, fontsize=8)
    bar = fig.colorbar(image, ax=ax, shrink=0.8)
    bar.locator = _integer_ticks()
    bar.update_ticks()
    fig.tight_layout()


def _decisions(fig: Figure, stats: Stats, t: Translate) -> None:
    """Decisions per week, stacked, with the backlog at each week's end as a line."""
    ax = fig.add_subplot()
    labels = [w.start.strftime("%d %b") for w in stats.weeks]
    xs = list(range(len(labels)))
    bottom = [0] * len(xs)
    for key, label in (
        ("approve", t("approved")),
        ("revise", t("revision requested")),
        ("reject", t("rejected")),
    ):
        values = [getattr(w, key) for w in stats.weeks]
        ax.bar(xs, values, bottom=bottom, label=label, color=_COLOURS[key])
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.plot(
        xs,
        [n for _, n in stats.backlog_trend],
        marker="o",
        color=_COLOURS["backlog"],
        label=t("waiting at week's end"),
    )
    ax.set_xticks(xs, labels, rotation=30)
    peak = max([*bottom, *(n for _, n in stats.backlog_trend), 0])
    ax.set_ylim(0, peak + 1)  # room above the tallest bar for the legend
    ax.set_title(t("Decisions per week and the backlog"))
    ax.yaxis.set_major_locator(_integer_ticks())
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()


def _backlog(fig: Figure, labels: list[str], counts: list[int], t: Translate) -> None:
    ax = fig.add_subplot()
    ax.fill_between(range(len(counts)), counts, color=_COLOURS["backlog"], alpha=0.2)
    ax.plot(range(len(counts)), counts, marker="o", color=_COLOURS["backlog"])
    ax.set_xticks(range(len(labels)), labels, rotation=30)
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_locator(_integer_ticks())
    ax.set_title(t("Products waiting for a decision"))
    fig.tight_layout()
