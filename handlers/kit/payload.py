"""Typed button payloads: which flow and step a button belongs to, and the chosen value.

Telegram limits callback data to 64 bytes and WhatsApp reply ids to 256; we keep to 64.
A payload names its step, so a button pressed after its step has passed is recognised as old.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_BYTES = 64
_SEP = "|"


@dataclass(frozen=True, slots=True)
class Payload:
    flow: str
    step: str
    value: str = ""

    def pack(self) -> str:
        for part in (self.flow, self.step):
            if _SEP in part:
                raise ValueError(f"{_SEP!r} is not allowed in a flow or step name: {part!r}")
        packed = _SEP.join((self.flow, self.step, self.value))
        if len(packed.encode()) > MAX_BYTES:
            raise ValueError(f"button payload over {MAX_BYTES} bytes: {packed!r}")
        return packed

    @classmethod
    def unpack(cls, raw: str) -> Payload | None:
        """None for anything we did not make (forged or garbled button data)."""
        parts = raw.split(_SEP, 2)
        if len(parts) != 3 or not parts[0] or not parts[1]:
            return None
        return cls(*parts)
