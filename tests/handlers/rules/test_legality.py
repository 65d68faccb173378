"""Legality numbers read offline: each rule with a number that passes and one that fails,
the curator's line and the producer's hint in both languages."""

from __future__ import annotations

from datetime import date

import pytest

from bot.i18n import translator
from handlers.rules.legality import (
    Context,
    Level,
    curator_line,
    needs_svlk,
    producer_hint,
    read,
    suggested_score,
)

MALANG = "35.07"  # Kabupaten Malang
FOOD = Context("food", MALANG, date(2026, 12, 6))
SPA = Context("spa", MALANG, date(2026, 12, 6))
ID, EN = translator("id"), translator("en")


def codes(kind: str, typed: str, ctx: Context = FOOD) -> list[str]:
    return [f.code for f in read(kind, typed, ctx).findings]


@pytest.mark.parametrize(
    "typed",
    [
        "P-IRT No. 2063507010158-28",
        "pirt 2063507010158 28",
        "SPP-IRT: 2.063.507.010.158-28",
        "206350701015828",
    ],
)
def test_pirt_typed_as_people_type_it_reads_fine(typed: str) -> None:
    reading = read("pirt", typed, FOOD)
    assert reading.level == Level.ok and reading.normalized == "206350701015828"
    assert reading.region_code == MALANG and reading.until == 2028
    assert curator_line(EN, reading) == "✅ P-IRT valid format · Kabupaten Malang · until 2028"
    assert curator_line(ID, reading) == "✅ P-IRT format benar · Kabupaten Malang · s.d. 2028"
    assert producer_hint(EN, reading) is None


def test_pirt_of_another_regency_names_both() -> None:
    reading = read("pirt", "2063515010158-28", FOOD)  # 35.15: Sidoarjo
    assert reading.level == Level.warn and codes("pirt", "2063515010158-28") == ["pirt_region"]
    assert curator_line(EN, reading) == (
        "⚠ P-IRT names Kabupaten Sidoarjo, business is in Kabupaten Malang"
    )
    assert "menyebut Kabupaten Sidoarjo" in curator_line(ID, reading)
    assert "Kabupaten Sidoarjo" in (producer_hint(EN, reading) or "")
    assert "usaha Anda di Kabupaten Malang" in (producer_hint(ID, reading) or "")


def test_pirt_whose_year_has_passed_is_expired() -> None:
    reading = read("pirt", "2063507010158-24", FOOD)
    assert codes("pirt", "2063507010158-24") == ["expired"]
    assert "ended in 2024" in curator_line(EN, reading)
    assert "berakhir 2024" in curator_line(ID, reading)
    assert "Dinas Kesehatan" in (producer_hint(ID, reading) or "")
    assert codes("pirt", "2063507010158-26") == ["format_ok"]  # this year still counts


def test_pirt_of_a_newer_scheme_is_unreadable_never_invalid() -> None:
    for typed in ("2063507010158280", "9063507010158-28", "2993507010158-28"):
        reading = read("pirt", typed, FOOD)
        assert reading.level == Level.unread, typed
        assert "not readable" in curator_line(EN, reading)
        assert "tidak terbaca" in curator_line(ID, reading)


@pytest.mark.parametrize(
    ("typed", "code", "hint_en", "hint_id"),
    [
        ("P-IRT 20635O7010158-28", "letters", "only digits (15", "hanya berisi angka (15"),
        ("1" * 40, "too_long", "much longer", "jauh lebih panjang"),
        ("🍪🍪🍪", "letters", "only digits", "hanya berisi angka"),
        ("123456789012", "pirt_old", "older 12-digit", "P-IRT lama 12 angka"),
        ("20635070101", "digit_count", "I counted 11", "saya menghitung 11"),
        ("x" * 500, "too_long", "much longer", "jauh lebih panjang"),
    ],
)
def test_bad_pirt_gets_a_precise_hint_in_both_languages(
    typed: str, code: str, hint_en: str, hint_id: str
) -> None:
    reading = read("pirt", typed, FOOD)
    assert [f.code for f in reading.findings] == [code]
    assert hint_en in (producer_hint(EN, reading) or "")
    assert hint_id in (producer_hint(ID, reading) or "")
    assert "correct it from the card, or go on" in (producer_hint(EN, reading) or "")


def test_bpom_prefix_must_fit_the_sector() -> None:
    assert codes("bpom", "BPOM RI MD 224511001234") == ["format_ok"]
    assert codes("bpom", "ml224511001234") == ["format_ok"]
    assert codes("bpom", "NA18201200123", SPA) == ["format_ok"]
    cosmetic_for_food = read("bpom", "NA18201200123", FOOD)
    assert [f.code for f in cosmetic_for_food.findings] == ["bpom_sector"]
    assert "prefix NA is a cosmetics registration" in curator_line(EN, cosmetic_for_food)
    assert "registrasi kosmetik" in curator_line(ID, cosmetic_for_food)
    food_for_spa = read("bpom", "MD 224511001234", SPA)
    assert "produk pangan" in (producer_hint(ID, food_for_spa) or "")
    assert codes("bpom", "MD 22451100123") == ["digit_count"]  # 11 digits
    assert codes("bpom", "NA182012001234", SPA) == ["digit_count"]  # 12 for a cosmetic
    assert codes("bpom", "224511001234") == ["bpom_shape"]


def test_halal_starts_with_id_and_a_province() -> None:
    assert codes("halal", "ID35110000123450322") == ["format_ok"]
    assert codes("halal", "id 3511 0000 1234 50322") == ["format_ok"]
    other = read("halal", "ID31110000123450322", FOOD)
    assert other.level == Level.note and "province code 31" in curator_line(EN, other)
    unknown = read("halal", "HALAL-JATIM-77", FOOD)
    assert unknown.level == Level.unread
    assert "format not recognised" in curator_line(EN, unknown)
    assert "tidak dikenali" in curator_line(ID, unknown)
    assert "diawali ID" in (producer_hint(ID, unknown) or "")


def test_sni_merek_svlk_and_nib_by_format() -> None:
    assert codes("sni", "SNI 01-3549-2006") == ["format_ok"]
    assert codes("sni", "🙂") == ["sni_shape"]
    assert codes("merek", "IDM000123456") == ["format_ok"]
    assert codes("merek", "IDM00012345") == ["digit_count"]
    assert codes("merek", "DID2021012345") == ["merek_application"]
    assert codes("svlk", "V-Legal 12.34567-00001.001-ID-JP") == ["format_ok"]
    assert codes("svlk", "DKP 2024/001") == ["svlk_declaration"]
    assert codes("nib", "1234 5678 90123") == ["format_ok"]
    assert codes("nib", "12345") == ["digit_count"]


def test_timber_legality_applies_to_wood() -> None:
    assert needs_svlk("furniture", "rotan")
    assert needs_svlk("handicraft", "kayu jati, pernis")
    assert not needs_svlk("handicraft", "pandan")
    assert not needs_svlk("food", "kayu manis")


def test_suggested_legality_score() -> None:
    ok = {k: read(k, v, FOOD) for k, v in (("pirt", "2063507010158-28"), ("halal", "ID35110"))}
    ok["halal"] = read("halal", "ID35110000123450322", FOOD)
    assert suggested_score(ok, sector="food", has_nib=True, wood=False) == 3
    expired = {**ok, "pirt": read("pirt", "2063507010158-24", FOOD)}
    assert suggested_score(expired, sector="food", has_nib=True, wood=False) == 2
    assert suggested_score({}, sector="food", has_nib=False, wood=False) == 1
    assert suggested_score({}, sector="fashion", has_nib=True, wood=False) == 3
