"""In-process fake of the Telegram Bot API HTTP server.

Point a real aiogram ``Bot`` at it with
``AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))``. The fake speaks the
Bot API wire protocol (multipart / urlencoded / JSON bodies, ``{"ok": ...}`` envelopes,
Telegram error codes), records every call and lets tests queue updates for long polling.

Every call is first checked against Telegram's published Bot API 10.1 specification
(``tests/data/telegram``, see ``tests/fakes/telegram_spec.py``): the method exists, each
parameter is one of its fields, required ones are present, values (nested keyboards and
commands included) have the declared types and strings keep the spec's length limits. A call
that breaks it gets the 400 Telegram would answer and is kept in ``spec_violations``; leaving
``async with FakeTelegram()`` with violations recorded fails the test, so a bot that swallows
the error still cannot pass (``assert_spec_clean()`` does the same for other lifecycles).

With ``strict=True`` (the default) it also rejects requests that the real Telegram
would reject and that bots commonly get wrong: bad HTML markup, over-long texts,
callback_data over 64 bytes, editing a message with identical content, editing or
deleting unknown messages and sending unknown file_ids.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import inspect
import io
import json
import mimetypes
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

from aiohttp import web

from tests.fakes.telegram_spec import BotApiSpec, SpecError

# Values of these parameters are plain strings on the wire; everything else that looks
# like JSON was JSON-encoded by the client (aiogram dumps every non-str value).
_STRING_FIELDS = frozenset(
    [
        "text",
        "caption",
        "parse_mode",
        "callback_query_id",
        "inline_message_id",
        "url",
        "secret_token",
        "ip_address",
        "language_code",
        "file_id",
        "photo",
        "document",
        "video",
        "audio",
        "voice",
        "animation",
        "sticker",
        "video_note",
        "thumbnail",
        "certificate",
        "action",
        "emoji",
        "name",
        "title",
        "description",
        "short_description",
        "phone_number",
        "first_name",
        "last_name",
        "vcard",
        "address",
        "business_connection_id",
        "message_effect_id",
    ]
)
_NUMBER_RE = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")

_ALLOWED_HTML_TAGS = frozenset(
    [
        "b",
        "strong",
        "i",
        "em",
        "u",
        "ins",
        "s",
        "strike",
        "del",
        "span",
        "tg-spoiler",
        "a",
        "tg-emoji",
        "code",
        "pre",
        "blockquote",
    ]
)
_TAG_RE = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)([^<>]*)>")

_CHAT_ACTIONS = frozenset(
    [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    ]
)
_COMMAND_RE = re.compile(r"[a-z0-9_]{1,32}")

# getUpdates defaults when allowed_updates is unset or empty (per Bot API docs).
_OPT_IN_UPDATES = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

# Methods addressed to a chat; blocked_chats makes these answer 403.
_CHAT_BOUND_PREFIXES = ("send", "edit", "copy", "forward")

_DEFAULT_DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict: terminated by other getUpdates request; "
    "make sure that only one bot instance is running",
    500: "Internal Server Error",
    502: "Bad Gateway",
}

_DELETE_WINDOW = 48 * 3600  # seconds a bot's message stays deletable
_MAX_UPLOAD = 50 * 1024 * 1024
_MAX_DOWNLOAD = 20 * 1024 * 1024
_DEFAULT_SCOPE = {"type": "default"}
_SPEC = BotApiSpec.load()


@dataclass
class Call:
    """One request received by the fake, with JSON-encoded values already decoded."""

    method: str
    params: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)
    at: float = 0.0
    token: str = ""
    filenames: dict[str, str] = field(default_factory=dict)
    error: int | None = None
    description: str | None = None
    result: Any = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def chat_id(self) -> Any:
        return self.params.get("chat_id")

    @property
    def text(self) -> str | None:
        return self.params.get("text")

    def upload(self, param: str) -> bytes | None:
        """Bytes uploaded for ``param`` (resolving ``attach://`` references), if any."""
        ref = self.params.get(param)
        if isinstance(ref, str) and ref.startswith("attach://"):
            return self.files.get(ref.removeprefix("attach://"))
        return self.files.get(param)

    def describe(self) -> str:
        status = "ok" if self.ok else f"error {self.error}"
        params = {k: v for k, v in self.params.items() if k != "timeout"}
        return f"[{self.at:.3f}] {self.method} {params!r} files={sorted(self.files)} -> {status}"


class _ApiError(Exception):
    def __init__(self, code: int, description: str, parameters: dict[str, Any] | None = None):
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters


def _bad(detail: str) -> _ApiError:
    return _ApiError(400, f"Bad Request: {detail}")


@dataclass
class _Request:
    params: dict[str, Any]
    files: dict[str, bytes]
    filenames: dict[str, str]
    # Parameters that came as query/form strings (their values were JSON-decoded by guess).
    form_keys: frozenset[str] = frozenset()


@dataclass
class _Failure:
    method: str | None
    code: int
    description: str
    parameters: dict[str, Any] | None
    remaining: int
    chat_id: int | str | None


@dataclass
class _StoredFile:
    file_id: str
    file_unique_id: str
    data: bytes
    file_path: str
    file_name: str | None = None
    mime_type: str | None = None

    def ref(self) -> dict[str, Any]:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }


def _decode_value(key: str, value: str) -> Any:
    if key in _STRING_FIELDS or not value:
        return value
    if value[0] in "{[" or value in ("true", "false", "null") or _NUMBER_RE.fullmatch(value):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _image_size(data: bytes) -> tuple[int, int]:
    try:
        from PIL import Image

        with Image.open(io.BytesIO(data)) as image:
            return image.size
    except Exception:
        # Tests often upload placeholder bytes; Telegram would reject them, we just guess.
        return (1280, 960)


def _strip_html(text: str) -> str:
    """Validate Telegram-flavoured HTML and return the plain text Telegram would store."""
    out: list[str] = []
    stack: list[str] = []
    pos = 0
    while (start := text.find("<", pos)) >= 0:
        out.append(text[pos:start])
        offset = len(text[:start].encode())
        match = _TAG_RE.match(text, start)
        if match is None:
            raise _bad(f"can't parse entities: Unexpected '<' at byte offset {offset}")
        closing, name = match.group(1) == "/", match.group(2).lower()
        if name not in _ALLOWED_HTML_TAGS:
            kind = "end" if closing else "start"
            raise _bad(
                f'can\'t parse entities: Unsupported {kind} tag "{name}" at byte offset {offset}'
            )
        if not closing:
            stack.append(name)
        elif not stack:
            raise _bad(f"can't parse entities: Unexpected end tag at byte offset {offset}")
        elif stack[-1] != name:
            raise _bad(
                f"can't parse entities: Unmatched end tag at byte offset {offset}, "
                f'expected "</{stack[-1]}>", found "</{name}>"'
            )
        else:
            stack.pop()
        pos = match.end()
    out.append(text[pos:])
    if stack:
        raise _bad(
            f"can't parse entities: Can't find end tag corresponding to start tag \"{stack[-1]}\""
        )
    return html.unescape("".join(out))


def _plain_text(text: str, parse_mode: Any) -> str:
    """The text Telegram keeps after entities parsing (HTML markup out; bad markup is a 400).

    Only HTML is parsed (the bot sends nothing else); MarkdownV2 text is counted with its
    markup, which can only make a length limit stricter.
    """
    return _strip_html(text) if str(parse_mode or "").upper() == "HTML" else text


class FakeTelegram:
    """A fake Bot API server on 127.0.0.1 for the real aiogram client."""

    def __init__(
        self,
        *,
        token: str | None = None,
        bot_id: int | None = None,
        bot_username: str = "kurasi_test_bot",
        bot_first_name: str = "Kurasi",
        clock: Callable[[], float] = time.monotonic,
        blocked_chats: Iterable[int] | None = None,
        strict: bool = True,
        check_spec: bool = True,
    ) -> None:
        # With token=None any token is accepted; otherwise others get 401 like Telegram.
        self.required_token = token
        if bot_id is None:
            prefix = (token or "").split(":", 1)[0]
            bot_id = int(prefix) if prefix.isdigit() else 7_000_000_001
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.blocked_chats: set[int] = set(blocked_chats or ())
        self.strict = strict
        self.check_spec = check_spec
        self.spec = _SPEC
        self.spec_violations: list[str] = []
        self.calls: list[Call] = []
        self.webhook_url = ""
        self._clock = clock

        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._closing = False

        self._queue: list[dict[str, Any]] = []
        self._update_seq = 0
        self._last_queued_id = 0
        self._allowed_updates: list[str] | None = None
        self._poll_generation = 0
        self._updates_changed = asyncio.Event()
        self._calls_changed = asyncio.Event()

        self._failures: list[_Failure] = []
        self._delays: dict[str, tuple[float, asyncio.Event]] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._message_seq: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._sent_at: dict[tuple[int, int], float] = {}  # the bot's messages, by the clock
        self._file_seq = 0
        self._files: dict[str, _StoredFile] = {}
        self._files_by_path: dict[str, _StoredFile] = {}
        self._photo_groups: dict[str, list[dict[str, Any]]] = {}
        self._misc_seq = 0

        self._handlers: dict[str, Callable[[_Request], Any]] = {
            "getme": lambda _req: self.get_me_result(),
            "getupdates": self._get_updates,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "setmycommands": self._set_my_commands,
            "getmycommands": self._get_my_commands,
            "deletemycommands": self._delete_my_commands,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message_text,
            "editmessagereplymarkup": self._edit_message_reply_markup,
            "editmessagecaption": self._edit_message_caption,
            "deletemessage": self._delete_message,
            "answercallbackquery": self._answer_callback_query,
            "sendphoto": lambda req: self._send_media(req, "photo"),
            "senddocument": lambda req: self._send_media(req, "document"),
            "sendvideo": lambda req: self._send_media(req, "video"),
            "sendaudio": lambda req: self._send_media(req, "audio"),
            "sendvoice": lambda req: self._send_media(req, "voice"),
            "sendmediagroup": self._send_media_group,
            "sendchataction": self._send_chat_action,
            "getfile": self._get_file,
            "setmydescription": lambda _req: True,
            "setmyshortdescription": lambda _req: True,
            "setmyname": lambda _req: True,
            "setchatmenubutton": lambda _req: True,
        }

    # ------------------------------------------------------------------ lifecycle

    async def start(self, *, port: int = 0) -> None:
        """Listen on 127.0.0.1 (`port` 0: any free one; a port again: back after an outage)."""
        app = web.Application(client_max_size=_MAX_UPLOAD)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{file_path:.+}", self._handle_file)
        # Short shutdown timeout: pending long polls are woken by stop() anyway.
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", port, reuse_address=True)
        await site.start()
        self._port = self._runner.addresses[0][1]
        self._closing = False

    async def stop(self) -> None:
        if self._runner is None:
            return
        self._closing = True
        self._wake_pollers()
        await self._runner.cleanup()
        self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()
        if exc_type is None:
            self.assert_spec_clean()

    def assert_spec_clean(self) -> None:
        """Fail if any call broke the Bot API spec (the bot may have swallowed the 400)."""
        if self.spec_violations:
            listed = "\n".join(f"  {v}" for v in self.spec_violations)
            raise AssertionError(
                f"{len(self.spec_violations)} call(s) broke the Telegram "
                f"{self.spec.version} spec:\n{listed}"
            )

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeTelegram is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def token(self) -> str:
        """A token this fake accepts, shaped like a real one (aiogram validates it)."""
        return self.required_token or f"{self.bot_id}:AAFakeTelegramTokenForTests"

    @property
    def bot_user(self) -> dict[str, Any]:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    def get_me_result(self) -> dict[str, Any]:
        return {
            **self.bot_user,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    # ------------------------------------------------------------------ recording

    def sent(
        self,
        method: str | None = None,
        chat_id: int | str | None = None,
        *,
        include_failed: bool = False,
    ) -> list[Call]:
        """Recorded calls, filtered; ``method=None`` means everything but getUpdates."""
        return self._match(method, chat_id, include_failed)

    async def wait_for(
        self,
        predicate_or_method: str | Callable[[Call], bool] | None = None,
        *,
        count: int = 1,
        timeout: float = 5.0,  # noqa: ASYNC109 - a deadline for the whole wait, not one I/O call
        chat_id: int | str | None = None,
        include_failed: bool = False,
    ) -> list[Call]:
        """Wait until at least ``count`` matching calls were recorded; return all matches."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = self._match(predicate_or_method, chat_id, include_failed)
            if len(found) >= count:
                return found
            remaining = deadline - loop.time()
            if remaining <= 0:
                recorded = "\n".join(f"  {c.describe()}" for c in self.calls) or "  (none)"
                wanted = getattr(predicate_or_method, "__name__", predicate_or_method)
                raise AssertionError(
                    f"timed out after {timeout}s waiting for {count} call(s) matching "
                    f"{wanted!r} (chat_id={chat_id!r}); {len(found)} matched. "
                    f"Recorded calls:\n{recorded}"
                )
            event = self._calls_changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()

    def clear(self) -> None:
        self.calls.clear()

    def _match(
        self,
        what: str | Callable[[Call], bool] | None,
        chat_id: int | str | None,
        include_failed: bool,
    ) -> list[Call]:
        found = []
        for call in self.calls:
            if not include_failed and not call.ok:
                continue
            if what is None:
                if call.method.lower() == "getupdates":
                    continue
            elif isinstance(what, str):
                if call.method.lower() != what.lower():
                    continue
            elif not what(call):
                continue
            if chat_id is not None and str(call.chat_id) != str(chat_id):
                continue
            found.append(call)
        return found

    def _notify_calls(self) -> None:
        self._calls_changed.set()
        self._calls_changed = asyncio.Event()

    # ------------------------------------------------------------------ error injection

    def fail_next(
        self,
        method: str | None,
        error_code: int,
        description: str | None = None,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | str | None = None,
        *,
        parameters: dict[str, Any] | None = None,
    ) -> None:
        """Make the next ``times`` calls of ``method`` (None = any) answer a Telegram error."""
        params = dict(parameters or {})
        if error_code == 429 and retry_after is None:
            retry_after = 1
        if retry_after is not None:
            params["retry_after"] = retry_after
        if description is None:
            if error_code == 429:
                description = f"Too Many Requests: retry after {retry_after}"
            else:
                description = _DEFAULT_DESCRIPTIONS.get(error_code, f"Error {error_code}")
        self._failures.append(
            _Failure(
                method=method.lower() if method else None,
                code=error_code,
                description=description,
                parameters=params or None,
                remaining=times,
                chat_id=chat_id,
            )
        )

    def delay(self, method: str, seconds: float) -> asyncio.Event:
        """Answer the next call of ``method`` only after ``seconds``; the event returned is
        set when that call arrives (the client is then waiting on it)."""
        arrived = asyncio.Event()
        self._delays[method.lower()] = (seconds, arrived)
        return arrived

    def _maybe_fail(self, method: str, params: dict[str, Any]) -> None:
        for failure in self._failures:
            if failure.method is not None and failure.method != method:
                continue
            if failure.chat_id is not None and str(params.get("chat_id")) != str(failure.chat_id):
                continue
            failure.remaining -= 1
            if failure.remaining <= 0:
                self._failures.remove(failure)
            raise _ApiError(failure.code, failure.description, failure.parameters)

    def _check_blocked(self, method: str, params: dict[str, Any]) -> None:
        if not method.startswith(_CHAT_BOUND_PREFIXES) or not self.blocked_chats:
            return
        try:
            chat_id = int(params.get("chat_id"))  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return
        if chat_id in self.blocked_chats:
            if chat_id > 0:
                raise _ApiError(403, "Forbidden: bot was blocked by the user")
            raise _ApiError(403, "Forbidden: bot was kicked from the group chat")

    # ------------------------------------------------------------------ HTTP layer

    async def _read_request(self, request: web.Request) -> _Request:
        params: dict[str, Any] = {k: _decode_value(k, v) for k, v in request.query.items()}
        form_keys = set(params)
        files: dict[str, bytes] = {}
        filenames: dict[str, str] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                body = await request.json()
                if not isinstance(body, dict):
                    raise _bad("request body must be a JSON object")
                params.update(body)
            elif request.content_type in (
                "multipart/form-data",
                "application/x-www-form-urlencoded",
            ):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = value.file.read()
                        filenames[key] = value.filename
                    else:
                        params[key] = _decode_value(key, str(value))
                        form_keys.add(key)
        # A file part sent directly under the parameter name (curl -F photo=@x) is
        # equivalent to attach://photo; normalise so callers see one shape.
        # Parts referenced as attach://<name> (how aiogram uploads) are not parameters.
        referenced = json.dumps(params, default=str)
        for name in files:
            if f'"attach://{name}"' not in referenced:
                params.setdefault(name, f"attach://{name}")
        return _Request(
            params=params, files=files, filenames=filenames, form_keys=frozenset(form_keys)
        )

    def _token_ok(self, token: str) -> bool:
        return self.required_token is None or token == self.required_token

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        at = self._clock()
        try:
            req = await self._read_request(request)
        except _ApiError as err:
            return self._error_response(err)
        except ValueError:
            return self._error_response(_bad("can't parse request body"))
        call = Call(
            method=method,
            params=req.params,
            files=req.files,
            filenames=req.filenames,
            at=at,
            token=token,
        )
        self.calls.append(call)
        self._notify_calls()
        try:
            try:
                result = await self._dispatch(token, method, req)
            except (TypeError, ValueError, KeyError, AttributeError) as exc:
                # Malformed parameters: answer 400 like Telegram instead of an HTML 500.
                raise _bad(f"invalid request parameters ({exc})") from exc
        except _ApiError as err:
            call.error, call.description = err.code, err.description
            self._notify_calls()
            return self._error_response(err)
        call.result = result
        self._notify_calls()
        return web.json_response({"ok": True, "result": result})

    async def _dispatch(self, token: str, method: str, req: _Request) -> Any:
        if not self._token_ok(token):
            raise _ApiError(401, "Unauthorized")
        name = method.lower()
        if self.check_spec:
            self._check_spec(method, req)
        handler = self._handlers.get(name)
        if handler is None:
            raise _ApiError(404, "Not Found: method not found")
        if name in self._delays:
            seconds, arrived = self._delays.pop(name)
            arrived.set()
            await asyncio.sleep(seconds)
        self._maybe_fail(name, req.params)
        self._check_blocked(name, req.params)
        result = handler(req)
        if inspect.isawaitable(result):
            result = await result
        return result

    def _check_spec(self, method: str, req: _Request) -> None:
        try:
            self.spec.check(
                method,
                req.params,
                files=req.files,
                form_keys=req.form_keys,
                plain_text=_plain_text,
            )
        except SpecError as err:
            params = {k: v for k, v in req.params.items() if k != "timeout"}
            self.spec_violations.append(f"{method}: {err} (params {params!r:.200})")
            if method.lower() not in self.spec.methods:
                raise _ApiError(404, "Not Found: method not found") from None
            raise _bad(str(err)) from None

    @staticmethod
    def _error_response(err: _ApiError) -> web.Response:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": err.code,
            "description": err.description,
        }
        if err.parameters:
            body["parameters"] = err.parameters
        return web.json_response(body, status=err.code)

    async def _handle_file(self, request: web.Request) -> web.Response:
        if not self._token_ok(request.match_info["token"]):
            return self._error_response(_ApiError(401, "Unauthorized"))
        stored = self._files_by_path.get(request.match_info["file_path"])
        if stored is None:
            return self._error_response(_ApiError(404, "Not Found"))
        mime = stored.mime_type or "application/octet-stream"
        return web.Response(body=stored.data, content_type=mime)

    # ------------------------------------------------------------------ updates

    def make_update(self, *, update_id: int | None = None, **fields: Any) -> dict[str, Any]:
        """An Update dict with a fresh update_id, e.g. ``make_update(message={...})``."""
        if update_id is None:
            self._update_seq += 1
            update_id = self._update_seq
        else:
            self._update_seq = max(self._update_seq, update_id)
        return {"update_id": update_id, **fields}

    def push_update(self, update: dict[str, Any], *, redeliver: bool = False) -> int:
        """Queue an update for getUpdates; returns its update_id.

        ``redeliver=True`` queues an update id again, as Telegram does after a bot stopped
        before confirming it (its next getUpdates carries no offset).
        """
        update = dict(update)
        update_id = update.get("update_id")
        if update_id is None:
            update = self.make_update(**update)
            update_id = update["update_id"]
        elif redeliver:
            self._queue.append(update)
            self._wake_pollers()
            return update_id
        elif update_id <= self._last_queued_id:
            raise ValueError(
                f"update_id {update_id} is not above the last queued id "
                f"{self._last_queued_id}; push updates in the order they were built"
            )
        self._update_seq = max(self._update_seq, update_id)
        self._last_queued_id = update_id
        self._queue.append(update)
        self._wake_pollers()
        return update_id

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Queued updates not yet confirmed by an offset."""
        return list(self._queue)

    def _wake_pollers(self) -> None:
        self._updates_changed.set()
        self._updates_changed = asyncio.Event()

    def _deliverable(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        if allowed:
            keep = [u for u in self._queue if self._update_type(u) in allowed]
        else:
            keep = [u for u in self._queue if self._update_type(u) not in _OPT_IN_UPDATES]
        # Telegram never delivers filtered-out updates, so they are dropped for good.
        self._queue = keep
        return keep[:limit]

    @staticmethod
    def _update_type(update: dict[str, Any]) -> str | None:
        return next((k for k in update if k != "update_id"), None)

    async def _get_updates(self, req: _Request) -> list[dict[str, Any]]:
        if self.webhook_url:
            raise _ApiError(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        params = req.params
        offset = params.get("offset")
        if offset is not None:
            offset = int(offset)
            if offset < 0:
                self._queue = self._queue[offset:]
            else:
                self._queue = [u for u in self._queue if u["update_id"] >= offset]
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        timeout = max(float(params.get("timeout") or 0), 0.0)
        if params.get("allowed_updates") is not None:
            self._allowed_updates = list(params["allowed_updates"])

        # A newer getUpdates terminates an older pending one, as on Telegram.
        self._poll_generation += 1
        generation = self._poll_generation
        self._wake_pollers()

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            ready = self._deliverable(limit)
            if ready or self._closing:
                return ready
            if generation != self._poll_generation:
                raise _ApiError(409, _DEFAULT_DESCRIPTIONS[409])
            remaining = deadline - loop.time()
            if remaining <= 0:
                return []
            event = self._updates_changed
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await event.wait()

    def _set_webhook(self, req: _Request) -> bool:
        self.webhook_url = str(req.params.get("url") or "")
        if req.params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _delete_webhook(self, req: _Request) -> bool:
        self.webhook_url = ""
        if req.params.get("drop_pending_updates"):
            self._queue.clear()
        return True

    def _get_webhook_info(self, _req: _Request) -> dict[str, Any]:
        return {
            "url": self.webhook_url,
            "has_custom_certificate": False,
            "pending_update_count": len(self._queue),
        }

    # ------------------------------------------------------------------ commands

    @staticmethod
    def _commands_key(scope: Any, language_code: Any) -> tuple[str, str]:
        return (json.dumps(scope or _DEFAULT_SCOPE, sort_keys=True), str(language_code or ""))

    def commands(
        self, *, language_code: str = "", scope: dict[str, Any] | None = None
    ) -> list[dict[str, Any]] | None:
        """Commands last set for this scope/language, or None if never set."""
        return self._commands.get(self._commands_key(scope, language_code))

    def _set_my_commands(self, req: _Request) -> bool:
        commands = req.params.get("commands")
        if not isinstance(commands, list):
            raise _bad('parameter "commands" can\'t be parsed as JSON array')
        if self.strict:
            for command in commands:
                if not _COMMAND_RE.fullmatch(str(command.get("command", ""))):
                    raise _bad("BOT_COMMAND_INVALID")
                if not 1 <= len(str(command.get("description", ""))) <= 256:
                    raise _bad("command description is empty or too long")
        key = self._commands_key(req.params.get("scope"), req.params.get("language_code"))
        self._commands[key] = commands
        return True

    def _get_my_commands(self, req: _Request) -> list[dict[str, Any]]:
        key = self._commands_key(req.params.get("scope"), req.params.get("language_code"))
        return self._commands.get(key, [])

    def _delete_my_commands(self, req: _Request) -> bool:
        key = self._commands_key(req.params.get("scope"), req.params.get("language_code"))
        self._commands.pop(key, None)
        return True

    # ------------------------------------------------------------------ chats & messages

    def _chat(self, chat_id: int) -> dict[str, Any]:
        known = self._chats.get(chat_id)
        if known is not None:
            return dict(known)
        if chat_id > 0:
            return {"id": chat_id, "type": "private"}
        kind = "supergroup" if str(chat_id).startswith("-100") else "group"
        return {"id": chat_id, "type": kind, "title": f"Chat {chat_id}"}

    @staticmethod
    def _chat_id(params: dict[str, Any]) -> int:
        raw = params.get("chat_id")
        if raw is None or raw == "":
            raise _bad("chat_id is empty")
        try:
            return int(raw)
        except (TypeError, ValueError):
            raise _bad("chat not found") from None

    def _next_message_id(self, chat_id: int) -> int:
        self._message_seq[chat_id] = self._message_seq.get(chat_id, 0) + 1
        return self._message_seq[chat_id]

    def message_in(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """The current state of a message the fake knows about (sent, built or edited)."""
        return self._messages.get((chat_id, message_id))

    def _new_message(self, chat_id: int, content: dict[str, Any]) -> dict[str, Any]:
        message_id = self._next_message_id(chat_id)
        message = {
            "message_id": message_id,
            "from": self.bot_user,
            "chat": self._chat(chat_id),
            "date": int(time.time()),
            **content,
        }
        self._messages[(chat_id, message_id)] = message
        self._sent_at[(chat_id, message_id)] = self._clock()
        return message

    def _text(self, text: Any, parse_mode: Any, *, limit: int, what: str) -> str:
        text = "" if text is None else str(text)
        if not self.strict:
            return text
        plain = _strip_html(text) if str(parse_mode or "").upper() == "HTML" else text
        if what == "text" and not plain.strip():
            raise _bad("message text is empty")
        if _utf16_len(plain) > limit:
            raise _bad("message is too long" if what == "text" else "message caption is too long")
        return plain

    def _inline_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        markup = params.get("reply_markup")
        if markup is None:
            return None
        if not isinstance(markup, dict):
            raise _bad("can't parse reply keyboard markup JSON object")
        rows = markup.get("inline_keyboard")
        if rows is None:
            # Reply keyboards are accepted but never echoed back on the Message.
            return None
        if self.strict:
            for row in rows:
                for button in row:
                    data = button.get("callback_data")
                    if data is not None and not 1 <= len(str(data).encode()) <= 64:
                        raise _bad("BUTTON_DATA_INVALID")
        return markup

    def _reply_to(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any] | None:
        reply = params.get("reply_parameters")
        message_id = reply.get("message_id") if isinstance(reply, dict) else None
        message_id = message_id or params.get("reply_to_message_id")
        if not message_id:
            return None
        target = self._messages.get((chat_id, int(message_id)))
        if target is None:
            lenient = isinstance(reply, dict) and reply.get("allow_sending_without_reply")
            if self.strict and not lenient:
                raise _bad("message to be replied not found")
            return None
        return {k: v for k, v in target.items() if k != "reply_to_message"}

    def _extras(self, chat_id: int, params: dict[str, Any]) -> dict[str, Any]:
        extras: dict[str, Any] = {}
        markup = self._inline_markup(params)
        if markup is not None:
            extras["reply_markup"] = markup
        reply = self._reply_to(chat_id, params)
        if reply is not None:
            extras["reply_to_message"] = reply
        return extras

    def _send_message(self, req: _Request) -> dict[str, Any]:
        params = req.params
        chat_id = self._chat_id(params)
        text = self._text(params.get("text"), params.get("parse_mode"), limit=4096, what="text")
        return self._new_message(chat_id, {"text": text, **self._extras(chat_id, params)})

    def _edit_target(self, params: dict[str, Any]) -> tuple[int, int, dict[str, Any]] | None:
        if params.get("inline_message_id"):
            return None
        chat_id = self._chat_id(params)
        message_id = int(params.get("message_id") or 0)
        message = self._messages.get((chat_id, message_id))
        if message is None:
            if self.strict:
                raise _bad("message to edit not found")
            message = {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": self._chat(chat_id),
                "date": int(time.time()),
            }
        return chat_id, message_id, message

    def _apply_edit(
        self,
        target: tuple[int, int, dict[str, Any]],
        changes: dict[str, Any],
        markup: dict[str, Any] | None,
    ) -> dict[str, Any]:
        chat_id, message_id, old = target
        unchanged = all(old.get(k) == v for k, v in changes.items())
        if self.strict and unchanged and old.get("reply_markup") == markup:
            raise _bad(
                "message is not modified: specified new message content and reply markup "
                "are exactly the same as a content and reply markup of the current message"
            )
        # Omitting reply_markup on an edit removes the inline keyboard, as on Telegram.
        new = {k: v for k, v in old.items() if k != "reply_markup"}
        new.update(changes)
        if markup is not None:
            new["reply_markup"] = markup
        new["edit_date"] = int(time.time())
        self._messages[(chat_id, message_id)] = new
        return new

    def _edit_message_text(self, req: _Request) -> dict[str, Any] | bool:
        params = req.params
        text = self._text(params.get("text"), params.get("parse_mode"), limit=4096, what="text")
        markup = self._inline_markup(params)
        target = self._edit_target(params)
        if target is None:
            return True
        if self.strict and "text" not in target[2]:
            raise _bad("there is no text in the message to edit")
        return self._apply_edit(target, {"text": text}, markup)

    def _edit_message_caption(self, req: _Request) -> dict[str, Any] | bool:
        params = req.params
        caption = self._text(
            params.get("caption"), params.get("parse_mode"), limit=1024, what="caption"
        )
        markup = self._inline_markup(params)
        target = self._edit_target(params)
        if target is None:
            return True
        if self.strict and "text" in target[2]:
            raise _bad("there is no caption in the message to edit")
        return self._apply_edit(target, {"caption": caption}, markup)

    def _edit_message_reply_markup(self, req: _Request) -> dict[str, Any] | bool:
        markup = self._inline_markup(req.params)
        target = self._edit_target(req.params)
        if target is None:
            return True
        return self._apply_edit(target, {}, markup)

    def _delete_message(self, req: _Request) -> bool:
        # Spec: chat_id (Integer or String) and message_id (Integer), both required; "a
        # message can only be deleted if it was sent less than 48 hours ago".
        chat_id = self._chat_id(req.params)
        message_id = req.params.get("message_id")
        if isinstance(message_id, bool) or not isinstance(message_id, int):
            raise _bad("message identifier is not specified")
        key = (chat_id, message_id)
        if key not in self._messages:
            if self.strict:
                raise _bad("message to delete not found")
            return True
        sent = self._sent_at.get(key)
        if sent is not None and self._clock() - sent >= _DELETE_WINDOW:
            raise _bad("message can't be deleted for everyone")
        del self._messages[key]
        self._sent_at.pop(key, None)
        return True

    def _answer_callback_query(self, req: _Request) -> bool:
        if not req.params.get("callback_query_id"):
            raise _bad("query is too old and response timeout expired or query ID is invalid")
        if self.strict and len(str(req.params.get("text") or "")) > 200:
            raise _bad("MESSAGE_TOO_LONG")
        return True

    def _send_chat_action(self, req: _Request) -> bool:
        self._chat_id(req.params)
        if self.strict and req.params.get("action") not in _CHAT_ACTIONS:
            raise _bad("wrong parameter action in request")
        return True

    # ------------------------------------------------------------------ files & media

    def _store(
        self,
        data: bytes,
        *,
        folder: str,
        file_name: str | None = None,
        file_path: str | None = None,
        mime_type: str | None = None,
    ) -> _StoredFile:
        self._file_seq += 1
        n = self._file_seq
        ext = ""
        if file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        elif folder == "photos":
            ext = ".jpg"
        if mime_type is None and file_name:
            mime_type = mimetypes.guess_type(file_name)[0]
        stored = _StoredFile(
            file_id=f"FAKE-{folder}-{n:06d}",
            file_unique_id=f"uniq{n:06d}",
            data=data,
            file_path=file_path or f"{folder}/file_{n}{ext}",
            file_name=file_name,
            mime_type=mime_type,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    def add_file(self, data: bytes, *, file_path: str | None = None) -> dict[str, Any]:
        """Register bytes; returns {file_id, file_unique_id, file_size} for use in updates."""
        return self._store(data, folder="documents", file_path=file_path).ref()

    def file_bytes(self, file_id: str) -> bytes:
        return self._files[file_id].data

    def add_document(
        self, data: bytes, file_name: str = "dokumen.pdf", mime_type: str | None = None
    ) -> dict[str, Any]:
        """Register bytes and return a Document dict (for ``message(document=...)``)."""
        stored = self._store(data, folder="documents", file_name=file_name, mime_type=mime_type)
        return self._document(stored)

    @staticmethod
    def _document(stored: _StoredFile) -> dict[str, Any]:
        doc = stored.ref()
        if stored.file_name:
            doc["file_name"] = stored.file_name
        doc["mime_type"] = stored.mime_type or "application/octet-stream"
        return doc

    def photo_sizes(
        self, data: bytes, width: int = 1280, height: int = 960
    ) -> list[dict[str, Any]]:
        """A Telegram-like PhotoSize list (small to large), all backed by ``data``."""
        longest = max(width, height, 1)
        dims = [
            (max(1, round(width * side / longest)), max(1, round(height * side / longest)))
            for side in (90, 320, 800)
            if side < longest
        ]
        dims.append((width, height))
        sizes = []
        for w, h in dims:
            stored = self._store(data, folder="photos")
            sizes.append({**stored.ref(), "width": w, "height": h})
        for size in sizes:
            self._photo_groups[size["file_id"]] = sizes
        return sizes

    def _resolve_input(self, ref: Any, req: _Request, *, folder: str) -> tuple[_StoredFile, bool]:
        """Return the stored file for an InputFile value and whether it is a new upload."""
        if not isinstance(ref, str) or not ref:
            raise _bad("there is no file in the request")
        if ref.startswith("attach://"):
            name = ref.removeprefix("attach://")
            if name not in req.files:
                raise _bad(f"file of type attach://{name} not found in the request")
            file_name = req.filenames.get(name) or name
            return self._store(req.files[name], folder=folder, file_name=file_name), True
        if ref.startswith(("http://", "https://")):
            return self._store(b"", folder=folder, file_name=ref.rsplit("/", 1)[-1]), True
        stored = self._files.get(ref)
        if stored is None:
            if self.strict:
                raise _bad("wrong file identifier/HTTP URL specified")
            stored = _StoredFile(ref, f"uniq-{ref}", b"", f"{folder}/{ref}")
            self._files[ref] = stored
        return stored, False

    def _media_content(self, kind: str, ref: Any, req: _Request) -> dict[str, Any]:
        folder = {"photo": "photos", "voice": "voice"}.get(kind, f"{kind}s")
        stored, uploaded = self._resolve_input(ref, req, folder=folder)
        if kind == "photo":
            group = None if uploaded else self._photo_groups.get(stored.file_id)
            if group is None:
                # Uploads get fresh file_ids, so callers can cache photo[-1].file_id.
                width, height = _image_size(stored.data)
                group = self.photo_sizes(stored.data, width, height)
            return {"photo": group}
        if kind == "document":
            return {"document": self._document(stored)}
        if kind == "video":
            return {"video": {**stored.ref(), "width": 640, "height": 360, "duration": 1}}
        if kind == "audio":
            return {"audio": {**stored.ref(), "duration": 1}}
        if kind == "voice":
            return {"voice": {**stored.ref(), "duration": 1, "mime_type": "audio/ogg"}}
        raise _bad(f"unsupported media type {kind!r}")

    def _caption(self, source: dict[str, Any]) -> dict[str, Any]:
        if source.get("caption") is None:
            return {}
        caption = self._text(
            source.get("caption"), source.get("parse_mode"), limit=1024, what="caption"
        )
        return {"caption": caption}

    def _send_media(self, req: _Request, kind: str) -> dict[str, Any]:
        params = req.params
        chat_id = self._chat_id(params)
        content = {**self._media_content(kind, params.get(kind), req), **self._caption(params)}
        return self._new_message(chat_id, {**content, **self._extras(chat_id, params)})

    def _send_media_group(self, req: _Request) -> list[dict[str, Any]]:
        params = req.params
        chat_id = self._chat_id(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise _bad("media must contain between 2 and 10 items")
        contents = []
        for item in media:
            kind = item.get("type") if isinstance(item, dict) else None
            if kind not in ("photo", "video", "audio", "document"):
                raise _bad("can't parse InputMedia: media type is invalid")
            contents.append(
                {**self._media_content(kind, item.get("media"), req), **self._caption(item)}
            )
        self._misc_seq += 1
        group_id = str(13_000_000_000_000_000 + self._misc_seq)
        reply = self._reply_to(chat_id, params)
        messages = []
        for content in contents:
            extra: dict[str, Any] = {"media_group_id": group_id}
            if reply is not None:
                extra["reply_to_message"] = reply
            messages.append(self._new_message(chat_id, {**content, **extra}))
        return messages

    def _get_file(self, req: _Request) -> dict[str, Any]:
        stored = self._files.get(str(req.params.get("file_id") or ""))
        if stored is None:
            raise _bad("invalid file_id")
        if self.strict and len(stored.data) > _MAX_DOWNLOAD:
            raise _bad("file is too big")
        return {**stored.ref(), "file_path": stored.file_path}

    # ------------------------------------------------------------------ update builders

    def user(
        self,
        user_id: int,
        *,
        first_name: str = "Budi",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "id",
    ) -> dict[str, Any]:
        # Telegram's own limits (core.telegram.org, account.updateProfile / updateUsername):
        # the longest a real update can carry, so tests cannot feed what never arrives.
        if not 1 <= len(first_name) <= 64 or len(last_name or "") > 64:
            raise ValueError("first_name is 1-64 characters, last_name 0-64")
        if username is not None and not 5 <= len(username) <= 32:
            raise ValueError("username is 5-32 characters")
        user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
        if last_name:
            user["last_name"] = last_name
        if username:
            user["username"] = username
        if language_code:
            user["language_code"] = language_code
        return user

    def _register_chat(
        self,
        user: dict[str, Any],
        chat_id: int | None,
        chat_type: str,
    ) -> dict[str, Any]:
        if chat_type == "private":
            chat: dict[str, Any] = {"id": chat_id or user["id"], "type": "private"}
            chat.update({k: user[k] for k in ("first_name", "last_name", "username") if k in user})
        else:
            if chat_id is None:
                uid = abs(user["id"])
                chat_id = -uid if chat_type == "group" else -(10**12 + uid)
            chat = {"id": chat_id, "type": chat_type, "title": f"Grup {abs(chat_id)}"}
        self._chats[int(chat["id"])] = chat
        return dict(chat)

    @staticmethod
    def _command_entities(text: str) -> list[dict[str, Any]]:
        if not text.startswith("/"):
            return []
        command = text.split(maxsplit=1)[0]
        return [{"type": "bot_command", "offset": 0, "length": _utf16_len(command)}]

    def message(
        self,
        user_id: int,
        text: str | None = None,
        *,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Budi",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "id",
        photo: list[dict[str, Any]] | bytes | None = None,
        document: dict[str, Any] | bytes | None = None,
        contact: dict[str, Any] | None = None,
        sticker: bool = False,
        voice: bool | bytes = False,
        location: tuple[float, float] | dict[str, float] | None = None,
        media_group_id: str | None = None,
        caption: str | None = None,
        reply_to_message: dict[str, Any] | int | None = None,
        message_id: int | None = None,
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """A full ``{"update_id", "message"}`` Update from a user (not queued)."""
        user = self.user(
            user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        chat = self._register_chat(user, chat_id, chat_type)
        cid = chat["id"]
        if message_id is None:
            message_id = self._next_message_id(cid)
        else:
            self._message_seq[cid] = max(self._message_seq.get(cid, 0), message_id)
        msg: dict[str, Any] = {
            "message_id": message_id,
            "from": user,
            "chat": chat,
            "date": int(time.time()),
        }
        if text is not None:
            msg["text"] = text
            if entities := self._command_entities(text):
                msg["entities"] = entities
        if photo is not None:
            msg["photo"] = self.photo_sizes(photo) if isinstance(photo, bytes) else photo
        if document is not None:
            msg["document"] = (
                self.add_document(document) if isinstance(document, bytes) else document
            )
        if contact is not None:
            msg["contact"] = contact
        if sticker:
            stored = self._store(b"RIFF\x00\x00\x00\x00WEBP", folder="stickers")
            msg["sticker"] = {
                **stored.ref(),
                "type": "regular",
                "width": 512,
                "height": 512,
                "is_animated": False,
                "is_video": False,
                "emoji": "\U0001f44d",
            }
        if voice is not False:
            data = voice if isinstance(voice, bytes) else b"OggS\x00fake-voice"
            stored = self._store(data, folder="voice", file_name="voice.oga")
            msg["voice"] = {**stored.ref(), "duration": 3, "mime_type": "audio/ogg"}
        if location is not None:
            if isinstance(location, dict):
                msg["location"] = location
            else:
                msg["location"] = {"latitude": location[0], "longitude": location[1]}
        if media_group_id is not None:
            msg["media_group_id"] = media_group_id
        if caption is not None:
            msg["caption"] = caption
            if entities := self._command_entities(caption):
                msg["caption_entities"] = entities
        if reply_to_message is not None:
            if isinstance(reply_to_message, int):
                target = self._messages.get((cid, reply_to_message))
                if target is None:
                    raise ValueError(f"unknown message {reply_to_message} in chat {cid}")
                reply_to_message = target
            msg["reply_to_message"] = {
                k: v for k, v in reply_to_message.items() if k != "reply_to_message"
            }
        self._messages[(cid, message_id)] = msg
        return self.make_update(message=msg, update_id=update_id)

    def callback(
        self,
        user_id: int,
        data: str,
        *,
        message_id: int | None = None,
        chat_id: int | None = None,
        chat_type: str = "private",
        first_name: str = "Budi",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "id",
        update_id: int | None = None,
    ) -> dict[str, Any]:
        """A callback_query Update for a button on a bot message.

        ``message_id=None`` picks the bot's latest message in the chat. The message
        carried is the fake's current copy of it (text, reply_markup) when known.
        """
        user = self.user(
            user_id,
            first_name=first_name,
            last_name=last_name,
            username=username,
            language_code=language_code,
        )
        chat = self._register_chat(user, chat_id, chat_type)
        cid = chat["id"]
        if message_id is None:
            own = [
                mid
                for (c, mid), m in self._messages.items()
                if c == cid and m.get("from", {}).get("id") == self.bot_id
            ]
            if not own:
                raise ValueError(f"bot has no message in chat {cid}; pass message_id")
            message_id = max(own)
        message = self._messages.get((cid, message_id))
        if message is None:
            message = {
                "message_id": message_id,
                "from": self.bot_user,
                "chat": chat,
                "date": int(time.time()),
                "text": "\u2026",
            }
            self._messages[(cid, message_id)] = message
            self._message_seq[cid] = max(self._message_seq.get(cid, 0), message_id)
        self._misc_seq += 1
        query = {
            "id": str(4_000_000_000_000_000_000 + self._misc_seq),
            "from": user,
            "message": message,
            "chat_instance": str(abs(cid) * 1_000_003 % 10**18),
            "data": data,
        }
        return self.make_update(callback_query=query, update_id=update_id)

    @staticmethod
    def contact(
        phone_number: str,
        user_id: int | None = None,
        first_name: str = "Budi",
        last_name: str | None = None,
    ) -> dict[str, Any]:
        """A Contact dict; pass the sender's id as user_id for "share my phone"."""
        contact: dict[str, Any] = {"phone_number": phone_number, "first_name": first_name}
        if last_name:
            contact["last_name"] = last_name
        if user_id is not None:
            contact["user_id"] = user_id
        return contact
