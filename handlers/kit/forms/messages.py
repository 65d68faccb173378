"""An input kind for a message to pass on as it was sent (an announcement, a poster): text
with its formatting, a photo with its caption, or a document of the allowed types."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from handlers.kit.context import Context
from handlers.kit.events import Document, Event, Photo, Text
from handlers.kit.forms.engine import Field, Form, Got, Input, Outcome, Refuse

PHOTO = "photo"
DOCUMENT = "document"


@dataclass(frozen=True, slots=True)
class Message:
    """What was sent: its text (Telegram HTML when `html`) and its file, if any."""

    text: str | None = None
    html: bool = False
    kind: str | None = None  # PHOTO or DOCUMENT
    file_id: str | None = None  # the channel's id of the file
    file_name: str | None = None


@dataclass
class MessageInput(Input[Any]):
    """A text message (`text`), a photo (`photo`; with `caption_needed`, only with a caption,
    which is then the text) or a document of the `documents` MIME types. Refusals, N_-marked:
    `wrong_type` for another document, `refusal` for anything else."""

    text: bool = True
    photo: bool = True
    caption_needed: str | None = None
    documents: tuple[str, ...] = ()
    wrong_type: str = ""
    refusal: str = ""
    # What else the message must be (a broadcast: valid for every channel it reaches): the
    # reason it is refused, in the reader's language, or None.
    check: Callable[[Context, Message], str | None] | None = None

    async def read(
        self, ctx: Context, form: Form[Any], field: Field[Any], record: Any, event: Event
    ) -> Outcome:
        outcome = self._read(ctx, event)
        if isinstance(outcome, Got) and self.check is not None:
            problem = self.check(ctx, outcome.value)
            if problem is not None:
                return Refuse(problem)
        return outcome

    def _read(self, ctx: Context, event: Event) -> Outcome:
        if isinstance(event, Text) and self.text and event.text.strip():
            return Got(Message(event.html or event.text, html=event.html is not None))
        if isinstance(event, Photo) and self.photo:
            if self.caption_needed and not event.caption:
                return Refuse(ctx.t(self.caption_needed))
            return Got(Message(event.caption, kind=PHOTO, file_id=event.media.file_id))
        if isinstance(event, Document) and self.documents:
            if event.media.mime not in self.documents:
                return Refuse(ctx.t(self.wrong_type))
            media = event.media
            return Got(Message(event.caption, False, DOCUMENT, media.file_id, media.file_name))
        return Refuse(ctx.t(self.refusal))
