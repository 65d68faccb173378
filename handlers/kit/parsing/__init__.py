"""Forgiving, meaning-strict parsers for free-text answers typed in chat.

Everything here is pure and stdlib-only so any channel (Telegram, WhatsApp, tests) can use it.
Every parser returns ``None`` rather than guessing when an answer is ambiguous; the calling flow
then asks again.

Modules: `numbers` (digits, separators, multiplier and number words), `refusals` (why an
amount was refused, and the reply), `quantities`, `money` (prices in rupiah), `identifiers`
(phone numbers, NIB), `dates` (durations, local dates and times), `text` ("no" answers, lists,
cleaned text), `choices` (which option a typed name means).
"""

from __future__ import annotations

from handlers.kit.parsing.choices import SECTOR_ALIASES, Choice, fold, match_choice
from handlers.kit.parsing.dates import parse_duration_days, parse_when
from handlers.kit.parsing.identifiers import parse_nib, parse_phone
from handlers.kit.parsing.money import Price, parse_price, read_price
from handlers.kit.parsing.numbers import parse_number
from handlers.kit.parsing.quantities import COUNTING_UNITS, Quantity, parse_quantity, read_quantity
from handlers.kit.parsing.refusals import MAX_AMOUNT, REFUSAL_TEXT, Reason, Refused, refusal_text
from handlers.kit.parsing.text import clean_text, is_no_answer, split_list

__all__ = [
    "COUNTING_UNITS",
    "MAX_AMOUNT",
    "REFUSAL_TEXT",
    "SECTOR_ALIASES",
    "Choice",
    "Price",
    "Quantity",
    "Reason",
    "Refused",
    "clean_text",
    "fold",
    "is_no_answer",
    "match_choice",
    "parse_duration_days",
    "parse_nib",
    "parse_number",
    "parse_phone",
    "parse_price",
    "parse_quantity",
    "parse_when",
    "read_price",
    "read_quantity",
    "refusal_text",
    "split_list",
]
