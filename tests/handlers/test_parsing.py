from __future__ import annotations

import re
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from handlers.kit.parsing import (
    REFUSAL_TEXT,
    SECTOR_ALIASES,
    Choice,
    Price,
    Quantity,
    Reason,
    Refused,
    clean_text,
    fold,
    is_no_answer,
    match_choice,
    parse_duration_days,
    parse_nib,
    parse_number,
    parse_phone,
    parse_price,
    parse_quantity,
    parse_when,
    read_price,
    read_quantity,
    refusal_text,
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
        ("50 lusin", (600, "pcs")),  # a dozen is 12 pieces
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


def test_parse_when_reads_local_dates_and_times() -> None:
    zone = ZoneInfo("Asia/Jakarta")
    now = datetime(2026, 12, 20, 3, 0, tzinfo=UTC)  # 10:00 in Jakarta
    assert parse_when("2026-12-21 09:00", now=now, zone=zone) == datetime(
        2026, 12, 21, 9, 0, tzinfo=zone
    )
    # Without a year: the next such day ("2/1" in December is next January).
    assert parse_when("2/1 08.30", now=now, zone=zone) == datetime(2027, 1, 2, 8, 30, tzinfo=zone)
    assert parse_when("21/12 jam 9.15", now=now, zone=zone) == datetime(
        2026, 12, 21, 9, 15, tzinfo=zone
    )
    assert parse_when("31/2 08:00", now=now, zone=zone) is None
    assert parse_when("besok", now=now, zone=zone) is None
    assert parse_when("1/1 09:00" + " " * 100, now=now, zone=zone) is None
    # 29 February has passed this leap year, and next year has none.
    leap = datetime(2028, 3, 1, 3, 0, tzinfo=UTC)
    assert parse_when("29/2 09:00", now=leap, zone=zone) is None


# --------------------------------------------------------------------------------------------
# Numbers in words, prices with their unit, and the reasons for a refusal
# --------------------------------------------------------------------------------------------

_ID_DIGITS = ["", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan"]
_EN_SMALL = [
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen",
]  # fmt: skip
_EN_TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]


def _id_below_1000(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += ["seratus"] if hundreds == 1 else [_ID_DIGITS[hundreds], "ratus"]
    if rest == 10:
        words.append("sepuluh")
    elif rest == 11:
        words.append("sebelas")
    elif 12 <= rest <= 19:
        words += [_ID_DIGITS[rest - 10], "belas"]
    else:
        tens, ones = divmod(rest, 10)
        if tens:
            words += [_ID_DIGITS[tens], "puluh"]
        if ones:
            words.append(_ID_DIGITS[ones])
    return words


def indonesian(n: int) -> str:
    """Written the way it is said: 2.500.000 → "dua juta lima ratus ribu"."""
    words: list[str] = []
    for size, name in ((10**9, "miliar"), (10**6, "juta"), (10**3, "ribu")):
        count, n = divmod(n, size)
        if count == 1 and size == 1000:
            words.append("seribu")
        elif count:
            words += [*_id_below_1000(count), name]
    return " ".join(words + _id_below_1000(n))


def _en_below_1000(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_EN_SMALL[hundreds], "hundred"]
    if 0 < rest < 20:
        words.append(_EN_SMALL[rest])
    elif rest:
        tens, ones = divmod(rest, 10)
        words.append(_EN_TENS[tens] + (f"-{_EN_SMALL[ones]}" if ones else ""))
    return words


def english(n: int) -> str:
    words: list[str] = []
    for size, name in ((10**9, "billion"), (10**6, "million"), (10**3, "thousand")):
        count, n = divmod(n, size)
        if count:
            words += [*_en_below_1000(count), name]
    return " ".join(words + _en_below_1000(n))


# A bare hundreds group after juta ("dua juta lima ratus") is ambiguous; everything else is not.
_sayable = st.integers(min_value=1, max_value=999_999) | st.integers(
    min_value=1, max_value=1_000_000
).map(lambda n: n * 1000)


@given(_sayable)
def test_indonesian_number_words_round_trip(n: int) -> None:
    assert read_price(indonesian(n)) == Price(n, None)
    assert read_price("Rp " + indonesian(n).upper()) == Price(n, None)


@given(_sayable)
def test_english_number_words_round_trip(n: int) -> None:
    assert read_price(english(n)) == Price(n, None)


@given(st.integers(min_value=1, max_value=1000))
def test_number_words_for_quantities(n: int) -> None:
    assert read_quantity(indonesian(n) + " pcs per bulan") == Quantity(n, "pcs")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Rp 15.000/bungkus", Price(15_000, "bungkus")),
        ("Rp 15.000 / Bungkus", Price(15_000, "bungkus")),
        ("15 ribu per pack", Price(15_000, "pack")),
        ("15rb/pcs", Price(15_000, "pcs")),
        ("Rp 25.000,-/pcs", Price(25_000, "pcs")),
        ("25.000 rupiah per botol", Price(25_000, "botol")),
        ("Rp 12.500 perbungkus", Price(12_500, "bungkus")),
        ("50rb tiap kotak", Price(50_000, "kotak")),
        ("lima belas ribu", Price(15_000, None)),
        ("Lima Belas Ribu per bungkus", Price(15_000, "bungkus")),
        ("dua juta lima ratus ribu", Price(2_500_000, None)),
        ("dua puluh ribu", Price(20_000, None)),
        ("seratus ribu", Price(100_000, None)),
        ("seribu lima ratus", Price(1_500, None)),
        ("sejuta", Price(1_000_000, None)),
        ("satu juta", Price(1_000_000, None)),
        ("setengah juta", Price(500_000, None)),
        ("2 juta lima ratus ribu", Price(2_500_000, None)),
        ("fifteen thousand", Price(15_000, None)),
        ("twenty-five thousand per pack", Price(25_000, "pack")),
        ("one hundred and fifty thousand", Price(150_000, None)),
        ("a hundred thousand", Price(100_000, None)),
        ("25.000", Price(25_000, None)),
    ],
)
def test_read_price(text: str, expected: Price) -> None:
    assert read_price(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", Reason.TOO_SMALL),
        ("Rp 0/pcs", Reason.TOO_SMALL),
        ("nol", Reason.TOO_SMALL),
        ("-5000", Reason.TOO_SMALL),
        ("Rp -5.000", Reason.TOO_SMALL),
        ("2 miliar", Reason.TOO_LARGE),
        ("dua miliar", Reason.TOO_LARGE),
        ("Rp 1.000.000.001", Reason.TOO_LARGE),
        ("25.5", Reason.NOT_WHOLE),
        ("Rp 25.000,50", Reason.NOT_WHOLE),
        ("1.500 jt", Reason.AMBIGUOUS),
        ("2 juta 500", Reason.AMBIGUOUS),
        ("dua juta lima ratus", Reason.AMBIGUOUS),  # 2.000.500 or 2.500.000?
        ("1M", Reason.AMBIGUOUS),
        ("abc", Reason.NOT_A_NUMBER),
        ("", Reason.NOT_A_NUMBER),
        ("Rp", Reason.NOT_A_NUMBER),
        ("25 kg", Reason.NOT_A_NUMBER),
        ("25.000/rb", Reason.NOT_A_NUMBER),
        ("lima lima", Reason.NOT_A_NUMBER),
        ("ratus", Reason.NOT_A_NUMBER),
        ("lima puluh ratus", Reason.NOT_A_NUMBER),  # parts must get smaller
        ("lima ribu dua juta", Reason.NOT_A_NUMBER),
        ("sebelas lima", Reason.NOT_A_NUMBER),
        ("a", Reason.NOT_A_NUMBER),
        ("9" * 5000, Reason.NOT_A_NUMBER),
    ],
)
def test_read_price_says_why_not(text: str, reason: Reason) -> None:
    result = read_price(text)
    assert isinstance(result, Refused) and result.reason is reason


def test_parse_price_keeps_a_typed_unit_from_being_lost() -> None:
    assert parse_price("Rp 15.000/bungkus") is None  # the amount-only reader refuses it
    assert parse_price("lima belas ribu") == 15_000


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("seratus", Quantity(100, None)),
        ("Seratus pcs", Quantity(100, "pcs")),
        ("2 lusin", Quantity(24, "pcs")),
        ("dua lusin", Quantity(24, "pcs")),
        ("1 kodi", Quantity(20, "pcs")),
        ("lima ratus kg per bulan", Quantity(500, "kg")),
        ("two hundred bottles a month", Quantity(200, "bottles")),
        ("1", Quantity(1, None)),
    ],
)
def test_read_quantity(text: str, expected: Quantity) -> None:
    assert read_quantity(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", Reason.TOO_SMALL),  # a whole number, but the rule is "at least 1"
        ("nol", Reason.TOO_SMALL),
        ("0 kg", Reason.TOO_SMALL),
        ("-5 kg", Reason.TOO_SMALL),
        ("1,5 kg", Reason.NOT_WHOLE),
        ("2.5 liter", Reason.NOT_WHOLE),
        ("2 miliar pcs", Reason.TOO_LARGE),
        ("1.500 rb", Reason.AMBIGUOUS),
        ("500 kg beras", Reason.BAD_UNIT),
        ("500 m2", Reason.BAD_UNIT),
        ("1 " + "a" * 21, Reason.BAD_UNIT),
        ("500 kg/minggu", Reason.NOT_MONTHLY),
        ("500 pcs per hari", Reason.NOT_MONTHLY),
        ("500 pcs seminggu", Reason.NOT_MONTHLY),
        ("300 bottles a week", Reason.NOT_MONTHLY),
        ("banyak", Reason.NOT_A_NUMBER),
        ("", Reason.NOT_A_NUMBER),
    ],
)
def test_read_quantity_says_why_not(text: str, reason: Reason) -> None:
    result = read_quantity(text)
    assert isinstance(result, Refused) and result.reason is reason


def test_read_quantity_minimum_is_the_callers() -> None:
    assert read_quantity("0", minimum=0) == Quantity(0, None)
    assert read_quantity("4", minimum=5) == Refused(Reason.TOO_SMALL, minimum=5)


@given(st.text(max_size=80))
def test_read_price_and_quantity_never_raise(text: str) -> None:
    price = read_price(text)
    assert isinstance(price, Refused) or 1 <= price.amount <= 1_000_000_000
    quantity = read_quantity(text)
    assert isinstance(quantity, Refused) or 1 <= quantity.amount <= 1_000_000_000


def _translator(catalog: dict[str, str]):
    def t(message: str, **kwargs: object) -> str:
        return catalog.get(message, message).format(**kwargs)

    return t


def test_refusal_text_says_the_rule_in_both_languages() -> None:
    from babel.messages.pofile import read_po

    from bot.i18n import source_locales_dir

    with (source_locales_dir() / "id" / "LC_MESSAGES" / "kurasi.po").open("rb") as f:
        indonesian_catalog = {m.id: m.string for m in read_po(f) if m.id and m.string}
    zero = read_quantity("0")
    assert isinstance(zero, Refused)
    english_text = refusal_text(_translator({}), zero)
    assert "at least 1" in english_text and "whole number" not in english_text
    indonesian_text = refusal_text(_translator(indonesian_catalog), zero)
    assert "minimal 1" in indonesian_text.lower() and "angka bulat" not in indonesian_text
    for template in REFUSAL_TEXT.values():
        assert indonesian_catalog.get(template), f"no Indonesian for {template!r}"
    big = refusal_text(_translator({}), Refused(Reason.TOO_LARGE))
    assert "1.000.000.000" in big
    own = refusal_text(_translator({}), Refused(Reason.NOT_A_NUMBER), not_a_number="Harga?")
    assert own == "Harga?"


# --------------------------------------------------------------------------------------------
# match_choice
# --------------------------------------------------------------------------------------------

# The sector labels as the catalogs have them, plus the aliases.
_SECTOR_NAMES = {
    "food": ("Food & beverage", "Makanan & minuman"),
    "fashion": ("Fashion", "Fesyen"),
    "handicraft": ("Handicraft", "Kerajinan tangan"),
    "furniture": ("Furniture", "Mebel"),
    "agribusiness": ("Agribusiness", "Agribisnis"),
    "spa": ("Spa, herbal & cosmetics", "Spa, jamu & kosmetik"),
    "other": ("Other", "Lainnya"),
}
SECTORS = {code: (code, *names, *SECTOR_ALIASES[code]) for code, names in _SECTOR_NAMES.items()}


@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("makanan", "food"),
        ("Makanan", "food"),
        ("MAKANAN", "food"),
        ("mknan", "food"),
        ("makanan & minuman", "food"),
        ("Makanan dan minuman", "food"),
        ("makan", "food"),
        ("minuman", "food"),
        ("Food and beverage", "food"),
        ("food", "food"),
        ("fesyen", "fashion"),
        ("Fésyen", "fashion"),
        ("fashion", "fashion"),
        ("fasion", "fashion"),
        ("fesion", "fashion"),
        ("kerajinan", "handicraft"),
        ("krjinan", "handicraft"),
        ("Kerajinan Tangan", "handicraft"),
        ("handicraft", "handicraft"),
        ("Mebel", "furniture"),
        ("meubel", "furniture"),
        ("mebl", "furniture"),
        ("furnitur", "furniture"),
        ("agribisnis", "agribusiness"),
        ("pertanian", "agribusiness"),
        ("jamu", "spa"),
        ("kosmetik", "spa"),
        ("Spa", "spa"),
        ("cosmetics", "spa"),
        ("lainnya", "other"),
        ("Lain-lain", "other"),
        ("  makanan.  ", "food"),
    ],
)
def test_match_choice_sectors(typed: str, code: str) -> None:
    assert match_choice(typed, SECTORS) == Choice(match=code)


def test_match_choice_names_the_candidates_when_it_cannot_tell() -> None:
    result = match_choice("batik", SECTORS)
    assert result.match is None
    assert set(result.candidates) == {"fashion", "handicraft"}


@pytest.mark.parametrize("typed", ["", "   ", "xyz", "mobil", "12345", "a", "?!", "x" * 500])
def test_match_choice_nothing_near(typed: str) -> None:
    assert match_choice(typed, SECTORS) == Choice()


def test_match_choice_prefers_exact_over_look_alike() -> None:
    options = {"ya": ["Ya", "yes"], "yakin": ["yakin"]}
    assert match_choice("ya", options) == Choice(match="ya")
    assert match_choice("yakin", options) == Choice(match="yakin")


def test_match_choice_any_hashable_key() -> None:
    regencies = {3578: ["Kota Surabaya", "Surabaya"], 3507: ["Kabupaten Malang", "Malang"]}
    assert match_choice("surabya", regencies) == Choice(match=3578)
    assert match_choice("MALANG", regencies) == Choice(match=3507)


_label = st.sampled_from([(code, name) for code, names in SECTORS.items() for name in names])


@given(_label, st.randoms(use_true_random=False))
def test_match_choice_ignores_case_and_accents(case: tuple[str, str], rnd) -> None:
    code, name = case
    accents = {"a": "á", "e": "é", "i": "í", "o": "ó", "u": "ü"}
    typed = "".join(
        (accents.get(ch, ch) if rnd.random() < 0.3 else ch).upper() if rnd.random() < 0.5 else ch
        for ch in name
    )
    result = match_choice(typed, SECTORS)
    assert code in ((result.match,) if result.match else result.candidates)


@given(_label.filter(lambda c: len(fold(c[1])) >= 6), st.data())
def test_match_choice_survives_one_missing_letter(case: tuple[str, str], data) -> None:
    code, name = case
    folded = fold(name)
    i = data.draw(st.integers(min_value=1, max_value=len(folded) - 1))
    result = match_choice(folded[:i] + folded[i + 1 :], SECTORS)
    assert result.match == code or code in result.candidates


@given(st.text(max_size=120))
def test_match_choice_never_raises(text: str) -> None:
    result = match_choice(text, SECTORS)
    assert result.match is None or not result.candidates
    assert result.match is None or result.match in SECTORS
