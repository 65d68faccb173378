"""What a flow works with: the event, the user, their conversation, and a place for replies."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from db.media_store import MediaStore
from db.models import Conversation, User
from handlers.kit.capabilities import Capabilities, for_channel
from handlers.kit.events import Button, Incoming, MediaRef, Reply
from handlers.kit.payload import Payload
from handlers.kit.render import fit
from handlers.rules.photos import PhotoLimits
from handlers.rules.rubric import Rubric

REPROMPT = "reprompt"  # a navigation request: ask the open flow's question again
DEFAULT_LANGUAGE = "id"
LANGUAGES = ("id", "en")


class Translate(Protocol):
    def __call__(self, message: str, /, **values: Any) -> str: ...


class ChartMaker(Protocol):
    async def __call__(self, kind: str, data: Any, t: Translate, /) -> bytes: ...


class ExportStarter(Protocol):
    """Starts a requested export (handlers/features/export/'s ExportJob) in the background and
    returns at once (bot/export_jobs.py)."""

    def __call__(self, job: Any, /) -> None: ...


@dataclass(frozen=True, slots=True)
class FlowSettings:
    """The slice of configuration the flows need, so handlers/ never imports bot/."""

    max_photos: int = 5
    max_products: int = 50
    photo_limits: PhotoLimits = field(default_factory=PhotoLimits)
    # Review chats in routing order: (chat id, sectors it covers; empty = all).
    review_chats: tuple[tuple[str, tuple[str, ...]], ...] = ()
    review_channel: str | None = None  # the channel the review chats live on
    review_language: str = DEFAULT_LANGUAGE
    rubric: Rubric = field(default_factory=Rubric)
    admin_ids: frozenset[str] = frozenset()  # external ids on the review channel
    timezone: str = "Asia/Jakarta"  # whose calendar "today" and local times are read in
    # Draws a named chart of the statistics as PNG bytes, off the event loop (bot/charts.py);
    # None: statistics come as text only.
    charts: ChartMaker | None = None
    # How old the scheduler's stored statistics may be for /statistik to show them (two tick
    # intervals: config reminders.tick); older, or none, and they are computed in the update.
    stats_max_age: timedelta = timedelta(minutes=2)
    broadcast_rate: float = 25.0  # messages a second, for a broadcast's estimated duration
    # Runs /ekspor's files off the update (bot/export_jobs.py); None: built within the update.
    exports: ExportStarter | None = None
    # The admins' web dashboard's address (config dashboard.url; None: not served).
    dashboard_url: str | None = None
    dashboard_link_minutes: int = 10
    inquiry_chat_id: str = ""  # the buyers' desk chat (catalogue.inquiry_chat_id); "" = admins


@dataclass
class Context:
    session: AsyncSession
    incoming: Incoming
    user: User
    conversation: Conversation
    translator: Callable[[str], Translate]
    now: datetime
    settings: FlowSettings = field(default_factory=FlowSettings)
    fetch_media: Callable[[MediaRef], Awaitable[bytes]] | None = None
    media_store: MediaStore | None = None
    replies: list[Reply] = field(default_factory=list)
    # What a handler read once in this update and may need again (a form's record): the
    # engine reads a row-backed record once per step instead of once per question it asks.
    memo: dict[str, Any] = field(default_factory=dict)
    # Work that must only happen once the update's transaction has committed (file deletes).
    after_commit: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    # What the update set in motion, for the runtime to act on after commit ("outbox": a
    # message was queued for a paced chat).
    signals: set[str] = field(default_factory=set)
    # Where to go once the handler returns ("reprompt" or an entry point's name): flows ask,
    # the dispatcher acts, so no flow imports the route table.
    navigation: list[str] = field(default_factory=list)

    @property
    def capabilities(self) -> Capabilities:
        return for_channel(self.incoming.sender.channel)

    def reprompt(self) -> None:
        """Ask the open flow's current question again, after this handler's replies."""
        self.navigation.append(REPROMPT)

    def redirect(self, entry: str) -> None:
        """Continue at a registered entry point (e.g. "start", "new_product")."""
        self.navigation.append(entry)

    @property
    def language(self) -> str:
        if self.user.language in LANGUAGES:
            return self.user.language
        hint = (self.incoming.sender.language_hint or "")[:2].lower()
        return hint if hint in LANGUAGES else DEFAULT_LANGUAGE

    @property
    def today(self) -> date:
        """The local calendar day (fair dates and deadlines are days in East Java)."""
        return self.now.astimezone(ZoneInfo(self.settings.timezone)).date()

    @property
    def is_admin(self) -> bool:
        user = self.user
        return user.is_admin or (
            user.channel == self.settings.review_channel
            and user.external_id in self.settings.admin_ids
        )

    @property
    def t(self) -> Translate:
        return self.translator(self.language)

    def reply(self, text: str, **kwargs: Any) -> None:
        """Answer; drawn within the capabilities of the channel it goes to."""
        buttons = kwargs.pop("buttons", ())
        reply = Reply(text=text, buttons=_rows(buttons), **kwargs)
        channel = reply.to.channel if reply.to else self.incoming.sender.channel
        self.replies.append(fit(for_channel(channel), self.t, reply))

    # --- conversation state -------------------------------------------------------------

    @property
    def flow(self) -> str | None:
        return self.conversation.flow

    @property
    def step(self) -> str | None:
        return self.conversation.step

    @property
    def data(self) -> dict[str, Any]:
        """A copy: change it through `update_data`, so the change is seen and stored."""
        return copy.deepcopy(self.conversation.data)

    def goto(self, flow: str | None, step: str | None) -> None:
        if flow != self.conversation.flow:
            self.conversation.data = {}  # a new flow starts clean; keys mean different things
            self.memo.clear()
        self.conversation.flow = flow
        self.conversation.step = step

    def update_data(self, **values: Any) -> None:
        # A new object, so SQLAlchemy sees the JSON column change (it does not track nesting).
        self.conversation.data = copy.deepcopy({**self.conversation.data, **values})
        self.memo.clear()  # what was read may have been chosen by the data (a product id)

    def end_flow(self) -> None:
        self.conversation.flow = None
        self.conversation.step = None
        self.conversation.data = {}
        self.memo.clear()


def button(label: str, flow: str, step: str, value: str = "") -> Button:
    return Button(label=label, payload=Payload(flow, step, value).pack())


def _rows(buttons: Any) -> tuple[tuple[Button, ...], ...]:
    """Accept a flat list (one button a row) or a list of rows."""
    rows: list[tuple[Button, ...]] = []
    for item in buttons:
        rows.append((item,) if isinstance(item, Button) else tuple(item))
    return tuple(rows)
