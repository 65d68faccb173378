"""Perceptual hashes of photos: a 64-bit pHash (imagehash), split into four 16-bit bands for
the database's index. Two photos within DISTANCE bits of each other are near-identical (a
copy resized, recompressed or cropped a little); distinct photos differ in ~32 bits."""

from __future__ import annotations

from itertools import combinations

import imagehash
from PIL import Image

DISTANCE = 10  # at most this many differing bits: the same photo
BANDS = 4
BAND_BITS = 16
PROBE_RADIUS = 2  # each band is looked up within this many flipped bits
_MASK = (1 << BAND_BITS) - 1
_SIGN = 1 << 63


def perceptual_hash(img: Image.Image) -> int:
    """The unsigned 64-bit pHash of an image (any mode; read as grayscale)."""
    bits = imagehash.phash(img).hash.flatten()
    value = 0
    for bit in bits:
        value = (value << 1) | int(bit)
    return value


def to_signed(value: int) -> int:
    """For a BIGINT column."""
    return value - (1 << 64) if value & _SIGN else value


def to_unsigned(value: int) -> int:
    return value + (1 << 64) if value < 0 else value


def bands(value: int) -> tuple[int, ...]:
    value = to_unsigned(value)
    return tuple((value >> (BAND_BITS * i)) & _MASK for i in range(BANDS))


def probes(band: int, radius: int = PROBE_RADIUS) -> list[int]:
    """Every band value within `radius` flipped bits of `band`. By the pigeonhole principle
    a hash within BANDS × (radius + 1) − 1 bits shares some band within `radius`; farther
    ones up to DISTANCE are found when their differences are unevenly spread (usual)."""
    found = [band]
    for r in range(1, radius + 1):
        for bits in combinations(range(BAND_BITS), r):
            flipped = band
            for b in bits:
                flipped ^= 1 << b
            found.append(flipped)
    return found


def distance(a: int, b: int) -> int:
    return (to_unsigned(a) ^ to_unsigned(b)).bit_count()
