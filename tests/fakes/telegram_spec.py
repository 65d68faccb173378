"""Check Bot API calls against Telegram's published specification (an oracle we did not write).

``tests/data/telegram/telegram-bot-api-10.1.json`` (MIT, see the README there) lists every method
with its fields, whether each is required and its types, and every type (``InlineKeyboardMarkup``,
``BotCommand`` ...) the same way. Length limits are written in the descriptions ("1-4096
characters", "1-64 bytes"); they are parsed from there. ``BotApiSpec.check`` raises ``SpecError``
(whose message reads like Telegram's "Bad Request: ..." detail) when a call breaks any of:

- the method exists (names are case-insensitive, as on Telegram);
- every parameter sent is a field of the method, every required field is present;
- each value has one of the declared types: Integer, Float, Boolean, String, InputFile, arrays
  ("Array of Array of InlineKeyboardButton") and objects, checked field by field the same way
  (unknown and missing required fields included); an abstract type such as ``BotCommandScope``
  or ``InputMedia`` accepts any of its subtypes;
- strings keep their "a-b characters" / "a-b bytes" limits; "after entities parsing" counts the
  text left once the parse_mode markup is taken out (``plain_text``), in UTF-16 code units.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPEC_PATH = (
    Path(__file__).resolve().parent.parent / "data" / "telegram" / "telegram-bot-api-10.1.json"
)

_LIMIT_RE = re.compile(r"(\d+)-(\d+) (characters|bytes)")
_MUST_BE_RE = re.compile(r"(?:must be|always) (?:“|\")?([a-z_]+)")
_SCALARS = frozenset(["Integer", "Float", "Boolean", "String", "InputFile", "True"])

# Parameters that aiogram sends on its own although the 10.1 JSON does not list them.
# None so far; any entry needs a comment saying which aiogram code sends it and why it is harmless.
LIBRARY_EXTRAS: Mapping[str, frozenset[str]] = {}


class SpecError(Exception):
    """A call that breaks the Bot API specification; str() is the Bad Request detail."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        # How deep into the value the problem lies: of a union's failed alternatives the
        # deepest one is the type the caller meant (an InlineKeyboardMarkup with a bad button).
        self.depth = path.count(".") + path.count("[")


@dataclass(frozen=True)
class _Field:
    name: str
    types: tuple[str, ...]
    required: bool
    description: str
    limit: tuple[int, int, str] | None  # (min, max, "characters" | "bytes")
    after_entities: bool


def _fields(raw: list[dict[str, Any]]) -> dict[str, _Field]:
    out = {}
    for item in raw:
        description = str(item.get("description", ""))
        limit = None
        if "String" in item["types"] and (match := _LIMIT_RE.search(description)):
            limit = (int(match.group(1)), int(match.group(2)), match.group(3))
        out[item["name"]] = _Field(
            name=item["name"],
            types=tuple(item["types"]),
            required=bool(item.get("required")),
            description=description,
            limit=limit,
            after_entities="after entities parsing" in description,
        )
    return out


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


class BotApiSpec:
    """The Bot API methods and types, loaded from the published JSON."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.version = str(data.get("version", ""))
        self.methods: dict[str, tuple[str, dict[str, _Field]]] = {
            name.lower(): (name, _fields(method.get("fields", [])))
            for name, method in data["methods"].items()
        }
        self.types: dict[str, dict[str, _Field]] = {}
        self.subtypes: dict[str, tuple[str, ...]] = {}
        for name, kind in data["types"].items():
            self.types[name] = _fields(kind.get("fields", []))
            if kind.get("subtypes"):
                self.subtypes[name] = tuple(kind["subtypes"])

    @classmethod
    def load(cls, path: Path = SPEC_PATH) -> BotApiSpec:
        return cls(json.loads(path.read_text(encoding="utf-8")))

    def check(
        self,
        method: str,
        params: Mapping[str, Any],
        *,
        files: Mapping[str, bytes],
        form_keys: frozenset[str] = frozenset(),
        plain_text: Callable[[str, Any], str] = lambda text, _mode: text,
    ) -> None:
        """Raise SpecError unless ``method(params)`` is a call the spec allows.

        ``form_keys`` are the parameters that arrived as form or query strings: their values
        were JSON-decoded by guess, so a String field may hold a number there (Telegram reads
        "123" as the string it was). ``plain_text(text, parse_mode)`` strips markup.
        """
        found = self.methods.get(method.lower())
        if found is None:
            raise SpecError(f"method {method!r} is not in {self.version}")
        name, fields = found
        extras = LIBRARY_EXTRAS.get(name, frozenset())
        checker = _Checker(self, files, plain_text)
        for key, value in params.items():
            if key in extras:
                continue
            if key not in fields:
                raise SpecError(f"unknown parameter {key!r} for method {name}")
            checker.value(value, fields[key], params, key, loose=key in form_keys)
        for field in fields.values():
            if field.required and params.get(field.name) in (None, ""):
                raise SpecError(f"required parameter {field.name!r} of {name} is missing")


class _Checker:
    def __init__(
        self,
        spec: BotApiSpec,
        files: Mapping[str, bytes],
        plain_text: Callable[[str, Any], str],
    ) -> None:
        self.spec = spec
        self.files = files
        self.plain_text = plain_text

    def value(
        self,
        value: Any,
        field: _Field,
        siblings: Mapping[str, Any],
        path: str,
        *,
        loose: bool = False,
    ) -> None:
        errors = []
        for kind in field.types:
            try:
                self.typed(value, kind, path, loose=loose)
            except SpecError as err:
                errors.append(err)
            else:
                break
        else:
            deepest = max(errors, key=lambda e: e.depth)
            if len(errors) == 1 or deepest.depth > sum(e.depth for e in errors) / len(errors):
                raise deepest
            wanted = " or ".join(field.types)
            raise SpecError(f"{path} must be {wanted}, got {type(value).__name__}", path)
        if field.limit is not None and isinstance(value, str):
            self.limit(value, field, siblings, path)

    def limit(self, value: str, field: _Field, siblings: Mapping[str, Any], path: str) -> None:
        assert field.limit is not None
        low, high, unit = field.limit
        if unit == "bytes":
            size = len(value.encode())
        else:
            if field.after_entities:
                mode_key = "quote_parse_mode" if field.name == "quote" else "parse_mode"
                value = self.plain_text(value, siblings.get(mode_key))
            size = _utf16_len(value)
        if not low <= size <= high:
            raise SpecError(f"{path} must be {low}-{high} {unit}, got {size}", path)

    def typed(self, value: Any, kind: str, path: str, *, loose: bool) -> None:
        if kind.startswith("Array of "):
            if not isinstance(value, list):
                raise SpecError(f"{path} expected {kind}, got {type(value).__name__}", path)
            inner = kind.removeprefix("Array of ")
            for i, item in enumerate(value):
                self.typed(item, inner, f"{path}[{i}]", loose=False)
            return
        if kind in _SCALARS:
            if not self.scalar(value, kind, loose=loose):
                got = f"{type(value).__name__} {value!r:.40}"
                raise SpecError(f"{path} expected {kind}, got {got}", path)
            return
        self.object(value, kind, path)

    def scalar(self, value: Any, kind: str, *, loose: bool) -> bool:
        if kind == "Integer":
            return isinstance(value, int) and not isinstance(value, bool)
        if kind == "Float":
            return isinstance(value, int | float) and not isinstance(value, bool)
        if kind == "Boolean":
            return isinstance(value, bool)
        if kind == "True":
            return value is True
        if kind == "String":
            # A form value that looked like a number was decoded as one; it was a string.
            return isinstance(value, str) or (loose and isinstance(value, int | float | bool))
        # InputFile: a multipart upload, referenced as attach://<name> (file parts sent under
        # the parameter's own name are normalised to that form by the fake).
        return (
            isinstance(value, str)
            and value.startswith("attach://")
            and value.removeprefix("attach://") in self.files
        )

    def object(self, value: Any, kind: str, path: str) -> None:
        subtypes = self.spec.subtypes.get(kind)
        if subtypes:
            self.one_of(value, kind, subtypes, path)
            return
        if not isinstance(value, dict):
            raise SpecError(f"{path} expected {kind}, got {type(value).__name__}", path)
        fields = self.spec.types.get(kind)
        if fields is None:
            raise SpecError(f"{path}: type {kind} is not in {self.spec.version}", path)
        for key, item in value.items():
            if key not in fields:
                raise SpecError(f"{path}: unknown field {key!r} of {kind}", f"{path}.{key}")
            self.value(item, fields[key], value, f"{path}.{key}")
        for field in fields.values():
            if field.required and field.name not in value:
                missing = f"{path}: required field {field.name!r} of {kind} is missing"
                raise SpecError(missing, f"{path}.{field.name}")

    def one_of(self, value: Any, kind: str, subtypes: tuple[str, ...], path: str) -> None:
        # Subtypes are told apart by their "type" field ("Type of the result, must be photo").
        tag = value.get("type") if isinstance(value, dict) else None
        tags = {}
        for sub in subtypes:
            type_field = self.spec.types.get(sub, {}).get("type")
            match = _MUST_BE_RE.search(type_field.description) if type_field else None
            if match:
                tags[match.group(1)] = sub
        if tag is not None and len(tags) == len(subtypes):
            if tag not in tags:
                wanted = ", ".join(sorted(tags))
                raise SpecError(
                    f"{path} is none of {kind}'s types: type {tag!r} is not one of {wanted}", path
                )
            self.object(value, tags[tag], path)
            return
        errors = []
        for sub in subtypes:
            try:
                self.typed(value, sub, path, loose=False)
            except SpecError as err:
                errors.append(err)
            else:
                return
        deepest = max(errors, key=lambda e: e.depth)
        raise SpecError(f"{path} is none of {kind}'s types ({deepest})", path)
