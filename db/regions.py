"""The 38 regencies (kabupaten) and cities (kota) of East Java, and a forgiving name search."""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Literal, cast

__all__ = ["Region", "all_regions", "get_region", "search_regions"]

Kind = Literal["kabupaten", "kota"]

_KIND_LABELS: dict[str, str] = {"kabupaten": "Kabupaten", "kota": "Kota"}
_KIND_ORDER: dict[str, int] = {"kabupaten": 0, "kota": 1}


@dataclass(frozen=True)
class Region:
    code: str  # BPS code, e.g. "35.07"
    kind: Kind
    name: str  # without the kind, e.g. "Malang"

    @property
    def label(self) -> str:
        """Display name: "Kabupaten Malang" / "Kota Malang"."""
        return f"{_KIND_LABELS[self.kind]} {self.name}"


@cache
def all_regions() -> tuple[Region, ...]:
    """All regions in code order, read once from the packaged CSV."""
    text = resources.files("db").joinpath("data/jatim_regions.csv").read_text(encoding="utf-8")
    regions: list[Region] = []
    for row in csv.DictReader(io.StringIO(text)):
        kind = row["kind"].strip()
        if kind not in _KIND_LABELS:
            raise ValueError(f"unknown region kind {kind!r} for {row['code']}")
        regions.append(
            Region(code=row["code"].strip(), kind=cast(Kind, kind), name=row["name"].strip())
        )
    return tuple(sorted(regions, key=lambda r: r.code))


@cache
def _by_code() -> dict[str, Region]:
    return {r.code: r for r in all_regions()}


_CODE_RE = re.compile(r"\s*(35)\s*[.\-]?\s*([0-9]{2})\s*")


def get_region(code: str) -> Region | None:
    """Region by BPS code ("35.07"; "3507" is accepted too), or None."""
    m = _CODE_RE.fullmatch(code) if len(code) <= 16 else None
    if m is None:
        return None
    return _by_code().get(f"{m.group(1)}.{m.group(2)}")


# Kind words at the start ("kab. malang", "kota batu", "regency of malang") or the end
# ("malang regency", "batu city") of a query.
_KIND_PREFIXES: dict[str, Kind] = {
    "kab": "kabupaten",
    "kabupaten": "kabupaten",
    "regency": "kabupaten",
    "kota": "kota",
    "kot": "kota",
    "kotamadya": "kota",
    "kodya": "kota",
    "city": "kota",
}
_KIND_SUFFIXES: dict[str, Kind] = {"regency": "kabupaten", "city": "kota"}
# Trailing province words people add out of habit ("malang jatim", "surabaya, jawa timur").
_PROVINCE_SUFFIXES = (("jatim",), ("jawa", "timur"), ("east", "java"), ("indonesia",))

# Common abbreviations and local names, mapped to the normalised region name. Keep this short
# and unambiguous; typos are handled by the difflib fallback instead.
_ALIASES: dict[str, str] = {
    "sby": "surabaya",
    "suroboyo": "surabaya",
    "sda": "sidoarjo",
    "mlg": "malang",
    "ngalam": "malang",  # walikan (reversed) slang for Malang
    "bwi": "banyuwangi",
    "jbr": "jember",
    "kdr": "kediri",
    "mjk": "mojokerto",
    "bjn": "bojonegoro",
    "lmg": "lamongan",
}

_MAX_QUERY_LEN = 200
_MIN_PARTIAL = 3  # shortest fragment allowed to match by prefix/substring
_TYPO_CUTOFF = 0.75


def _normalise(text: str) -> list[str]:
    """Lowercase ASCII words: accents folded, punctuation and emoji dropped."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    ascii_text = folded.encode("ascii", "ignore").decode("ascii")
    return re.findall(r"[a-z0-9]+", ascii_text)


def _key(region: Region) -> str:
    return "".join(_normalise(region.name))


def search_regions(query: str) -> list[Region]:
    """Regions matching free text, best first.

    Understands kind prefixes ("kab malang" → only Kabupaten Malang, "kota malang" → only Kota
    Malang), a few abbreviations ("sby"), BPS codes ("35.78"), fragments of at least three
    letters ("banyu") and, when nothing else matches, close typos ("Surbaya"). Exact names rank
    before prefixes before substrings; for equal rank Kabupaten comes before Kota.
    """
    if len(query) > _MAX_QUERY_LEN:
        return []
    by_code = get_region(query)
    if by_code is not None:
        return [by_code]

    words = _normalise(query)
    kind: Kind | None = None
    if words and words[0] in _KIND_PREFIXES:
        kind = _KIND_PREFIXES[words[0]]
        words = words[1:]
        if words and words[0] == "of":  # "regency of malang"
            words = words[1:]
    for suffix in _PROVINCE_SUFFIXES:
        if len(words) > len(suffix) and tuple(words[-len(suffix) :]) == suffix:
            words = words[: -len(suffix)]
            break
    if kind is None and len(words) > 1 and words[-1] in _KIND_SUFFIXES:
        kind = _KIND_SUFFIXES[words[-1]]
        words = words[:-1]

    # Every East Java region name is a single word, so "tulung agung" may be glued together.
    name = "".join(words)
    if not name:
        return []
    name = _ALIASES.get(name, name)

    candidates = [r for r in all_regions() if kind is None or r.kind == kind]
    ranked: list[tuple[int, int, str, Region]] = []
    for region in candidates:
        key = _key(region)
        if key == name:
            rank = 0
        elif len(name) >= _MIN_PARTIAL and key.startswith(name):
            rank = 1
        elif len(name) >= _MIN_PARTIAL and name in key:
            rank = 2
        else:
            continue
        ranked.append((rank, _KIND_ORDER[region.kind], region.code, region))
    if ranked:
        return [region for *_, region in sorted(ranked)]

    if len(name) < _MIN_PARTIAL:
        return []
    keys = sorted({_key(r) for r in candidates})
    close = difflib.get_close_matches(name, keys, n=3, cutoff=_TYPO_CUTOFF)
    # get_close_matches returns best first; keep that order, Kabupaten before Kota per name.
    return [
        region
        for match in close
        for region in sorted(candidates, key=lambda r: (_KIND_ORDER[r.kind], r.code))
        if _key(region) == match
    ]


@dataclass(frozen=True)
class Tile:
    """A regency's place on the tile map of East Java (db/data/jatim_tiles.csv): one tile
    per regency or city, laid out roughly as the map (row 0 is the north coast and Madura)."""

    region: Region
    row: int
    col: int
    short: str  # the name without its kind, to fit a tile ("Probolinggo")


@cache
def tile_layout() -> tuple[Tile, ...]:
    text = resources.files("db").joinpath("data/jatim_tiles.csv").read_text(encoding="utf-8")
    tiles = []
    for row in csv.DictReader(io.StringIO(text)):
        region = get_region(row["code"])
        if region is None:
            raise ValueError(f"tile for an unknown region {row['code']!r}")
        tiles.append(Tile(region, int(row["row"]), int(row["col"]), row["short"].strip()))
    return tuple(tiles)
