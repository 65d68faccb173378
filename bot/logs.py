"""structlog set-up, with every known secret (and anything shaped like a bot token) masked.

Every line, from structlog or from a library's stdlib logger, tracebacks included, goes
through one `ProcessorFormatter`; the redactor runs twice: over the event's values (so a
JSON line stays valid) and over the finished line (so nothing rendered later escapes it).
"""

from __future__ import annotations

import json as jsonlib
import logging
import re
import sys
from collections.abc import Iterable, MutableMapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import structlog

# Telegram tokens are "<digits>:<35 url-safe chars>"; they also hide inside API URLs.
_TOKEN_RE = re.compile(r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b")
MASK = "***"


class Redactor:
    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found: set[str] = set()
        for secret in secrets:
            if not secret or len(secret) < 4:
                continue
            found.add(secret)
            # As it appears inside a JSON string, and percent-encoded inside a URL.
            found.add(jsonlib.dumps(secret)[1:-1])
            found.add(quote(secret, safe=""))
        self.secrets = sorted(found, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        return _TOKEN_RE.sub(MASK, text)

    def value(self, value: Any) -> Any:
        """Mask strings anywhere inside a logged value (dicts, lists, exceptions' text)."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self(str(value))


class RedactingFormatter(structlog.stdlib.ProcessorFormatter):
    """The rendered line, masked once more: the last word on what reaches the stream."""

    def __init__(self, redact: Redactor, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        try:
            line = super().format(record)
        except Exception as exc:  # a log call must never print "--- Logging error ---"
            line = f"unformattable log record from {record.name}: {type(exc).__name__}"
        return self.redact(line)


# Kurasi's own loggers; the modules name theirs after themselves (structlog.get_logger(__name__)).
OWN_LOGGERS = ("bot", "handlers", "db", "__main__")


def _own(name: str) -> bool:
    return name.split(".", 1)[0] in OWN_LOGGERS


class LibraryDebugFilter(logging.Filter):
    """Below INFO, only Kurasi's own lines. A library's debug lines carry whatever it holds:
    pywa logs each webhook and request whole (phone numbers, message bodies), aiosqlite
    every statement with its parameters, aiohttp and httpx the headers. No redaction can
    know all of that, so those lines never reach the stream, whatever log.level says."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.INFO or _own(record.name)


def setup_logging(*, level: str = "INFO", json: bool = False, secrets: Iterable[str] = ()) -> None:
    redact = Redactor(secrets)

    def redact_event(
        _logger: Any, _name: str, event: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in list(event.items()):
            if key.startswith("_") or key == "exc_info":
                continue  # structlog's own bookkeeping (the stdlib record) and raw exc_info
            event[key] = redact.value(value)
        return event

    renderer: Any = (
        structlog.processors.JSONRenderer()
        if json
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    # JSON lines carry the traceback as one string field; the console prints it as usual.
    tracebacks: list[Any] = [structlog.processors.format_exc_info] if json else []
    structlog.configure(
        processors=[
            *shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        RedactingFormatter(
            redact,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                *tracebacks,
                redact_event,
                renderer,
            ],
            foreign_pre_chain=shared,
        )
    )
    handler.addFilter(LibraryDebugFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiogram logs every handled update at INFO; that is noise at our volume.
    logging.getLogger("aiogram.event").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # The chattiest libraries' debug lines are not even made (the filter drops any left).
    if root.getEffectiveLevel() < logging.INFO:
        for name in ("pywa", "aiosqlite", "asyncio", "aiohttp", "httpx", "httpcore", "PIL"):
            logging.getLogger(name).setLevel(logging.INFO)
    # Python's last resort for errors inside logging: never a raw dump on stderr.
    logging.raiseExceptions = False
    # Library warnings (e.g. aiogram's "unknown update type") become log lines too.
    logging.captureWarnings(True)


def log_to_file(path: Path) -> None:
    """Send the log lines to `path` instead of the terminal (the console chat uses it: a
    line printed into the conversation reads like a message). Same format, appended."""
    root = logging.getLogger()
    path.parent.mkdir(parents=True, exist_ok=True)
    handlers: list[logging.Handler] = []
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            to_file = logging.FileHandler(path, encoding="utf-8")
            to_file.setFormatter(handler.formatter)
            handlers.append(to_file)
        else:
            handlers.append(handler)
    root.handlers[:] = handlers
