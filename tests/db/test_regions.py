from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from db.regions import Region, all_regions, get_region, search_regions


def labels(query: str) -> list[str]:
    return [r.label for r in search_regions(query)]


def test_all_regions_loads_38_east_java_regions() -> None:
    regions = all_regions()
    assert len(regions) == 38
    assert sum(r.kind == "kabupaten" for r in regions) == 29
    assert sum(r.kind == "kota" for r in regions) == 9
    assert len({r.code for r in regions}) == 38
    assert all(r.code.startswith("35.") for r in regions)
    assert all_regions() is regions  # loaded once


def test_region_label_and_immutability() -> None:
    kab = Region(code="35.07", kind="kabupaten", name="Malang")
    assert kab.label == "Kabupaten Malang"
    assert Region(code="35.73", kind="kota", name="Malang").label == "Kota Malang"
    with pytest.raises(AttributeError):
        kab.name = "Batu"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("code", "label"),
    [
        ("35.07", "Kabupaten Malang"),
        ("35.73", "Kota Malang"),
        ("35.78", "Kota Surabaya"),
        ("3578", "Kota Surabaya"),
        (" 35.01 ", "Kabupaten Pacitan"),
        ("35.79", "Kota Batu"),
    ],
)
def test_get_region(code: str, label: str) -> None:
    region = get_region(code)
    assert region is not None
    assert region.label == label


@pytest.mark.parametrize("code", ["", "35", "35.00", "35.30", "35.80", "36.07", "malang", "35.7"])
def test_get_region_unknown(code: str) -> None:
    assert get_region(code) is None


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        # kind prefixes restrict the kind
        ("kab malang", ["Kabupaten Malang"]),
        ("Kab. Malang", ["Kabupaten Malang"]),
        ("KABUPATEN MALANG", ["Kabupaten Malang"]),
        ("kab.malang", ["Kabupaten Malang"]),
        ("kota malang", ["Kota Malang"]),
        ("Kot. Malang", ["Kota Malang"]),
        ("kotamadya malang", ["Kota Malang"]),
        ("malang regency", ["Kabupaten Malang"]),
        ("Malang city", ["Kota Malang"]),
        # bare name: both, Kabupaten first
        ("malang", ["Kabupaten Malang", "Kota Malang"]),
        ("  MALANG!! ", ["Kabupaten Malang", "Kota Malang"]),
        ("Kediri", ["Kabupaten Kediri", "Kota Kediri"]),
        ("batu", ["Kota Batu"]),
        ("Kota Batu", ["Kota Batu"]),
        ("kab batu", []),
        ("kota sidoarjo", []),
        # aliases
        ("sby", ["Kota Surabaya"]),
        ("SBY", ["Kota Surabaya"]),
        ("surabaya", ["Kota Surabaya"]),
        ("Suroboyo", ["Kota Surabaya"]),
        ("sda", ["Kabupaten Sidoarjo"]),
        ("mlg", ["Kabupaten Malang", "Kota Malang"]),
        ("kota mlg", ["Kota Malang"]),
        ("bwi", ["Kabupaten Banyuwangi"]),
        # codes
        ("35.78", ["Kota Surabaya"]),
        ("35.07", ["Kabupaten Malang"]),
        # prefixes and substrings of at least three letters
        ("banyu", ["Kabupaten Banyuwangi"]),
        ("wangi", ["Kabupaten Banyuwangi"]),
        ("pas", ["Kabupaten Pasuruan", "Kota Pasuruan"]),
        ("tulung agung", ["Kabupaten Tulungagung"]),
        ("jo", []),
        ("ma", []),
        # typos fall back to close matches
        ("Banyuwngi", ["Kabupaten Banyuwangi"]),
        ("Surbaya", ["Kota Surabaya"]),
        ("kota surbaya", ["Kota Surabaya"]),
        ("Probolingo", ["Kabupaten Probolinggo", "Kota Probolinggo"]),
        # province words are ignored
        ("Kabupaten Blitar, Jawa Timur", ["Kabupaten Blitar"]),
        ("malang jatim", ["Kabupaten Malang", "Kota Malang"]),
        # nothing
        ("", []),
        ("   ", []),
        ("kab", []),
        ("kota", []),
        ("Jakarta", []),
        ("🙂", []),
    ],
)
def test_search_regions(query: str, expected: list[str]) -> None:
    assert labels(query) == expected


def test_search_regions_ranks_exact_before_prefix_before_substring() -> None:
    # Prefix matches (Banyuwangi, Bangkalan) come before substring matches (Jombang, Tuban),
    # each group in code order.
    assert labels("ban") == [
        "Kabupaten Banyuwangi",
        "Kabupaten Bangkalan",
        "Kabupaten Jombang",
        "Kabupaten Tuban",
    ]
    # Prefix Bondowoso before substring Situbondo; prefix Nganjuk before substring Lamongan.
    assert labels("bon") == ["Kabupaten Bondowoso", "Kabupaten Situbondo"]
    assert labels("ngan") == ["Kabupaten Nganjuk", "Kabupaten Lamongan"]
    # Within one rank, Kabupaten before Kota.
    assert labels("mojo") == ["Kabupaten Mojokerto", "Kota Mojokerto"]


def test_search_regions_exact_outranks_prefix_and_kind(monkeypatch: pytest.MonkeyPatch) -> None:
    # No real East Java name contains another, so use a made-up table to pin the ranking.
    fake = (
        Region(code="99.01", kind="kabupaten", name="Sibatu"),
        Region(code="99.02", kind="kabupaten", name="Batuwangi"),
        Region(code="99.71", kind="kota", name="Batu"),
    )
    monkeypatch.setattr("db.regions.all_regions", lambda: fake)
    assert labels("batu") == ["Kota Batu", "Kabupaten Batuwangi", "Kabupaten Sibatu"]


def test_every_region_is_found_by_its_label_and_name() -> None:
    for region in all_regions():
        assert search_regions(region.label) == [region]
        assert region in search_regions(region.name)
        assert search_regions(region.name)[0].name == region.name
        assert search_regions(region.code) == [region]


@given(st.text())
def test_search_regions_never_raises(query: str) -> None:
    result = search_regions(query)
    assert isinstance(result, list)
    assert all(isinstance(r, Region) for r in result)


@given(st.text(min_size=1, max_size=5), st.integers(min_value=1000, max_value=5000))
def test_search_regions_handles_huge_input(chunk: str, repeat: int) -> None:
    assert isinstance(search_regions((chunk * repeat)[:5000]), list)


@pytest.mark.parametrize(
    "query",
    ["a" * 5000, "malang " * 700, "😀" * 5000, "\x00" * 5000, "35.78" + " " * 5000],
)
def test_search_regions_long_and_odd_strings(query: str) -> None:
    assert isinstance(search_regions(query), list)
