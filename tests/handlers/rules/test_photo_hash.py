"""Perceptual hashes: a copied photo (resized, recompressed, cropped 5 %) stays within the
distance; other photos do not; the banded lookup finds the copy."""

from __future__ import annotations

import io

from PIL import Image

from handlers.rules.photo_hash import DISTANCE, bands, distance, probes, to_signed, to_unsigned
from handlers.rules.photos import inspect_photo
from tests.support import make_photo


def phash(data: bytes) -> int:
    report = inspect_photo(data)
    assert report.ok and report.phash is not None
    return report.phash


def jpeg(img: Image.Image, quality: int = 60) -> bytes:
    out = io.BytesIO()
    img.convert("RGB").save(out, "JPEG", quality=quality)
    return out.getvalue()


def test_copies_stay_near_and_other_photos_far() -> None:
    original = make_photo("good", seed=7)
    img = Image.open(io.BytesIO(original))
    w, h = img.size
    dx, dy = round(w * 0.025), round(h * 0.025)
    copies = [
        jpeg(img.resize((w * 3 // 4, h * 3 // 4))),
        jpeg(img, quality=35),
        jpeg(img.crop((dx, dy, w - dx, h - dy))),
    ]
    base = phash(original)
    for copy in copies:
        assert distance(base, phash(copy)) <= DISTANCE
    for seed in (8, 9, 10):
        assert distance(base, phash(make_photo("good", seed=seed))) > DISTANCE


def test_bands_and_probes() -> None:
    value = 0xF0F0_1234_ABCD_0001
    assert to_unsigned(to_signed(value)) == value and to_signed(value) < 0
    assert bands(to_signed(value)) == (0x0001, 0xABCD, 0x1234, 0xF0F0)
    near = probes(0x1234)
    assert len(near) == 1 + 16 + 120 and 0x1235 in near and len(set(near)) == len(near)
