"""Charts of the statistics as PNG bytes (matplotlib, Agg backend), drawn in a worker thread.

The handlers ask for a chart by name through `FlowSettings.charts` (`render`), so they never
import matplotlib; drawing takes a few hundred milliseconds and must not stall the event loop.
The dashboard (bot/dashboard/) draws the same functions with its filters.

Every regency is shown: the tile map has one tile for each of the 38 (db/data/jatim_tiles.csv)
and the heat map one row for each; "Kab." and "Kota" are always written; every colour scale
has a label and starts at zero; month names are the reader's language.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from db.businesses import SECTORS
from db.regions import Region, all_regions, get_region, tile_layout
from db.stats import FunnelRow, MatrixCell, Stats, Timing
from handlers.features.stats import day_month
from handlers.i18n import N_
from handlers.kit.context import Translate
from handlers.kit.labels import SECTOR_LABELS

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

KINDS = ("tiles", "clusters", "decisions", "backlog", "sectors")
WIDTH, HEIGHT, DPI = 8.0, 5.0, 110  # 880 × 550 px: readable on a phone, small to send
_LOCK = threading.Lock()  # matplotlib's font cache and text layout are not thread-safe

_COLOURS = {"approve": "#2e7d32", "revise": "#f9a825", "reject": "#c62828", "backlog": "#1565c0"}

# What a tile map can be coloured by: the label of its colour scale.
METRICS = {
    "producers": N_("Registered producers"),
    "waiting": N_("Products waiting for a decision"),
    "approved": N_("Approved products"),
    "age": N_("Oldest waiting product (days)"),
}


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


def _save(fig: Figure, fmt: str = "png") -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt)
    return buf.getvalue()


def draw(kind: str, stats: Stats, t: Translate, fmt: str = "png") -> bytes:
    if kind not in KINDS:
        raise ValueError(f"unknown chart {kind!r}")
    if kind == "tiles":
        return draw_tiles(stats.cells, "producers", t, fmt=fmt)
    if kind == "clusters":
        return draw_matrix(stats.cells, "producers", t, fmt=fmt)
    if kind == "sectors":
        return draw_sector_tiles(stats.cells, "producers", t, fmt=fmt)
    with _LOCK:
        fig = _figure(WIDTH, HEIGHT)
        if kind == "decisions":
            _decisions(fig, stats, t)
        else:
            _backlog(
                fig,
                [day_month(t, w) for w, _ in stats.backlog_trend],
                [n for _, n in stats.backlog_trend],
                t,
            )
        return _save(fig, fmt)


def draw_trend(labels: list[str], counts: list[int], t: Translate) -> bytes:
    """A review chat's own backlog over its last days."""
    with _LOCK:
        fig = _figure(WIDTH, HEIGHT * 0.7)
        _backlog(fig, labels, counts, t)
        return _save(fig)


def regency_label(code: str) -> str:
    """ "Kab. Malang" / "Kota Malang": the two Malangs are never one label."""
    region = get_region(code)
    if region is None:
        return code
    return _short(region)


def _short(region: Region) -> str:
    return ("Kota " if region.kind == "kota" else "Kab. ") + region.name


def _value(cell: MatrixCell, metric: str) -> float:
    if metric == "age":
        return cell.oldest_wait_seconds / 86400
    return float(getattr(cell, metric))


def per_region(
    cells: Sequence[MatrixCell], metric: str, sector: str | None = None
) -> dict[str, float]:
    """The metric summed over sectors (the age: the oldest) per regency code."""
    found: dict[str, float] = {r.code: 0.0 for r in all_regions()}
    for c in cells:
        if sector is not None and c.sector != sector:
            continue
        v = _value(c, metric)
        found[c.region_code] = (
            max(found.get(c.region_code, 0.0), v)
            if metric == "age"
            else found.get(c.region_code, 0.0) + v
        )
    return found


def _norm(peak: float) -> Any:
    from matplotlib.colors import Normalize

    # From zero, and never a 0.9–1.1 scale when every value is the same.
    return Normalize(vmin=0, vmax=max(1.0, peak))


def _cmap(metric: str) -> Any:
    from matplotlib import colormaps

    return colormaps[
        "OrRd" if metric in ("waiting", "age") else "YlGn" if metric == "approved" else "YlOrBr"
    ]


def _tiles_on(ax: Axes, values: dict[str, float], norm: Any, cmap: Any, *, small: bool) -> None:
    from matplotlib.patches import Rectangle

    for tile in tile_layout():
        value = values.get(tile.region.code, 0.0)
        colour = cmap(norm(value))
        kota = tile.region.kind == "kota"
        ax.add_patch(
            Rectangle(
                (tile.col, -tile.row),
                0.94,
                0.94,
                facecolor=colour,
                edgecolor="#263238" if kota else "#90a4ae",
                linewidth=1.6 if kota else 0.6,
            )
        )
        dark = norm(value) > 0.6
        ink = "white" if dark else "black"
        shown = f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"

        x, y = tile.col + 0.47, -tile.row
        if small:
            _tile_text(ax, x, y + 0.47, shown, 5, ink)
            continue
        _tile_text(ax, x, y + 0.72, "Kota" if kota else "Kab.", 5.5, ink, bold=kota)
        _tile_text(ax, x, y + 0.47, tile.short[:11], 5.5, ink)
        _tile_text(ax, x, y + 0.2, shown, 7, ink, bold=True)
    rows = max(t.row for t in tile_layout())
    cols = max(t.col for t in tile_layout())
    ax.set_xlim(-0.1, cols + 1.0)
    ax.set_ylim(-rows - 0.1, 1.0)
    ax.set_aspect("equal")
    ax.set_axis_off()


def _colourbar(fig: Figure, ax: Any, norm: Any, cmap: Any, label: str) -> None:
    from matplotlib.cm import ScalarMappable

    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, shrink=0.7, pad=0.02)
    bar.set_label(label)
    bar.locator = _integer_ticks()
    bar.update_ticks()


def draw_tiles(
    cells: Sequence[MatrixCell],
    metric: str,
    t: Translate,
    *,
    sector: str | None = None,
    fmt: str = "png",
) -> bytes:
    """East Java's 38 regencies and cities as tiles, coloured by `metric` (METRICS)."""
    values = per_region(cells, metric, sector)
    with _LOCK:
        fig = _figure(WIDTH, HEIGHT * 0.8)
        ax = fig.add_subplot()
        norm, cmap = _norm(max(values.values(), default=0.0)), _cmap(metric)
        _tiles_on(ax, values, norm, cmap, small=False)
        title = t(METRICS[metric])
        if sector is not None:
            title += f" · {t(SECTOR_LABELS.get(sector, SECTOR_LABELS['other']))}"
        ax.set_title(title + " — " + t("bold edge: city (Kota)"), fontsize=9)
        _colourbar(fig, ax, norm, cmap, t(METRICS[metric]))
        fig.tight_layout()
        return _save(fig, fmt)


def draw_sector_tiles(
    cells: Sequence[MatrixCell], metric: str, t: Translate, *, fmt: str = "png"
) -> bytes:
    """Small multiples: the tile map once per sector, one shared colour scale."""
    per = {s: per_region(cells, metric, s) for s in SECTORS}
    peak = max((v for values in per.values() for v in values.values()), default=0.0)
    with _LOCK:
        fig = _figure(WIDTH, HEIGHT * 1.1)
        axes = fig.subplots(2, 4)
        norm, cmap = _norm(peak), _cmap(metric)
        flat = [a for row in axes for a in row]
        for ax, sector in zip(flat, SECTORS, strict=False):
            _tiles_on(ax, per[sector], norm, cmap, small=True)
            ax.set_title(t(SECTOR_LABELS[sector]), fontsize=8)
        for ax in flat[len(SECTORS) :]:
            ax.set_axis_off()
        fig.suptitle(t(METRICS[metric]) + " — " + t("by sector"), fontsize=10)
        _colourbar(fig, flat, norm, cmap, t(METRICS[metric]))
        return _save(fig, fmt)


def matrix_table(
    cells: Sequence[MatrixCell], metric: str
) -> tuple[list[Region], list[str], list[list[float]]]:
    """The full 38 × sector grid (zeros included), regions in code order."""
    regions = list(all_regions())
    index = {r.code: i for i, r in enumerate(regions)}
    sectors = list(SECTORS)
    grid = [[0.0] * len(sectors) for _ in regions]
    for c in cells:
        if c.region_code in index and c.sector in sectors:
            grid[index[c.region_code]][sectors.index(c.sector)] = _value(c, metric)
    return regions, sectors, grid


def draw_matrix(
    cells: Sequence[MatrixCell], metric: str, t: Translate, *, fmt: str = "png"
) -> bytes:
    """Every regency × sector as a heat map: 38 rows, one column a sector."""
    regions, sectors, grid = matrix_table(cells, metric)
    peak = max((v for row in grid for v in row), default=0.0)
    with _LOCK:
        fig = _figure(WIDTH, 10.0)
        ax = fig.add_subplot()
        norm, cmap = _norm(peak), _cmap(metric)
        image = ax.imshow(grid, cmap=cmap, norm=norm, aspect="auto")
        ax.set_yticks(range(len(regions)), [_short(r) for r in regions], fontsize=7)
        ax.set_xticks(
            range(len(sectors)),
            [t(SECTOR_LABELS[s]) for s in sectors],
            rotation=30,
            ha="right",
            fontsize=7,
        )
        for y, row in enumerate(grid):
            for x, value in enumerate(row):
                if value:
                    colour = "white" if norm(value) > 0.6 else "black"
                    ax.text(
                        x, y, f"{value:.0f}", ha="center", va="center", color=colour, fontsize=6
                    )
        ax.set_title(
            t("Producers by sector × regency") if metric == "producers" else t(METRICS[metric])
        )
        bar = fig.colorbar(image, ax=ax, shrink=0.5, pad=0.02)
        bar.set_label(t(METRICS[metric]))
        bar.locator = _integer_ticks()
        bar.update_ticks()
        fig.tight_layout()
        return _save(fig, fmt)


def draw_funnel(rows: Sequence[FunnelRow], t: Translate, *, fmt: str = "png") -> bytes:
    """Registered → first product submitted → approved, per sector, as grouped bars."""
    with _LOCK:
        fig = _figure(WIDTH, HEIGHT * 0.8)
        ax = fig.add_subplot()
        xs = list(range(len(rows)))
        width = 0.27
        for i, (attr, label, colour) in enumerate(
            (
                ("registered", t("registered"), "#90caf9"),
                ("submitted", t("first product submitted"), "#1e88e5"),
                ("approved", t("approved"), _COLOURS["approve"]),
            )
        ):
            ax.bar(
                [x + (i - 1) * width for x in xs],
                [getattr(r, attr) for r in rows],
                width=width,
                label=label,
                color=colour,
            )
        ax.set_xticks(
            xs,
            [t(SECTOR_LABELS.get(r.key, SECTOR_LABELS["other"])) for r in rows],
            rotation=20,
            ha="right",
            fontsize=8,
        )
        ax.yaxis.set_major_locator(_integer_ticks())
        ax.set_ylabel(t("Producers"))
        ax.set_title(t("Funnel per sector"))
        ax.legend(fontsize=8)
        fig.tight_layout()
        return _save(fig, fmt)


def draw_ages(ages: dict[str, int], t: Translate, *, fmt: str = "png") -> bytes:
    """The backlog by how long each product has waited."""
    labels = {
        "<1d": t("under 1 day"),
        "1-3d": t("1–3 days"),
        "3-7d": t("3–7 days"),
        "7-14d": t("7–14 days"),
        ">14d": t("over 14 days"),
    }
    with _LOCK:
        fig = _figure(WIDTH, HEIGHT * 0.7)
        ax = fig.add_subplot()
        keys = list(ages)
        ax.bar(range(len(keys)), [ages[k] for k in keys], color=_COLOURS["backlog"])
        ax.set_xticks(range(len(keys)), [labels.get(k, k) for k in keys])
        ax.yaxis.set_major_locator(_integer_ticks())
        ax.set_ylabel(t("Products waiting"))
        ax.set_title(t("Backlog by age"))
        fig.tight_layout()
        return _save(fig, fmt)


def draw_times(times: dict[str, Timing], t: Translate, *, fmt: str = "png") -> bytes:
    """Submission to decision per week: median and 90th percentile, in hours."""
    from datetime import date

    keys = list(times)
    with _LOCK:
        fig = _figure(WIDTH, HEIGHT * 0.7)
        ax = fig.add_subplot()
        xs = list(range(len(keys)))
        ax.plot(xs, [(times[k].median or 0) / 3600 for k in keys], marker="o", label=t("median"))
        ax.plot(xs, [(times[k].p90 or 0) / 3600 for k in keys], marker="o", label=t("90% within"))
        ax.set_xticks(xs, [day_month(t, date.fromisoformat(k)) for k in keys], rotation=30)
        ax.set_ylim(bottom=0)
        ax.set_ylabel(t("hours"))
        ax.set_title(t("Submission to decision per week"))
        ax.legend(fontsize=8)
        fig.tight_layout()
        return _save(fig, fmt)


def _decisions(fig: Figure, stats: Stats, t: Translate) -> None:
    """Decisions per week, stacked, with the backlog at each week's end as a line."""
    ax = fig.add_subplot()
    labels = [day_month(t, w.start) for w in stats.weeks]
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


def _tile_text(
    ax: Any, x: float, y: float, text: str, size: float, ink: str, *, bold: bool = False
) -> None:
    """One line of a tile's label, centred on (x, y)."""
    ax.text(
        x,
        y,
        text,
        ha="center",
        va="center",
        fontsize=size,
        color=ink,
        fontweight="bold" if bold else "normal",
    )
