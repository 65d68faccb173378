"""Every declared notification kind (handlers/features/reminders/kinds.py) reaches every view
derived from it: the planner loop, the renderer, the WhatsApp template values, the EXPLAIN
list, the /pengingat switches, quiet hours and the config defaults. Each test walks
`KINDS`, so a view that leaves a kind out fails here."""

from __future__ import annotations

import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.config import ReminderSettings
from bot.i18n import translator
from bot.notify import Notifier
from bot.runtime import Kurasi
from db.models import Fair, Notification, Product
from db.notifications import claim_due
from handlers.features import reminders
from handlers.features.reminders.explain import scheduler_queries
from handlers.features.reminders.kinds import (
    GROUP_OF,
    GROUPS,
    KINDS,
    PRODUCER_KINDS,
    Planning,
    ReminderKind,
    template_values,
)
from handlers.kit.events import Reply
from handlers.rules.schedule import ReminderSchedule
from tests.factories import producer
from tests.support import Chat, RecordingChannel

EXAMPLE = Path(__file__).parents[2] / "config.example.toml"
NOW = datetime(2026, 11, 2, 3, tzinfo=UTC)
ZONE = ZoneInfo("Asia/Jakarta")
# Every kind by name, so a failure names the kind.
ALL = sorted(KINDS)
PLANNED = sorted(name for name, kind in KINDS.items() if not isinstance(kind.plan, str))


@contextmanager
def swapped(kind: ReminderKind, **parts: Any) -> Iterator[None]:
    """Put a spy in a declared kind's place for one test (the declarations are frozen)."""
    before = {name: getattr(kind, name) for name in parts}
    for name, value in parts.items():
        object.__setattr__(kind, name, value)
    try:
        yield
    finally:
        for name, value in before.items():
            object.__setattr__(kind, name, value)


def test_every_kind_is_planned_by_the_tick_or_names_the_event_that_plans_it() -> None:
    for name, kind in KINDS.items():
        assert kind.name == name
        if isinstance(kind.plan, str):
            assert kind.plan.startswith("planned when "), name
            assert kind.explain is None and not kind.settings, name
        else:
            assert kind.explain is not None, name


@pytest.mark.parametrize("name", PLANNED)
async def test_the_planner_loop_runs_every_planned_kind(app: Kurasi, name: str) -> None:
    called: list[str] = []

    async def spy(session: Any, planning: Any) -> int:
        called.append(name)
        return 0

    with swapped(KINDS[name], plan=spy):
        await Notifier(app, schedule=ReminderSchedule(), timezone="Asia/Jakarta").plan_due()
    assert called == [name]


@pytest.mark.parametrize("name", ALL)
async def test_the_renderer_draws_every_kind(app: Kurasi, sessionmaker, name: str) -> None:
    async def spy(session: Any, note: Notification, rendering: Any) -> Reply:
        return Reply(f"rendered {note.kind}")

    note = Notification(kind=name, channel="test", chat_id="1", dedupe_key="k", due_at=NOW)
    with swapped(KINDS[name], render=spy):
        async with sessionmaker() as session:
            reply = await reminders.render(
                session,
                note,
                translator=translator,
                now=NOW,
                zone=ZONE,
                recipient=None,
                review_language="id",
                review_chats=(),
            )
    assert reply is not None and reply.text == f"rendered {name}"


@pytest.mark.parametrize("name", ALL)
async def test_template_values_are_each_kinds_own(sessionmaker, name: str) -> None:
    async def spy(session: Any, subject_id: int | None) -> dict[str, str]:
        return {"kind": name}

    with swapped(KINDS[name], template=spy):
        async with sessionmaker() as session:
            assert await template_values(session, kind=name, subject_id=1) == {"kind": name}


def _example_templates() -> dict[str, list[str]]:
    """The parameters config.example.toml's (commented) [whatsapp.templates.KIND] name."""
    found: dict[str, list[str]] = {}
    kind = None
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        text = line.lstrip("# ").strip()
        if text.startswith("[whatsapp.templates."):
            kind = text.split("]")[0].removeprefix("[whatsapp.templates.")
        elif kind and text.startswith("parameters"):
            found[kind] = tomllib.loads(text)["parameters"]
            kind = None
    return found


async def test_template_values_fill_every_parameter_the_example_templates_name(
    sessionmaker,
) -> None:
    templates = _example_templates()
    assert templates  # the example documents some
    async with sessionmaker() as session, session.begin():
        _user, business = await producer(session, now=NOW)
        product = Product(business_id=business.id, name="Keripik", status="draft")
        fair = Fair(
            name="INACRAFT",
            place="JCC",
            country="Indonesia",
            start_date=date(2027, 4, 21),
            end_date=date(2027, 4, 25),
            registration_deadline=date(2027, 3, 1),
            sectors=[],
        )
        session.add_all([product, fair])
        await session.flush()
        subjects = {"product": product.id, "fair": fair.id}
        for name in set(templates) & set(KINDS):
            kind = KINDS[name]
            assert kind.subject is not None, name
            values = await template_values(session, kind=name, subject_id=subjects[kind.subject])
            assert set(templates[name]) <= set(values), name


def test_every_planned_kind_names_its_statements_for_explain() -> None:
    queries = scheduler_queries(now=NOW, today=date(2026, 11, 2))
    for name in PLANNED:
        explain = KINDS[name].explain
        assert explain is not None
        own = explain(
            Planning(now=NOW, today=date(2026, 11, 2), zone=ZONE, schedule=ReminderSchedule())
        )
        assert set(own) <= set(queries), name


@pytest.mark.parametrize("name", [n for n in ALL if KINDS[n].opt_out is not None])
async def test_every_switchable_kind_has_its_switch_in_pengingat(app: Kurasi, name: str) -> None:
    opt_out = KINDS[name].opt_out
    assert opt_out is not None
    assert GROUP_OF[name] == opt_out.key and GROUPS[opt_out.key] == opt_out.label
    chat = Chat(app, RecordingChannel(app, name="test"), user_id="61", name="Tini")
    await chat.send("/start")
    await chat.send("/pengingat")
    t = translator("id")
    assert any(label.endswith(t(opt_out.label)) for label in chat.labels()), chat.labels()


async def test_quiet_hours_hold_back_exactly_the_quiet_kinds(sessionmaker) -> None:
    async with sessionmaker() as session, session.begin():
        for name in ALL:
            session.add(
                Notification(
                    kind=name,
                    channel="test",
                    chat_id="1",
                    dedupe_key=f"quiet:{name}",
                    due_at=NOW - timedelta(minutes=1),
                    attempts=0,
                    created_at=NOW,
                )
            )
    async with sessionmaker() as session, session.begin():
        claimed = await claim_due(session, now=NOW, limit=100, skip_kinds=PRODUCER_KINDS)
        assert sorted(n.kind for n in claimed) == [n for n in ALL if not KINDS[n].quiet]


def _example_reminders() -> dict[str, Any]:
    data: dict[str, Any] = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))["reminders"]
    return data


@pytest.mark.parametrize("key", sorted({key for k in KINDS.values() for key in k.settings}))
def test_every_kinds_setting_is_in_the_config_and_its_example_with_the_default(key: str) -> None:
    default = ReminderSettings()
    assert key in type(default).model_fields, key
    example = _example_reminders()
    assert key in example, f"config.example.toml [reminders] does not name {key}"
    written = ReminderSettings(**{key: example[key]})
    assert getattr(written, key) == getattr(default, key), key
    assert written.schedule() == default.schedule() == ReminderSchedule(), key


def test_a_kinds_setting_no_config_field_reads_is_typed_by_its_default() -> None:
    """A new kind's setting needs no field in bot/config.py: its ReminderSchedule default
    types it (as bot/config.py builds ReminderSettings for such settings)."""
    from datetime import time

    from pydantic import ValidationError, create_model

    from bot.config import _ReminderSettings, _typed_like

    extra = {
        "again_idle": _typed_like(timedelta(days=12)),
        "again_at": _typed_like(time(9, 30)),
        "again_days": _typed_like((3, 1)),
        "again_times": _typed_like(2),
    }
    model = create_model("Extra", __base__=_ReminderSettings, **extra)
    read = model(again_idle="2d", again_at="07:15", again_days=[5], again_times=4)
    assert read.again_idle == timedelta(days=2) and read.again_at == time(7, 15)  # type: ignore[attr-defined]
    assert read.again_days == (5,) and read.again_times == 4  # type: ignore[attr-defined]
    assert model().again_idle == timedelta(days=12)  # type: ignore[attr-defined]
    with pytest.raises(ValidationError):
        model(again_at="half past nine")


def test_a_buyers_inquiry_waits_out_the_producers_quiet_hours_and_the_admins_copy_does_not() -> (
    None
):
    from handlers.features import inquiries

    assert KINDS[inquiries.PRODUCER_KIND].quiet and inquiries.PRODUCER_KIND in PRODUCER_KINDS
    assert not KINDS[inquiries.ADMIN_KIND].quiet and not KINDS[inquiries.ANSWER_KIND].quiet
