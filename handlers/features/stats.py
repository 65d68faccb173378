"""/statistik: the UMKM database by cluster, as a short text and charts (admins only)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.stats import UNROUTED, Backlog, Stats, Timing, backlog_trend, collect
from db.stats_snapshots import fresh
from handlers.i18n import N_
from handlers.kit.context import Context, Translate
from handlers.kit.events import MediaOut
from handlers.kit.feature import Feature, Surface
from handlers.kit.forms.dates import MONTHS
from handlers.kit.labels import STATUS_LABELS, region_label, sector_text

TOP_CLUSTERS = 10
CHARTS = ("tiles", "clusters", "decisions")
_SPARKS = "▁▂▃▄▅▆▇█"


async def figures(
    session: AsyncSession, *, now: datetime, timezone: str, max_age: timedelta, live: bool = False
) -> tuple[Stats, bool]:
    """The figures the scheduler's tick stored, when no older than `max_age`; else (or with
    `live`) computed now. True when they were read from the store."""
    if not live:
        stored = await fresh(session, timezone=timezone, now=now, max_age=max_age)
        if stored is not None:
            return stored, True
    return await collect(session, now=now, timezone=timezone), False


async def show(ctx: Context) -> None:
    """Numbers first as text; the charts ride on the same message as photos."""
    settings = ctx.settings
    stats, stored = await figures(
        ctx.session, now=ctx.now, timezone=settings.timezone, max_age=settings.stats_max_age
    )
    t = ctx.t
    media: list[MediaOut] = []
    if ctx.settings.charts is not None:
        captions = {
            "tiles": t("Producers in all 38 regencies and cities"),
            "clusters": t("Producers by sector × regency"),
            "decisions": t("Decisions per week and the backlog"),
        }
        for kind in CHARTS:
            png = await ctx.settings.charts(kind, stats, t)
            media.append(MediaOut(path=f"{kind}.png", data=png, caption=captions[kind]))
    ctx.reply(stats_text(t, stats, as_of=stored), media=tuple(media))


def day_month(t: Translate, day: date) -> str:
    """ "09 Nov" / "09 Agu": the day and the month's short name in the reader's language."""
    return f"{day.day:02d} {t(MONTHS[day.month - 1])}"


def local_day(stats: Stats) -> date:
    """The day the figures were taken, on the configured calendar (WIB), not UTC's."""
    return stats.generated_at.astimezone(ZoneInfo(stats.timezone)).date()


def duration(t: Translate, seconds: float | None) -> str:
    if seconds is None:
        return "—"
    hours = seconds / 3600
    if hours < 1:
        return t("{n} min", n=round(seconds / 60))
    if hours < 48:
        return t("{n} h", n=round(hours))
    return t("{n} days", n=round(hours / 24))


def _timing(t: Translate, label: str, timing: Timing) -> str:
    if not timing.count:
        return t("{label}: no rounds yet", label=label)
    return t(
        "{label}: median {median}, 90% within {p90} ({n} rounds)",
        label=label,
        median=duration(t, timing.median),
        p90=duration(t, timing.p90),
        n=timing.count,
    )


def _backlog_line(t: Translate, name: str, b: Backlog) -> str:
    return t(
        "• {name}: {n} waiting ({unclaimed} unclaimed), oldest {age}",
        name=name,
        n=b.waiting,
        unclaimed=b.unclaimed,
        age=duration(t, b.oldest_seconds),
    )


def as_of_line(t: Translate, stats: Stats) -> str:
    """ "Figures as of 10:00 WIB": when stored figures were taken, on the configured clock."""
    local = stats.generated_at.astimezone(ZoneInfo(stats.timezone))
    return t("Figures as of {time} {zone}", time=local.strftime("%H:%M"), zone=local.tzname())


def stats_text(t: Translate, stats: Stats, *, as_of: bool = False) -> str:
    """The figures of `stats` in a few short paragraphs, in the reader's language; `as_of`:
    say when they were taken (stored figures, up to two ticks old)."""
    lines = [
        t("📊 Kurasi statistics, {day}", day=local_day(stats).strftime("%d/%m/%Y")),
        *([as_of_line(t, stats)] if as_of else []),
        t(
            "{producers} producers registered; {products} products submitted.",
            producers=stats.totals.get("producers", 0),
            products=stats.totals.get("products", 0),
        ),
        "",
        t("Products by status:"),
        ", ".join(
            f"{t(label)} {stats.statuses.get(status.value, 0)}"
            for status, label in STATUS_LABELS.items()
        ),
        "",
        t("Largest clusters (sector × regency):"),
    ]
    ranked = sorted(stats.clusters, key=lambda c: (-c.producers, -c.products, c.sector))
    for c in ranked[:TOP_CLUSTERS]:
        lines.append(
            t(
                "• {sector} · {regency}: {producers} producers, {products} products",
                sector=sector_text(t, c.sector),
                regency=region_label(c.region_code) or c.region_code,
                producers=c.producers,
                products=c.products,
            )
        )
    if not ranked:
        lines.append(t("• none yet"))
    elif len(ranked) > TOP_CLUSTERS:
        lines.append(t("… and {n} more", n=len(ranked) - TOP_CLUSTERS))
    lines += ["", t("Decisions per week (approved / revision / rejected):")]
    for week in stats.weeks:
        lines.append(
            f"• {day_month(t, week.start)}: {week.approve} / {week.revise} / {week.reject}"
        )
    if stats.grades:
        no_grade = t("no grade")
        grades = ", ".join(
            f"{g if g != '-' else no_grade} {n}" for g, n in sorted(stats.grades.items())
        )
        lines.append(t("Grades given: {grades}", grades=grades))
    lines += [
        "",
        _timing(t, t("Submission to first claim"), stats.to_first_claim),
        _timing(t, t("Submission to decision"), stats.to_decision),
        "",
        t("Backlog by sector:"),
    ]
    lines += [_backlog_line(t, sector_text(t, b.key), b) for b in stats.backlog_by_sector] or [
        t("• nothing waiting")
    ]
    lines.append(t("Backlog by review chat:"))
    lines += [
        _backlog_line(t, t("not routed") if b.key == UNROUTED else b.key, b)
        for b in stats.backlog_by_chat
    ] or [t("• nothing waiting")]
    lines += ["", t("Curators' decisions since {day}:", day=stats.month_start.isoformat())]
    lines += [
        f"• {c.name}: {c.total} ({c.approve} / {c.revise} / {c.reject})" for c in stats.curators
    ] or [t("• none yet")]
    return "\n".join(lines)


def sparkline(counts: list[int]) -> str:
    peak = max(counts, default=0)
    if peak == 0:
        return _SPARKS[0] * len(counts)
    return "".join(_SPARKS[round(n / peak * (len(_SPARKS) - 1))] for n in counts)


async def chat_trend_line(
    session: AsyncSession,
    t: Translate,
    *,
    chat_id: str,
    now: datetime,
    days: int = 7,
) -> str:
    """A review chat's own backlog at this hour on each of the last `days` days."""
    points = [now - timedelta(days=d) for d in range(days - 1, -1, -1)]
    counts = await backlog_trend(session, points=points, chat_id=chat_id)
    change = counts[-1] - counts[0]
    return t(
        "Backlog over {days} days: {spark} ({first} → {last}, {change:+d})",
        days=days,
        spark=sparkline(counts),
        first=counts[0],
        last=counts[-1],
        change=change,
    )


FEATURE = Feature(
    commands={"statistik": show, "stats": show},
    admin_only=frozenset({"statistik", "stats"}),
    surface=(
        Surface(
            "statistik",
            help={"admin": N_("statistics and charts")},
            aliases=("stats",),
            rank=60,
        ),
    ),
)
