from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.parsing import (
    clean_text,
    is_no_answer,
    parse_duration_days,
    parse_nib,
    parse_number,
    parse_phone,
    parse_price,
    parse_quantity,
    split_list,
)

# --------------------------------------------------------------------------------------------
# parse_phone
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("081234567890", "+6281234567890"),
        ("0812-3456-7890", "+6281234567890"),
        ("0812 3456 7890", "+6281234567890"),
        ("0812.3456.7890", "+6281234567890"),
        ("  0812 3456 7890  ", "+6281234567890"),
        ("+6281234567890", "+6281234567890"),  # Telegram contact
        ("6281234567890", "+6281234567890"),  # Telegram contact without +
        ("+62 812-3456-7890", "+6281234567890"),
        ("+62 (812) 3456 7890", "+6281234567890"),
        ("+62 (0)812 3456 7890", "+6281234567890"),
        ("0062 812 3456 7890", "+6281234567890"),
        ("(031) 123 4567", "+62311234567"),  # Surabaya landline
        ("031-8765432", "+62318765432"),
        ("0341 551234", "+62341551234"),  # Malang landline
        ("081234567", "+6281234567"),  # shortest: 8 national digits
        ("0812345678901", "+62812345678901"),  # longest: 12 national digits
    ],
)
def test_parse_phone_valid(text: str, expected: str) -> None:
    assert parse_phone(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "81234567890",  # no prefix: ambiguous
        "8123 4567 890",
        "08123456",  # 7 national digits
        "08123456789012",  # 13 national digits
        "+6208123456789",  # national number may not start with 0
        "+6212345678",  # ...nor with 1
        "0112345678",
        "+6581234567",  # Singapore
        "+1 812 345 6789",
        "0812-3456-789a",
        "0812 3456 7890 / 0813 1111 2222",
        "nomor saya 0812",
        "+ +6281234567890",
        "٠٨١٢٣٤٥٦٧٨٩٠",  # Arabic-Indic digits
        "0" * 200,
    ],
)
def test_parse_phone_invalid(text: str) -> None:
    assert parse_phone(text) is None


_separator = st.sampled_from(["", "", "", " ", "-", ".", "  ", " - "])


@st.composite
def formatted_phone(draw: st.DrawFn) -> tuple[str, str]:
    """A valid number in any prefix style with random separators, and its E.164 form."""
    nsn = draw(st.from_regex(r"[2-9][0-9]{7,11}", fullmatch=True))
    prefix = draw(st.sampled_from(["0", "+62", "62", "0062", "+62 ", "+62 (0)", "(0"]))
    body = "".join(digit + draw(_separator) for digit in nsn).rstrip(" -.")
    if prefix == "(0":  # area-code-in-brackets style: "(031) 123..."
        split = draw(st.integers(min_value=1, max_value=3))
        text = f"(0{nsn[:split]}) {nsn[split:]}"
    else:
        text = prefix + draw(_separator) + body
    return text, "+62" + nsn


@given(formatted_phone())
def test_parse_phone_round_trips_any_formatting(case: tuple[str, str]) -> None:
    text, e164 = case
    assert parse_phone(text) == e164
    assert parse_phone(e164) == e164


@given(st.text(max_size=100))
def test_parse_phone_result_is_always_e164(text: str) -> None:
    result = parse_phone(text)
    assert result is None or re.fullmatch(r"\+62[2-9][0-9]{7,11}", result)


# --------------------------------------------------------------------------------------------
# parse_nib
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1234567890123", "1234567890123"),
        ("  1234567890123 ", "1234567890123"),
        ("1234 5678 90123", "1234567890123"),
        ("1234-5678-90123", "1234567890123"),
        ("1.234.567.890.123", "1234567890123"),
        ("1 2 3 4 5 6 7 8 9 0 1 2 3", "1234567890123"),
        ("NIB: 1234567890123", "1234567890123"),
        ("nib 1234 5678 90123", "1234567890123"),
        ("0000000000001", "0000000000001"),
    ],
)
def test_parse_nib_valid(text: str, expected: str) -> None:
    assert parse_nib(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "123456789012",  # 12 digits
        "12345678901234",  # 14 digits
        "1234567890123a",
        "-1234567890123",
        "1234567890123-",
        "belum punya",
        "NIB",
        "１２３４５６７８９０１２３",  # full-width digits
        "1234567890123 1234567890123",
    ],
)
def test_parse_nib_invalid(text: str) -> None:
    assert parse_nib(text) is None


@given(st.text(alphabet="0123456789 .-nibNIB:", max_size=40) | st.text(max_size=40))
def test_parse_nib_returns_only_13_ascii_digits(text: str) -> None:
    result = parse_nib(text)
    assert result is None or re.fullmatch(r"[0-9]{13}", result)


@given(st.from_regex(r"[0-9]{13}", fullmatch=True), st.lists(_separator, min_size=12, max_size=12))
def test_parse_nib_ignores_separators(digits: str, seps: list[str]) -> None:
    text = digits[0] + "".join(sep + d for sep, d in zip(seps, digits[1:], strict=True))
    assert parse_nib(text) == digits


# --------------------------------------------------------------------------------------------
# is_no_answer
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "belum punya",
        "Belum Punya",
        "  belum   punya  ",
        "belum punya.",
        "Belum punya!!",
        "belum",
        "tidak ada",
        "tdk ada",
        "gak ada",
        "nggak ada",
        "ga ada",
        "tidak",
        "Tidak.",
        "no",
        "No!",
        "none",
        "not yet",
        "Not yet...",
        "don't have",
        "Don’t have",  # curly apostrophe from phone keyboards
        "dont have",
        "-",
        " - ",
        "—",
    ],
)
def test_is_no_answer_true(text: str) -> None:
    assert is_no_answer(text) is True


@pytest.mark.parametrize(
    "text",
    [
        "",
        "ya",
        "yes",
        "ada",
        "punya",
        "belum punya NIB tapi sedang proses",
        "tidak tahu",
        "no 1234567890123",
        "nomor",
        "1234567890123",
        "-5",
    ],
)
def test_is_no_answer_false(text: str) -> None:
    assert is_no_answer(text) is False


# --------------------------------------------------------------------------------------------
# parse_number
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("7", 7),
        ("1000", 1000),
        ("1.000", 1000),
        ("1,000", 1000),
        ("1 000", 1000),
        ("1\u00a0000", 1000),  # non-breaking space
        ("12.500", 12500),
        ("1.000.000", 1_000_000),
        ("1,000,000", 1_000_000),
        ("1 000 000", 1_000_000),
        ("1.000,00", 1000),
        ("1,000.00", 1000),
        ("  250 ", 250),
    ],
)
def test_parse_number_valid(text: str, expected: int) -> None:
    assert parse_number(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "abc",
        "1.5",
        "1,5",
        "1.50",
        "1,000.5",
        "1.000,5",
        "1.00.000",  # lakh-style grouping is not Indonesian
        "10,00,000",
        "1.0000",
        "1 00",
        "1.000,000.00",
        "-5",
        "+5",
        "5 pcs",
        "lima",
        "1e3",
        "9" * 19,
        "9" * 5000,
    ],
)
def test_parse_number_invalid(text: str) -> None:
    assert parse_number(text) is None


@given(st.integers(min_value=0, max_value=10**15))
def test_parse_number_round_trips_grouped(n: int) -> None:
    assert parse_number(str(n)) == n
    assert parse_number(f"{n:,}") == n
    assert parse_number(f"{n:,}".replace(",", ".")) == n
    assert parse_number(f"{n:,}".replace(",", " ")) == n


# --------------------------------------------------------------------------------------------
# parse_quantity
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("500", (500, None)),
        ("500 pcs", (500, "pcs")),
        ("500pcs", (500, "pcs")),
        ("500 PCS", (500, "pcs")),
        ("1.000 kg/bulan", (1000, "kg")),
        ("1000 kg per bulan", (1000, "kg")),
        ("1000 kg perbulan", (1000, "kg")),
        ("1000 kg / bln", (1000, "kg")),
        ("200 bungkus sebulan", (200, "bungkus")),
        ("50 lusin", (50, "lusin")),
        ("300 liter per month", (300, "liter")),
        ("300 liters a month", (300, "liters")),
        ("300 bottles/month", (300, "bottles")),
        ("500 per bulan", (500, None)),
        ("500 bulan", (500, None)),
        ("1,000 packs", (1000, "packs")),
        ("2 ribu bungkus per bulan", (2000, "bungkus")),
        ("1,5 rb pcs", (1500, "pcs")),
        ("5 rb", (5000, None)),
        ("500 pcs.", (500, "pcs")),
        ("1.000.000.000", (1_000_000_000, None)),
        ("1 " + "a" * 20, (1, "a" * 20)),
    ],
)
def test_parse_quantity_valid(text: str, expected: tuple[int, str | None]) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "pcs",
        "banyak",
        "0",
        "0 kg",
        "-5 kg",
        "1,5 kg",  # decimal
        "2.5 liter",
        "1.000.000.001",
        "2 miliar pcs",
        "1 " + "a" * 21,  # unit too long
        "500 kg beras",  # unit must be one word
        "500 m2",
        "500 kg/minggu",  # per week is a different meaning
        "500 rb rb",
        "1.500 rb",  # 1.5 ribu or 1,500 ribu?
        "500 kg 600 kg",
    ],
)
def test_parse_quantity_invalid(text: str) -> None:
    assert parse_quantity(text) is None


@given(st.text(max_size=80))
def test_parse_quantity_shape(text: str) -> None:
    result = parse_quantity(text)
    if result is not None:
        amount, unit = result
        assert 1 <= amount <= 1_000_000_000
        assert unit is None or re.fullmatch(r"[a-z]{1,20}", unit)


# --------------------------------------------------------------------------------------------
# parse_price
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25000", 25_000),
        ("25.000", 25_000),
        ("25,000", 25_000),
        ("Rp 25.000", 25_000),
        ("Rp25.000,-", 25_000),
        ("rp. 25.000,00", 25_000),
        ("IDR 25000", 25_000),
        ("25rb", 25_000),
        ("25 rb", 25_000),
        ("25 ribu", 25_000),
        ("25k", 25_000),
        ("25K", 25_000),
        ("1,5 jt", 1_500_000),
        ("1.5 juta", 1_500_000),
        ("1jt", 1_000_000),
        ("2 juta 500 ribu", 2_500_000),
        ("2jt 500rb", 2_500_000),
        ("1,5juta", 1_500_000),
        ("1.500", 1_500),
        ("25.000,00", 25_000),
        ("25000,00", 25_000),
        ("RP 1.250.000", 1_250_000),
        ("Rp 25.000,--", 25_000),
        ("25.000 rupiah", 25_000),
        ("25 rebu", 25_000),
        ("1", 1),
        ("1 miliar", 1_000_000_000),
        ("Rp 1.000.000.000", 1_000_000_000),
        ("12,5rb", 12_500),
    ],
)
def test_parse_price_valid(text: str, expected: int) -> None:
    assert parse_price(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "Rp 0",
        "0 rb",
        "-5000",
        "Rp -5.000",
        "abc",
        "",
        "Rp",
        "rb",
        "2 miliar",
        "Rp 1.000.000.001",
        "1.000.000.001",
        "25.5",  # fraction of a rupiah
        "Rp 25.000,50",
        "0,5",
        "1.500 jt",  # 1.5 juta or 1,500 juta?
        "2,500 rb",
        "2 juta 500",  # 2.000.500 or 2.500.000?
        "500 ribu 2 juta",  # units must decrease
        "1 juta 1500 ribu",
        "2 rb 3 rb",
        "1,5 juta 200 ribu",
        "25 000 00",
        "1M",  # miliar or million?
        "25 kg",
        "25.000/pcs",
        "dua puluh ribu",
        "9" * 5000,
    ],
)
def test_parse_price_invalid(text: str) -> None:
    assert parse_price(text) is None


@given(st.integers(min_value=1, max_value=1_000_000_000))
def test_parse_price_round_trips_plain_and_dotted(n: int) -> None:
    assert parse_price(str(n)) == n
    assert parse_price(f"{n:,}".replace(",", ".")) == n
    assert parse_price(f"Rp {n:,}".replace(",", ".") + ",-") == n


@given(st.integers(min_value=1, max_value=1_000_000))
def test_parse_price_thousands_suffix(n: int) -> None:
    assert parse_price(f"{n}rb") == n * 1000
    assert parse_price(f"{n} ribu") == n * 1000


@given(st.text(max_size=80))
def test_parse_price_range(text: str) -> None:
    result = parse_price(text)
    assert result is None or 1 <= result <= 1_000_000_000


# --------------------------------------------------------------------------------------------
# split_list
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Malaysia, Jepang dan Singapura", ["Malaysia", "Jepang", "Singapura"]),
        ("Malaysia; Japan and Singapore", ["Malaysia", "Japan", "Singapore"]),
        ("Malaysia\nJepang\n\nSingapura\n", ["Malaysia", "Jepang", "Singapura"]),
        ("Malaysia, Jepang, dan Singapura.", ["Malaysia", "Jepang", "Singapura"]),
        ("malaysia, Malaysia, MALAYSIA, jepang", ["malaysia", "jepang"]),
        ("- Malaysia\n- Jepang", ["Malaysia", "Jepang"]),
        ("1. Malaysia\n2) Jepang", ["Malaysia", "Jepang"]),
        ("  Arab   Saudi ,  Korea Selatan ", ["Arab Saudi", "Korea Selatan"]),
        ("Sudan, Jordan dan Rwanda", ["Sudan", "Jordan", "Rwanda"]),  # no split inside words
        ("Singapura", ["Singapura"]),
        ("", []),
        (" , ; \n dan ", []),
    ],
)
def test_split_list(text: str, expected: list[str]) -> None:
    assert split_list(text) == expected


@given(st.text(max_size=200))
def test_split_list_items_are_clean_and_unique(text: str) -> None:
    items = split_list(text)
    assert all(item and item == item.strip() for item in items)
    assert len({item.casefold() for item in items}) == len(items)


# --------------------------------------------------------------------------------------------
# clean_text
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "max_len", "expected"),
    [
        ("  Keripik   Tempe\n Bu Sri ", 100, "Keripik Tempe Bu Sri"),
        ("abc", 3, "abc"),
        ("a  b", 3, "a b"),  # length counted after collapsing
        ("abcd", 3, None),
        ("", 10, None),
        (" \n\t ", 10, None),
        ("Bakso\x00 Pak Man", 100, "Bakso Pak Man"),
    ],
)
def test_clean_text(text: str, max_len: int, expected: str | None) -> None:
    assert clean_text(text, max_len=max_len) == expected


@given(st.text(max_size=300), st.integers(min_value=1, max_value=200))
def test_clean_text_properties(text: str, max_len: int) -> None:
    result = clean_text(text, max_len=max_len)
    if result is not None:
        assert 1 <= len(result) <= max_len
        assert result == " ".join(result.split())


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("6 bulan", 180),
        ("1 tahun", 365),
        ("2 minggu", 14),
        ("90 hari", 90),
        ("12 months", 360),
        ("3 Bln", 90),
        ("1thn", 365),
        ("  7   days. ", 7),
        ("6", None),
        ("enam bulan", None),
        ("0 hari", None),
        ("20 tahun", None),
        ("6 abad", None),
        ("x" * 100, None),
    ],
)
def test_parse_duration_days(text: str, days: int | None) -> None:
    assert parse_duration_days(text) == days
