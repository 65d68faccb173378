"""Buttons sent from several rooms, declared once here (a module of declarations, not a
feature: it imports only the kit, so any feature may use it without a cycle).

`ProductButton` opens one of a producer's products in /produk, wherever it is sent from (the
list, the product's card, a curator's verdict, a reminder); handlers/features/product
handles it."""

from __future__ import annotations

from dataclasses import dataclass

from handlers.kit.payload import ButtonData


@dataclass(frozen=True)
class ProductButton(ButtonData, flow="plist", steps=("open", "edit", "copy", "withdraw")):
    """Usable whatever conversation is open; `step` is what to do with the product."""

    step: str
    product_id: int
