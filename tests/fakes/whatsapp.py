"""In-process fake of the WhatsApp Cloud API (Graph API) on 127.0.0.1.

Point pywa's async client at it (``make_client(graph_api_base=fake.base_url)`` in
``bot/channels/whatsapp.py``). It speaks the real endpoints:

- ``POST /v{version}/{phone-number-id}/messages``: send a message, or mark one as read;
- ``POST /v{version}/{phone-number-id}/media``: upload (multipart form);
- ``GET /v{version}/{media-id}``: the media's short-lived download URL;
- ``GET /media/{media-id}``: the download itself (bearer token required, like Meta's CDN).

Every message body is validated against Meta's OpenAPI schema for ``Message`` (copied into
``tests/data/whatsapp/openapi_message_schemas.json``, MIT licence in that folder) and against the
interactive limits Meta enforces but the schema does not spell out (DESIGN.md): at most 3
reply buttons with titles up to 20 characters and unique, a list of at most 10 rows over all
sections (row title 24, description 72, button label 20), interactive body 1024, text 4096. A body
that breaks any of them gets Graph error 100 (invalid parameter) and is recorded as failed, so
every test that talks to the fake checks the limits for free.

Tests make it fail on purpose (``fail_next``: 130429 throughput, 131047 outside the 24-hour window,
131026 undeliverable, 131051 unsupported), and it plays Meta's side of the webhook: it builds the
JSON Meta posts (``text``, ``button_reply``, ``image`` ...) and posts it signed with the app secret.
With ``enforce_window=True`` a free-form message to someone who has not written within 24 hours is
refused with 131047 as Meta does.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import aiohttp
from aiohttp import web
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

DATA = Path(__file__).resolve().parent.parent / "data" / "whatsapp"
SCHEMAS = json.loads((DATA / "openapi_message_schemas.json").read_text(encoding="utf-8"))

TEXT_LIMIT = 4096
BODY_LIMIT = 1024  # body of an interactive message
BUTTONS_MAX = 3
BUTTON_TITLE = 20
LIST_ROWS_MAX = 10
ROW_TITLE = 24
ROW_DESCRIPTION = 72
LIST_BUTTON = 20
WINDOW_SECONDS = 24 * 3600

ERRORS = {
    1: "An unknown error occurred",
    2: "Service temporarily unavailable",
    4: "(#4) Application request limit reached",
    80007: "(#80007) Rate limit issues",
    131000: "(#131000) Something went wrong",
    131056: "(#131056) Too many messages sent from this phone number to the same phone number",
    100: "(#100) Invalid parameter",
    130429: "(#130429) Rate limit hit",
    131047: "(#131047) Re-engagement message",
    131026: "(#131026) Message Undeliverable",
    131051: "(#131051) Unsupported message type",
    190: "Invalid OAuth access token",
}


def _closed_allof(node: Any) -> Any:
    """Meta writes "base properties + these, nothing else" as allOf with additionalProperties
    false in the second branch, which JSON Schema reads as "only these" (no message could pass).
    Its intent is 2020-12's unevaluatedProperties on the whole allOf; say it that way."""
    if isinstance(node, list):
        return [_closed_allof(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _closed_allof(v) for k, v in node.items()}
    branches = node.get("allOf")
    if isinstance(branches, list) and any(
        isinstance(b, dict) and b.get("additionalProperties") is False for b in branches
    ):
        node["allOf"] = [
            {k: v for k, v in b.items() if k != "additionalProperties"} for b in branches
        ]
        node["unevaluatedProperties"] = False
    return node


def _validator() -> Draft202012Validator:
    # OpenAPI 3.1 schemas are JSON Schema 2020-12; refs point at #/components/schemas/...
    components = _closed_allof(SCHEMAS["components"])
    # The spec lists a template language's "policy" as required, but its only value is the
    # default ("deterministic"); Meta's own send-template examples and pywa leave it out.
    language = components["schemas"]["LanguageObject"]
    language["required"] = [r for r in language["required"] if r != "policy"]
    doc = {"components": components}
    registry: Registry[Any] = Registry().with_resource(
        "urn:meta-openapi", Resource.from_contents(doc, default_specification=DRAFT202012)
    )
    return Draft202012Validator(
        {"$ref": "urn:meta-openapi#/components/schemas/Message"}, registry=registry
    )


class GraphError(Exception):
    def __init__(
        self, code: int, details: str, *, status: int | None = None, transient: bool | None = None
    ) -> None:
        super().__init__(f"{code}: {details}")
        self.code = code
        self.details = details
        self.status = status
        self.transient = transient


@dataclass
class Call:
    kind: str  # "message" | "read" | "upload" | "media_url" | "download"
    body: dict[str, Any]
    at: float
    error: GraphError | None = None
    message_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def to(self) -> str | None:
        return self.body.get("to")

    @property
    def type(self) -> str | None:
        return self.body.get("type")

    @property
    def text(self) -> str:
        """What the person reads: the text, the interactive body, the caption or template."""
        body = self.body
        match body.get("type"):
            case "text":
                return str(body["text"]["body"])
            case "interactive":
                return str(body["interactive"].get("body", {}).get("text", ""))
            case "image" | "document":
                return str(body[body["type"]].get("caption", ""))
            case "template":
                return str(body["template"]["name"])
        return ""

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(title, id) of reply buttons or list rows, in order."""
        if body := self.body.get("interactive"):
            action = body.get("action", {})
            if "buttons" in action:
                return [(b["reply"]["title"], b["reply"]["id"]) for b in action["buttons"]]
            return [(r["title"], r["id"]) for s in action.get("sections", []) for r in s["rows"]]
        return []


@dataclass
class _Failure:
    code: int
    times: int
    to: str | None
    status: int | None = None  # the HTTP status to answer with (default: 400, 401 for 190)
    transient: bool | None = None  # the error's is_transient, as Meta sets it on 5xx


@dataclass
class _Media:
    data: bytes
    mime: str
    filename: str | None = None


class FakeWhatsApp:
    def __init__(
        self,
        *,
        phone_number_id: str = "106540352242922",
        display_phone_number: str = "15550783881",
        token: str = "EAAFakeWhatsAppTokenForTests",
        app_secret: str = "fake-app-secret-for-tests",
        waba_id: str = "419561257915477",
        enforce_window: bool = False,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.phone_number_id = phone_number_id
        self.display_phone_number = display_phone_number
        self.token = token
        self.app_secret = app_secret
        self.waba_id = waba_id
        self.enforce_window = enforce_window
        self.clock = clock
        self.calls: list[Call] = []
        self.media: dict[str, _Media] = {}
        self.last_inbound: dict[str, float] = {}  # wa_id -> when they last wrote (clock)
        self._failures: list[_Failure] = []
        self._ids = itertools.count(1)
        self._validator = _validator()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None
        self._changed = asyncio.Event()

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        app = web.Application(client_max_size=100 * 1024 * 1024)
        app.router.add_post("/v{version}/{phone}/messages", self._messages)
        app.router.add_post("/v{version}/{phone}/media", self._upload)
        app.router.add_get("/v{version}/{media_id}", self._media_url)
        app.router.add_get("/media/{media_id}", self._download)
        self._runner = web.AppRunner(app, shutdown_timeout=0.5, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
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

    @property
    def base_url(self) -> str:
        if self._port is None:
            raise RuntimeError("FakeWhatsApp is not started")
        return f"http://127.0.0.1:{self._port}"

    # ------------------------------------------------------------------ test controls

    def fail_next(
        self,
        code: int,
        *,
        times: int = 1,
        to: str | None = None,
        status: int | None = None,
        transient: bool | None = None,
    ) -> None:
        """The next `times` sends (to `to`, or anyone) fail with Graph error `code`, answered
        with HTTP `status` (400 unless given: 500 and `transient=True` for an outage, 429
        for code 4 or 80007); `times=-1` fails every send until `recover()`."""
        self._failures.append(_Failure(code, times, to, status, transient))

    def recover(self) -> None:
        """Every failure still queued by fail_next is dropped: the outage is over."""
        self._failures.clear()

    def messages(self, to: str | None = None, *, include_failed: bool = False) -> list[Call]:
        return [
            c
            for c in self.calls
            if c.kind == "message" and (to is None or c.to == to) and (include_failed or c.ok)
        ]

    def clear(self) -> None:
        self.calls.clear()

    async def wait_for(
        self,
        count: int = 1,
        *,
        to: str | None = None,
        timeout: float = 5.0,  # noqa: ASYNC109 - one deadline for the whole wait
    ) -> list[Call]:
        """Wait until at least `count` messages were accepted (to `to`); return them."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(found := self.messages(to)) < count:
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = "\n".join(f"  {c.kind} {c.to} {c.text!r} {c.error}" for c in self.calls)
                raise AssertionError(
                    f"timed out waiting for {count} message(s) to {to!r}; "
                    f"{len(found)} seen. Calls:\n{seen or '  (none)'}"
                )
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(remaining):
                    await self._changed.wait()
        return found

    # ------------------------------------------------------------------ Graph API

    def _authorized(self, request: web.Request) -> bool:
        return request.headers.get("Authorization", "") == f"Bearer {self.token}"

    def _record(self, call: Call) -> None:
        self.calls.append(call)
        self._changed.set()

    @staticmethod
    def _error(err: GraphError) -> web.Response:
        status = err.status or (401 if err.code == 190 else 400)
        error: dict[str, Any] = {
            "message": ERRORS.get(err.code, "(#100) Error"),
            "type": "OAuthException",
            "code": err.code,
            "error_data": {"messaging_product": "whatsapp", "details": err.details},
            "fbtrace_id": "AFakeTraceId",
        }
        if err.transient is not None:
            error["is_transient"] = err.transient
        return web.json_response({"error": error}, status=status)

    async def _messages(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(GraphError(190, "bad token"))
        if request.match_info["phone"] != self.phone_number_id:
            return self._error(GraphError(100, "unknown phone number id"))
        try:
            body = await request.json()
        except json.JSONDecodeError:
            return self._error(GraphError(100, "body is not JSON"))
        if not isinstance(body, dict):
            return self._error(GraphError(100, "body is not an object"))
        if body.get("status") == "read":
            call = Call(kind="read", body=body, at=self.clock())
            try:
                self._check_read(body)
            except GraphError as err:
                call.error = err
            self._record(call)
            return self._error(call.error) if call.error else web.json_response({"success": True})
        call = Call(kind="message", body=body, at=self.clock())
        try:
            self.check_message(body)
            self._inject(body)
        except GraphError as err:
            call.error = err
            self._record(call)
            return self._error(err)
        call.message_id = f"wamid.fake{next(self._ids):08d}"
        self._record(call)
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": body["to"], "wa_id": body["to"]}],
                "messages": [{"id": call.message_id}],
            }
        )

    @staticmethod
    def _check_read(body: dict[str, Any]) -> None:
        if body.get("messaging_product") != "whatsapp":
            raise GraphError(100, "messaging_product must be whatsapp")
        if not isinstance(body.get("message_id"), str) or not body["message_id"]:
            raise GraphError(100, "message_id is required")

    def check_message(self, body: dict[str, Any]) -> None:
        """Raise GraphError unless `body` is a message Meta would accept."""
        error = best_match(self._validator.iter_errors(body))
        if error is not None:
            # Under Message's oneOf, the branch of the body's own type says what is wrong.
            for sub in error.context or ():
                if sub.validator != "enum" and "type" not in list(sub.absolute_schema_path)[-1:]:
                    error = best_match([sub]) or error
            where = "/".join(str(p) for p in error.absolute_path)
            raise GraphError(100, f"schema: {where}: {error.message[:300]}")
        if body.get("messaging_product") != "whatsapp":
            raise GraphError(100, "messaging_product must be whatsapp")
        kind = body["type"]
        if kind == "text":
            text = body["text"].get("body", "")
            if not text.strip() or len(text) > TEXT_LIMIT:
                raise GraphError(100, f"text body must be 1-{TEXT_LIMIT} characters")
        elif kind == "interactive":
            self._check_interactive(body["interactive"])
        elif kind in ("image", "document") and len(body[kind].get("caption", "")) > BODY_LIMIT:
            raise GraphError(100, f"caption over {BODY_LIMIT} characters")
        if kind in ("image", "document", "audio", "sticker", "video"):
            media_id = body[kind].get("id")
            if media_id is not None and media_id not in self.media:
                raise GraphError(100, f"unknown media id {media_id}")
        if self.enforce_window and kind != "template":
            last = self.last_inbound.get(body["to"])
            if last is None or self.clock() - last > WINDOW_SECONDS:
                raise GraphError(131047, "more than 24 hours since the customer last replied")

    @staticmethod
    def _check_interactive(interactive: dict[str, Any]) -> None:
        body = interactive.get("body", {}).get("text", "")
        if not body.strip() or len(body) > BODY_LIMIT:
            raise GraphError(100, f"interactive body must be 1-{BODY_LIMIT} characters")
        action = interactive["action"]
        if interactive["type"] == "button":
            buttons = action.get("buttons", [])
            if not 1 <= len(buttons) <= BUTTONS_MAX:
                raise GraphError(100, f"reply buttons: 1-{BUTTONS_MAX}, got {len(buttons)}")
            titles = [b["reply"]["title"] for b in buttons]
            ids = [b["reply"]["id"] for b in buttons]
            if any(not t.strip() or len(t) > BUTTON_TITLE for t in titles):
                raise GraphError(100, f"button title must be 1-{BUTTON_TITLE} characters: {titles}")
            if len(set(titles)) != len(titles) or len(set(ids)) != len(ids):
                raise GraphError(100, f"button titles and ids must be unique: {titles}")
        elif interactive["type"] == "list":
            label = action.get("button", "")
            if not label.strip() or len(label) > LIST_BUTTON:
                raise GraphError(100, f"list button label must be 1-{LIST_BUTTON} characters")
            rows = [r for s in action["sections"] for r in s.get("rows", [])]
            if not 1 <= len(rows) <= LIST_ROWS_MAX:
                raise GraphError(100, f"list rows: 1-{LIST_ROWS_MAX} in all, got {len(rows)}")
            for row in rows:
                if not row["title"].strip() or len(row["title"]) > ROW_TITLE:
                    raise GraphError(100, f"row title over {ROW_TITLE}: {row['title']!r}")
                if len(row.get("description", "")) > ROW_DESCRIPTION:
                    raise GraphError(100, f"row description over {ROW_DESCRIPTION}")
            ids = [r["id"] for r in rows]
            if len(set(ids)) != len(ids):
                raise GraphError(100, "row ids must be unique")
            if len(action["sections"]) > 1 and any("title" not in s for s in action["sections"]):
                raise GraphError(100, "several sections need titles")

    def _inject(self, body: dict[str, Any]) -> None:
        for failure in self._failures:
            if failure.to is None or failure.to == body["to"]:
                failure.times -= 1
                if failure.times == 0:
                    self._failures.remove(failure)
                raise GraphError(
                    failure.code,
                    "injected by the test",
                    status=failure.status,
                    transient=failure.transient,
                )

    async def _upload(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(GraphError(190, "bad token"))
        form = await request.post()
        call = Call(kind="upload", body={k: str(v)[:100] for k, v in form.items()}, at=self.clock())
        file = form.get("file")
        if form.get("messaging_product") != "whatsapp" or not isinstance(file, web.FileField):
            call.error = GraphError(100, "multipart needs messaging_product=whatsapp and file")
            self._record(call)
            return self._error(call.error)
        data = file.file.read()
        mime = str(form.get("type") or file.content_type)
        if mime.startswith("image/") and (mime not in ("image/jpeg", "image/png")):
            call.error = GraphError(131053, f"unsupported image type {mime}")
        elif mime.startswith("image/") and len(data) > 5 * 1024 * 1024:
            call.error = GraphError(131053, "images are at most 5 MB")
        if call.error is not None:
            self._record(call)
            return self._error(call.error)
        media_id = self.add_media(data, mime, filename=file.filename)
        call.message_id = media_id
        self._record(call)
        return web.json_response({"id": media_id})

    def add_media(self, data: bytes, mime: str, *, filename: str | None = None) -> str:
        """Hold a file as if a user had sent it; returns its media id."""
        media_id = str(9_000_000_000_000 + next(self._ids))
        self.media[media_id] = _Media(data, mime, filename)
        return media_id

    async def _media_url(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return self._error(GraphError(190, "bad token"))
        media_id = request.match_info["media_id"]
        media = self.media.get(media_id)
        self._record(Call(kind="media_url", body={"id": media_id}, at=self.clock()))
        if media is None:
            return self._error(GraphError(100, f"unknown media id {media_id}"))
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base_url}/media/{media_id}",
                "mime_type": media.mime,
                "sha256": hashlib.sha256(media.data).hexdigest(),
                "file_size": len(media.data),
                "id": media_id,
            }
        )

    async def _download(self, request: web.Request) -> web.Response:
        if not self._authorized(request):
            return web.Response(status=401)
        media = self.media.get(request.match_info["media_id"])
        self._record(
            Call(kind="download", body={"id": request.match_info["media_id"]}, at=self.clock())
        )
        if media is None:
            return web.Response(status=404)
        return web.Response(body=media.data, content_type=media.mime)

    # ------------------------------------------------------------------ webhooks (Meta's side)

    def webhook(self, wa_id: str, message: dict[str, Any], *, name: str = "Tini") -> dict[str, Any]:
        """The JSON Meta posts for one incoming message from `wa_id`."""
        self.last_inbound[wa_id] = self.clock()
        message = {
            "from": wa_id,
            "id": f"wamid.in{next(self._ids):08d}",
            "timestamp": str(int(self.clock())),
            **message,
        }
        return self._envelope(
            {
                "messaging_product": "whatsapp",
                "metadata": self._metadata(),
                "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                "messages": [message],
            }
        )

    def status(self, message_id: str, wa_id: str, status: str, **extra: Any) -> dict[str, Any]:
        """The JSON Meta posts when a sent message is sent / delivered / read / failed."""
        entry: dict[str, Any] = {
            "id": message_id,
            "status": status,
            "timestamp": str(int(self.clock())),
            "recipient_id": wa_id,
            **extra,
        }
        if status == "failed" and "errors" not in extra:
            entry["errors"] = [
                {
                    "code": 131026,
                    "title": "Message undeliverable",
                    "message": "Message undeliverable",
                    "error_data": {"details": "Message Undeliverable."},
                }
            ]
        return self._envelope(
            {"messaging_product": "whatsapp", "metadata": self._metadata(), "statuses": [entry]}
        )

    def _metadata(self) -> dict[str, str]:
        return {
            "display_phone_number": self.display_phone_number,
            "phone_number_id": self.phone_number_id,
        }

    def _envelope(self, value: dict[str, Any]) -> dict[str, Any]:
        return {
            "object": "whatsapp_business_account",
            "entry": [{"id": self.waba_id, "changes": [{"value": value, "field": "messages"}]}],
        }

    @staticmethod
    def text(body: str) -> dict[str, Any]:
        return {"type": "text", "text": {"body": body}}

    @staticmethod
    def button_reply(button_id: str, title: str = "") -> dict[str, Any]:
        return {
            "type": "interactive",
            "interactive": {
                "type": "button_reply",
                "button_reply": {"id": button_id, "title": title or button_id[:20]},
            },
        }

    @staticmethod
    def list_reply(row_id: str, title: str = "") -> dict[str, Any]:
        return {
            "type": "interactive",
            "interactive": {
                "type": "list_reply",
                "list_reply": {"id": row_id, "title": title or row_id[:24]},
            },
        }

    def image(self, data: bytes, *, caption: str | None = None) -> dict[str, Any]:
        media_id = self.add_media(data, "image/jpeg")
        image: dict[str, Any] = {
            "id": media_id,
            "mime_type": "image/jpeg",
            "sha256": hashlib.sha256(data).hexdigest(),
        }
        if caption:
            image["caption"] = caption
        return {"type": "image", "image": image}

    def document(self, data: bytes, *, filename: str, mime: str) -> dict[str, Any]:
        media_id = self.add_media(data, mime, filename=filename)
        return {
            "type": "document",
            "document": {
                "id": media_id,
                "filename": filename,
                "mime_type": mime,
                "sha256": hashlib.sha256(data).hexdigest(),
            },
        }

    def sign(self, body: bytes) -> str:
        digest = hmac.new(self.app_secret.encode(), body, hashlib.sha256).hexdigest()
        return f"sha256={digest}"

    async def post(
        self,
        url: str,
        payload: dict[str, Any] | bytes,
        *,
        signature: str | None = "valid",
    ) -> int:
        """POST a webhook to the bot as Meta does; returns the HTTP status it answered."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        headers = {"Content-Type": "application/json"}
        if signature == "valid":
            headers["X-Hub-Signature-256"] = self.sign(body)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, data=body, headers=headers) as response,
        ):
            return response.status


def recorded(name: str) -> dict[str, Any]:
    """A recorded webhook payload from tests/data/whatsapp/ (Meta's published examples)."""
    return json.loads((DATA / f"webhook_{name}.json").read_text(encoding="utf-8"))
