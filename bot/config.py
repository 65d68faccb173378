"""Settings: a TOML file, overridden by KURASI_* environment variables (KURASI_TELEGRAM__TOKEN)."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import replace
from datetime import time, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from sqlalchemy.engine import make_url

from db.businesses import SECTORS
from handlers.features.reminders.kinds import SETTINGS as KIND_SETTINGS
from handlers.kit.context import FlowSettings
from handlers.rules.photos import PhotoLimits
from handlers.rules.rubric import CRITERIA, Rubric
from handlers.rules.schedule import WEEKDAYS, ReminderSchedule

DEFAULT_CONFIG = Path("config.toml")
TELEGRAM_API = "https://api.telegram.org"
CONSOLE_REVIEW_CHAT = "review"


def parse_duration(value: Any) -> timedelta:
    """ "90s", "15m", "48h", "3d" (or a number of seconds) as a timedelta."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return timedelta(seconds=value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", str(value))
    if match is None:
        raise ValueError('use a number with s, m, h or d, e.g. "48h"')
    seconds = {"s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return timedelta(seconds=float(match.group(1)) * seconds)


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


# A rule a set value must pass (on its text), and what to say when it does not.
Rule = tuple[Callable[[str], object], str]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # Optional settings where blank means unset (None), each with its rule (or None).
    optional: ClassVar[dict[str, Rule | None]] = {}

    @field_validator("*")
    @classmethod
    def _blank_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        if info.field_name not in cls.optional:
            return value
        text = value.get_secret_value() if isinstance(value, SecretStr) else value
        if not text:
            return None
        rule = cls.optional[info.field_name]
        if rule is not None and not rule[0](text):
            raise ValueError(rule[1])
        return value


class DatabaseSettings(Section):
    url: str = "sqlite+aiosqlite:///kurasi.db"

    @field_validator("url")
    @classmethod
    def _known_driver(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("use sqlite+aiosqlite:///FILE or postgresql+asyncpg://USER@HOST/DB")
        return value


class TelegramSettings(Section):
    token: SecretStr | None = None
    api_base: str = TELEGRAM_API
    mode: Literal["polling", "webhook"] = "polling"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    admin_ids: list[int] = Field(default_factory=list)
    optional = {
        "token": (lambda v: ":" in v, "a bot token looks like 123456:ABC... (from @BotFather)"),
        "webhook_secret": (
            re.compile(r"[A-Za-z0-9_-]{1,256}").fullmatch,
            "use 1-256 characters of A-Z, a-z, 0-9, _ and -",
        ),
        "webhook_url": (lambda v: v.startswith("https://"), "Telegram only posts to https:// URLs"),
    }


WHATSAPP_GRAPH_API = "https://graph.facebook.com"


class WhatsAppTemplate(Section):
    """An approved message template used outside the 24-hour window for one notification kind."""

    name: str
    language: str = "id"
    # What fills the template's {{1}}, {{2}} ...: names the notification offers
    # (e.g. "product", "decision", "fair", "date").
    parameters: list[str] = Field(default_factory=list)


class WhatsAppSettings(Section):
    phone_number_id: str | None = None
    token: SecretStr | None = None
    app_secret: SecretStr | None = None
    verify_token: SecretStr | None = None
    graph_api_base: str = WHATSAPP_GRAPH_API
    api_version: str = "23.0"
    messages_per_second: int = Field(default=80, ge=1, le=1000)
    # notification kind -> template (see config.example.toml for the bodies to register)
    templates: dict[str, WhatsAppTemplate] = Field(default_factory=dict)
    optional = {
        "phone_number_id": (
            str.isdigit,
            "the phone number id is digits (WhatsApp Manager › API setup)",
        ),
        "token": None,
        "app_secret": None,
        "verify_token": None,
    }

    @field_validator("api_version")
    @classmethod
    def _version(cls, value: str) -> str:
        value = value.removeprefix("v")
        if not re.fullmatch(r"\d+\.\d+", value):
            raise ValueError('use a Graph API version like "23.0"')
        return value

    @property
    def enabled(self) -> bool:
        return self.phone_number_id is not None and self.token is not None


class HttpSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # /metrics answers loopback clients; anyone else needs "Authorization: Bearer <token>".
    metrics_token: SecretStr | None = None


class CurrencySettings(Section):
    # Indicative prices beside the rupiah: rupiah for one unit of each currency, as of `date`.
    date: str | None = None
    USD: float | None = Field(default=None, gt=0)
    JPY: float | None = Field(default=None, gt=0)
    CNY: float | None = Field(default=None, gt=0)


class CatalogueSettings(Section):
    # The public catalogue page /katalog and /katalog.json on the HTTP app.
    enabled: bool = False
    # A static copy kept up to date by the scheduler's tick (only what changed is rewritten).
    site_dir: Path | None = None
    # Where Kurasi's HTTP app is reached from outside, e.g. "https://kurasi.example.org": the
    # static site's inquiry form and search post there. Empty: the static site has neither.
    public_url: str = ""
    # Where the static folder is served from (for sitemap.xml, canonical and og: links).
    site_url: str = ""
    per_page: int = Field(default=24, ge=1, le=100)
    # Inquiries: the chat that gets them (a Telegram chat id; empty: the admins privately),
    # and how many one address may send an hour.
    inquiry_chat_id: str = ""
    inquiries_per_hour: int = Field(default=5, ge=1)
    currencies: CurrencySettings = Field(default_factory=CurrencySettings)

    @field_validator("public_url", "site_url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if value and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
            raise ValueError("catalogue.public_url must be an http(s) address")
        return value


class DashboardSettings(Section):
    # The admins' web dashboard at /dasbor (login links from the bot's /dasbor).
    enabled: bool = False
    url: str = "http://127.0.0.1:8080"
    link_minutes: int = Field(default=10, ge=1, le=60)
    session_hours: int = Field(default=12, ge=1, le=24 * 7)

    @field_validator("url")
    @classmethod
    def _web_address(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("dashboard.url must start with http:// or https://")
        return value.rstrip("/")


class SchedulerSettings(Section):
    timezone: str = "Asia/Jakarta"

    @field_validator("timezone")
    @classmethod
    def _real_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (e.g. Asia/Jakarta)") from None
        return value


class MediaSettings(Section):
    dir: Path = Path("media")
    max_photos: int = Field(default=5, ge=1, le=10)
    max_photo_mb: int = Field(default=10, ge=1, le=20)
    min_side: int = Field(default=500, ge=1)
    dark_below: float = Field(default=PhotoLimits.dark_below, ge=0, le=255)
    bright_above: float = Field(default=PhotoLimits.bright_above, ge=0, le=255)
    flat_below: float = Field(default=PhotoLimits.flat_below, ge=0)
    blur_below: float = Field(default=PhotoLimits.blur_below, ge=0)


class ProductSettings(Section):
    max_per_business: int = Field(default=50, ge=1)


class ReviewChat(Section):
    chat_id: int
    sectors: list[str] = Field(default_factory=list)

    @field_validator("sectors")
    @classmethod
    def _known_sectors(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(SECTORS))
        if unknown:
            raise ValueError(f"unknown sector {unknown[0]!r}; sectors are {', '.join(SECTORS)}")
        return value


class RubricSettings(Section):
    # Weight of each criterion in the total (each is scored 1-3).
    weights: dict[str, int] = Field(default_factory=lambda: dict.fromkeys(CRITERIA, 1))
    # Share of the maximum total needed for grades A, B and C; below C is D.
    grade_a: float = Field(default=0.85, gt=0, le=1)
    grade_b: float = Field(default=0.70, gt=0, le=1)
    grade_c: float = Field(default=0.55, gt=0, le=1)

    @field_validator("weights")
    @classmethod
    def _all_criteria(cls, value: dict[str, int]) -> dict[str, int]:
        unknown = sorted(set(value) - set(CRITERIA))
        if unknown:
            raise ValueError(
                f"unknown criterion {unknown[0]!r}; criteria are {', '.join(CRITERIA)}"
            )
        if any(w < 0 for w in value.values()):
            raise ValueError("weights must be 0 or more")
        return {c: value.get(c, 1) for c in CRITERIA}


class ReviewSettings(Section):
    # A product goes to the first chat whose sectors include its sector (empty = every sector).
    chats: list[ReviewChat] = Field(default_factory=list)
    claim_timeout: Duration = timedelta(hours=48)
    group_rate_per_minute: int = Field(default=20, ge=1, le=60)
    language: Literal["id", "en"] = "id"
    rubric: RubricSettings = Field(default_factory=RubricSettings)


def _clock_time(value: str) -> time:
    try:
        hours, minutes = (int(part) for part in value.strip().split(":"))
        return time(hours, minutes)
    except ValueError:
        raise ValueError(f'use HH:MM, e.g. "08:00" (got {value!r})') from None


# The typed defaults of every reminder kind's settings (handlers/rules/schedule.py); written
# here as the config's text, and checked against config.example.toml by a test.
_DEFAULT = ReminderSchedule()


def _hhmm(moment: time) -> str:
    return f"{moment:%H:%M}"


def _quiet_text(window: tuple[time, time] | None) -> str:
    return "" if window is None else f"{_hhmm(window[0])}-{_hhmm(window[1])}"


class _ReminderSettings(Section):
    """[reminders]: the tick and quiet hours, then each kind's settings
    (handlers/features/reminders/kinds.py names them; their defaults are ReminderSchedule's)."""

    tick: Duration = timedelta(seconds=60)
    draft_idle: Duration = _DEFAULT.draft_idle
    draft_nudges: int = Field(default=_DEFAULT.draft_nudges, ge=0, le=10)
    revision_idle: Duration = _DEFAULT.revision_idle
    unclaimed: Duration = _DEFAULT.unclaimed
    review_digest_at: str = _hhmm(_DEFAULT.review_digest_at)
    weekly_digest: str = (
        f"{WEEKDAYS[_DEFAULT.weekly_digest_day]} {_hhmm(_DEFAULT.weekly_digest_at)}"
    )
    quiet_hours: str = _quiet_text(_DEFAULT.quiet_hours)
    fair_deadline_days: list[int] = Field(default_factory=lambda: list(_DEFAULT.fair_deadline_days))
    fair_start_days: list[int] = Field(default_factory=lambda: list(_DEFAULT.fair_start_days))

    @field_validator("review_digest_at")
    @classmethod
    def _hhmm(cls, value: str) -> str:
        _clock_time(value)
        return value

    @field_validator("weekly_digest")
    @classmethod
    def _day_and_time(cls, value: str) -> str:
        day, _, at = value.strip().partition(" ")
        if day.lower()[:3] not in WEEKDAYS:
            raise ValueError('use a weekday and a time, e.g. "mon 08:00"')
        _clock_time(at)
        return value

    @field_validator("quiet_hours")
    @classmethod
    def _window(cls, value: str) -> str:
        if value.strip():
            start, sep, end = value.partition("-")
            if not sep:
                raise ValueError('use "HH:MM-HH:MM", e.g. "21:00-07:00", or "" for none')
            _clock_time(start)
            _clock_time(end)
        return value

    @field_validator("fair_deadline_days", "fair_start_days")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if any(d < 0 or d > 365 for d in value):
            raise ValueError("days must be between 0 and 365")
        return sorted(set(value), reverse=True)

    def schedule(self) -> ReminderSchedule:
        quiet = None
        if self.quiet_hours.strip():
            start, _, end = self.quiet_hours.partition("-")
            quiet = (_clock_time(start), _clock_time(end))
        day, _, at = self.weekly_digest.strip().partition(" ")
        return replace(
            _DEFAULT,
            **{key: getattr(self, key) for key in _KIND_ONLY},
            draft_idle=self.draft_idle,
            draft_nudges=self.draft_nudges,
            revision_idle=self.revision_idle,
            unclaimed=self.unclaimed,
            review_digest_at=_clock_time(self.review_digest_at),
            weekly_digest_day=WEEKDAYS.index(day.lower()[:3]),
            weekly_digest_at=_clock_time(at),
            quiet_hours=quiet,
            fair_deadline_days=tuple(self.fair_deadline_days),
            fair_start_days=tuple(self.fair_start_days),
        )


def _typed_like(default: object) -> Any:
    """The config type of a kind's setting, read like the settings above: a duration as
    "3d", a time as "HH:MM", a number, or a list of days."""
    if isinstance(default, timedelta):
        return (Duration, default)
    if isinstance(default, time):
        return (Annotated[time, BeforeValidator(_clock_time)], default)
    if isinstance(default, tuple):
        return (tuple[int, ...], default)
    return (type(default), default)


# A kind's setting no field above reads: typed by its default in ReminderSchedule and passed
# on as it is (a new kind adds its setting there and in config.example.toml, not here).
_KIND_ONLY = {
    key: _typed_like(getattr(_DEFAULT, key))
    for key in KIND_SETTINGS
    if key not in _ReminderSettings.model_fields and key in _DEFAULT.__dataclass_fields__
}
if TYPE_CHECKING:
    ReminderSettings = _ReminderSettings
else:  # the settings of [reminders], with the kinds' settings no field above reads
    ReminderSettings = create_model("ReminderSettings", __base__=_ReminderSettings, **_KIND_ONLY)


class LimitSettings(Section):
    flood_messages: int = Field(default=20, ge=1)
    flood_seconds: float = Field(default=10.0, gt=0)


class RuntimeSettings(Section):
    # Updates handled at once by one process; the rest wait at Telegram (polling) or in
    # the webhook's connection limit. 0: sized to the database pool.
    max_concurrent_updates: int = Field(default=0, ge=0, le=1000)
    # On SIGTERM: stop taking updates, give those in flight this long to finish.
    shutdown_timeout: Duration = timedelta(seconds=20)
    # A transient database error (connection lost, serialization failure, deadlock)
    # reruns the whole update this many more times before giving up on it for now.
    db_retries: int = Field(default=3, ge=0, le=10)

    def concurrency(self, database_url: str) -> int:
        if self.max_concurrent_updates:
            return self.max_concurrent_updates
        # SQLite has one writer and one connection (the rest queue for it). On PostgreSQL
        # each update in flight holds a connection of the pool (see `pool_size`).
        return 4 if database_url.startswith("sqlite") else 10

    def pool_size(self, database_url: str) -> int:
        """PostgreSQL connections kept open: one per update in flight, and 5 for the one
        sender (outbox and broadcasts), the scheduler, the health check and /metrics. A pool
        smaller than the work in flight opens and closes an overflow connection (a server
        process) for every checkout past it: ~85 extra connections in one benchmark run."""
        return self.concurrency(database_url) + 5


class BroadcastSettings(Section):
    # Messages a second across every worker; Telegram's bulk ceiling is about 30.
    telegram_rate: float = Field(default=25.0, gt=0, le=30)
    # Telegram paid broadcast (allow_paid_broadcast, 0.1 Star a message): up to paid_rate.
    paid: bool = False
    paid_rate: float = Field(default=1000.0, gt=0, le=1000)
    # The approved WhatsApp template for recipients outside the 24-hour window.
    whatsapp_template: str | None = None
    whatsapp_template_language: str = "id"
    max_attempts: int = Field(default=12, ge=1, le=20)  # network errors / 5xx, then failed
    # How long a worker holds claimed recipients; a crashed worker's are taken over after it.
    lease: Duration = timedelta(minutes=2)


class ConsoleSettings(Section):
    user_id: str = "console-user"
    name: str = "Console"
    # Where log lines go while the console chat runs (not into the conversation).
    log_file: Path = Path("kurasi-console.log")


class LogSettings(Section):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    json_format: bool = Field(default=False, alias="json")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="KURASI_",
        env_nested_delimiter="__",
        extra="forbid",
        populate_by_name=True,
    )

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    whatsapp: WhatsAppSettings = Field(default_factory=WhatsAppSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    catalogue: CatalogueSettings = Field(default_factory=CatalogueSettings)
    dashboard: DashboardSettings = Field(default_factory=DashboardSettings)
    scheduler: SchedulerSettings = Field(default_factory=SchedulerSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)
    products: ProductSettings = Field(default_factory=ProductSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    reminders: ReminderSettings = Field(default_factory=ReminderSettings)
    runtime: RuntimeSettings = Field(default_factory=RuntimeSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    broadcast: BroadcastSettings = Field(default_factory=BroadcastSettings)
    log: LogSettings = Field(default_factory=LogSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = _config_path_var.get()
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path is not None:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=path))
        return tuple(sources)

    def review_chats(self, *, console: bool) -> tuple[tuple[str, tuple[str, ...]], ...]:
        chats = tuple((str(c.chat_id), tuple(c.sectors)) for c in self.review.chats)
        # In the terminal there is no Telegram group: one console chat plays the review chat.
        if console and not chats:
            return ((CONSOLE_REVIEW_CHAT, ()),)
        return chats

    @property
    def stats_max_age(self) -> timedelta:
        """How old the tick's stored statistics may be to be shown (two tick intervals: a tick
        late or a worker computing them when the other stopped)."""
        return 2 * self.reminders.tick

    def flow_settings(self, *, review_channel: str | None = None) -> FlowSettings:
        media = self.media
        rubric = self.review.rubric
        console = review_channel == "console"
        admins = {str(i) for i in self.telegram.admin_ids}
        if console:
            admins.add(self.console.user_id)  # the person at the terminal runs the show
        return FlowSettings(
            review_chats=self.review_chats(console=console),
            review_channel=review_channel,
            review_language=self.review.language,
            rubric=Rubric(
                weights=dict(rubric.weights),
                grade_a=rubric.grade_a,
                grade_b=rubric.grade_b,
                grade_c=rubric.grade_c,
            ),
            admin_ids=frozenset(admins),
            inquiry_chat_id=self.catalogue.inquiry_chat_id.strip(),
            timezone=self.scheduler.timezone,
            stats_max_age=self.stats_max_age,
            dashboard_url=self.dashboard.url if self.dashboard.enabled else None,
            dashboard_link_minutes=self.dashboard.link_minutes,
            broadcast_rate=self.broadcast.paid_rate
            if self.broadcast.paid
            else self.broadcast.telegram_rate,
            max_photos=media.max_photos,
            max_products=self.products.max_per_business,
            photo_limits=PhotoLimits(
                max_bytes=media.max_photo_mb * 1024 * 1024,
                min_side=media.min_side,
                dark_below=media.dark_below,
                bright_above=media.bright_above,
                flat_below=media.flat_below,
                blur_below=media.blur_below,
            ),
        )

    def secrets(self) -> list[str]:
        """Every secret value, for the log redactor: each SecretStr of every section (so
        a section added later is covered too) and the database password."""
        found: list[str] = []

        def walk(model: BaseModel) -> None:
            for name in type(model).model_fields:
                value = getattr(model, name)
                if isinstance(value, SecretStr) and value.get_secret_value():
                    found.append(value.get_secret_value())
                elif isinstance(value, BaseModel):
                    walk(value)

        walk(self)
        password = make_url(self.database.url).password
        if password:
            found.append(str(password))
        return found


class ConfigError(Exception):
    """A one-line, human-readable configuration problem."""


# pydantic-settings builds sources from the class; the file to read is handed over here.
_config_path_var: ContextVar[Path | None] = ContextVar("kurasi_config_path", default=None)


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read settings from `path` (or KURASI_CONFIG, or ./config.toml when present)."""
    if path is None:
        path = os.environ.get("KURASI_CONFIG") or (
            DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None
        )
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        _check_toml(path)
    token = _config_path_var.set(path)
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError(_describe(exc, path)) from None
    finally:
        _config_path_var.reset(token)


def _check_toml(path: Path) -> None:
    import tomllib

    try:
        tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _describe(exc: ValidationError, path: Path | None) -> str:
    where = f"{path}: " if path else ""
    problems = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            problems.append(f"{key}: unknown key")
        else:
            # Never echo the offending value: it may be a token.
            problems.append(f"{key}: {err['msg']}")
    return where + "; ".join(problems)
