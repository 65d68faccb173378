"""Typed button payloads (handlers/kit/payload.py's `ButtonData`): one class per kind of
button, packed and read back with typed fields, forged data refused, the 64-byte limit
checked when the button is built."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from handlers.features.buttons import ProductButton
from handlers.kit.forms.inputs import Suggestion
from handlers.kit.forms.photos import RemovePhoto
from handlers.kit.payload import ButtonData, Payload, ValueData

HANDLERS = Path(__file__).resolve().parents[2] / "handlers"


@dataclass(frozen=True)
class Toy(ButtonData, flow="toy_test", steps=("pick", "drop")):
    step: str
    item_id: int
    name: str
    sure: bool


def test_a_button_packs_and_reads_back_its_typed_fields() -> None:
    toy = Toy("pick", 42, "batik", True)
    raw = toy.pack()
    assert raw == "toy_test|pick|42.batik.1"
    assert Toy.read(Payload.unpack(raw) or Payload("", "")) == toy
    assert toy.button("Ambil").payload == raw


@pytest.mark.parametrize(
    "value",
    ["x.batik.1", "42.batik", "42.batik.1.9", "-1.batik.1", "42.batik.yes", "٤٢.batik.1", ""],
)
def test_forged_or_garbled_values_are_not_read(value: str) -> None:
    assert Toy.read(Payload("toy_test", "pick", value)) is None


def test_another_kind_or_an_unknown_step_is_not_read() -> None:
    assert Toy.read(Payload("plist", "pick", "42.batik.1")) is None
    assert Toy.read(Payload("toy_test", "eat", "42.batik.1")) is None
    assert ProductButton.read(Payload("plist", "open", "7")) == ProductButton("open", 7)


def test_the_64_byte_limit_and_the_separators_are_checked_when_built() -> None:
    with pytest.raises(ValueError, match="64 bytes"):
        Toy("pick", 1, "x" * 60, False).pack()
    with pytest.raises(ValueError, match="separator"):
        Toy("pick", 1, "a.b", False).pack()
    with pytest.raises(ValueError, match="unknown step"):
        Toy("eat", 1, "a", False).pack()


def test_a_flow_is_declared_by_one_class_only() -> None:
    with pytest.raises(ValueError, match="declared twice"):

        @dataclass(frozen=True)
        class Again(ButtonData, flow="toy_test", steps=("pick",)):
            step: str


def test_the_product_list_prefix_is_spelt_once() -> None:
    spelt = [
        str(p.relative_to(HANDLERS))
        for p in HANDLERS.rglob("*.py")
        if re.search(r"[\"']plist[\"']", p.read_text())
    ]
    assert spelt == ["features/buttons.py"]


@dataclass(frozen=True)
class Pair(ValueData, tag="x:"):
    facet: str
    code: str


def test_a_value_inside_a_form_field_packs_with_its_tag_and_reads_back() -> None:
    assert Pair("region", "35.07").pack() == "x:region:35.07"
    assert Pair.read("x:region:35.07") == Pair("region", "35.07")
    assert Pair.read("region:35.07") is None and Pair.read("x:region") is None
    assert Pair.read(None) is None
    assert RemovePhoto.read("rm:12") == RemovePhoto(12) and RemovePhoto.read("rm:1x") is None
    assert Suggestion(3).pack() == "s3" and Suggestion.read("s٣") is None


def test_no_payload_is_decoded_by_hand_in_handlers() -> None:
    """partition() or isdigit() on a payload's value: the typed classes read them."""
    hand = re.compile(r"(payload\.value|pressed|choice)\.(partition|split|isdigit|startswith)\(")
    found = [
        f"{p.relative_to(HANDLERS)}:{n}"
        for p in HANDLERS.rglob("*.py")
        for n, line in enumerate(p.read_text().splitlines(), 1)
        if hand.search(line)
    ]
    assert found == []
