"""The unit vocabulary: what a price is per, stored as a code and shown translated.

The product form offers these; a typed word is read through the aliases (Indonesian and
English), so "bungkus" and "pack" are one unit. A word that is no unit of ours is kept as
typed and shown as typed.
"""

from __future__ import annotations

from handlers.i18n import N_

UNIT_LABELS = {
    "pcs": N_("piece"),
    "pack": N_("pack"),
    "kg": N_("kg"),
    "gram": N_("gram"),
    "ton": N_("tonne"),
    "liter": N_("litre"),
    "ml": N_("ml"),
    "set": N_("set"),
    "box": N_("box"),
    "botol": N_("bottle"),
    "lusin": N_("dozen"),
    "pasang": N_("pair"),
    "meter": N_("metre"),
    "lembar": N_("sheet"),
    "karung": N_("sack"),
}
# Offered as buttons in the product form, in this order.
FORM_UNITS = ("pcs", "pack", "kg", "liter", "set", "box", "botol", "lusin")
UNIT_ALIASES: dict[str, tuple[str, ...]] = {
    "pcs": ("pc", "piece", "pieces", "buah", "biji", "unit", "item", "potong"),
    "pack": ("bungkus", "pak", "packs", "sachet", "kemasan", "pouch"),
    "kg": ("kilo", "kilogram", "kgs"),
    "gram": ("g", "gr", "grams"),
    "ton": ("tonne", "tons"),
    "liter": ("l", "litre", "liters", "litres", "ltr"),
    "ml": ("mililiter", "millilitre"),
    "set": ("sets", "paket"),
    "box": ("kotak", "dus", "kardus", "boxes", "karton"),
    "botol": ("bottle", "bottles", "btl"),
    "lusin": ("dozen", "dz", "lsn"),
    "pasang": ("pair", "pairs", "psg"),
    "meter": ("m", "metre", "meters", "metres"),
    "lembar": ("sheet", "sheets", "helai"),
    "karung": ("sack", "sacks", "sak"),
}
_BY_WORD = {
    word: code
    for code, aliases in UNIT_ALIASES.items()
    for word in (code, *aliases, UNIT_LABELS[code])
}


def unit_code(word: str) -> str | None:
    """The vocabulary's code for a typed unit, or None when it is no unit of ours."""
    return _BY_WORD.get(word.strip().lower().rstrip("."))
