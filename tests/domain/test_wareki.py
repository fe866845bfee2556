from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.domain.validators.wareki import (
    DateProblem,
    format_wareki,
    format_wareki_short,
    parse_wareki,
)

FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("令和6年4月1日", "2024-04-01"),
        ("R6.4.1", "2024-04-01"),
        ("r06.04.01", "2024-04-01"),
        ("R060401", "2024-04-01"),
        ("R6/4/1", "2024-04-01"),
        ("令6.4.1", "2024-04-01"),
        ("令和６年４月１日", "2024-04-01"),
        ("令和 6 年 4 月 1 日", "2024-04-01"),
        ("令和六年四月一日", "2024-04-01"),
        ("令和元年5月1日", "2019-05-01"),
        ("令和1年5月1日", "2019-05-01"),
        ("R01.05.01", "2019-05-01"),
        ("平成31年4月30日", "2019-04-30"),
        ("H31.4.30", "2019-04-30"),
        ("平成元年1月8日", "1989-01-08"),
        ("㍻元年1月8日", "1989-01-08"),
        ("昭和64年1月7日", "1989-01-07"),
        ("S64.1.7", "1989-01-07"),
        ("昭和五十年十二月二十五日", "1975-12-25"),
        ("昭50.12.25", "1975-12-25"),
        ("昭和元年12月25日", "1926-12-25"),
        ("大正15年12月25日", "1926-12-25"),  # the change day written with the old era (j80)
        ("T15.12.25", "1926-12-25"),
        ("大正元年7月30日", "1912-07-30"),
        ("明治45年7月30日", "1912-07-30"),  # likewise
        ("M45.7.30", "1912-07-30"),
        ("明45.7.29", "1912-07-29"),
        ("明治6年1月1日", "1873-01-01"),
        ("昭和50年5月1日生", "1975-05-01"),
        ("2024-04-01", "2024-04-01"),
        ("2024/4/1", "2024-04-01"),
        ("2024年4月1日", "2024-04-01"),
        ("２０２４年４月１日", "2024-04-01"),
        ("20240401", "2024-04-01"),
        ("令和100年1月1日", "2118-01-01"),
        ("昭和二十年八月十五日", "1945-08-15"),
    ],
)
def test_accepted_forms(text: str, iso: str) -> None:
    parsed = parse_wareki(text)
    assert parsed.iso == date.fromisoformat(iso)
    assert parsed.written == text
    assert parsed.as_value() == {
        "iso": iso,
        "written": text,
        "uncertain": None,
        "earliest": iso,
        "latest": iso,
    }


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("平成31年5月1日", "era_range"),
        ("令和元年4月30日", "era_range"),
        ("昭和64年1月8日", "era_range"),
        ("平成元年1月7日", "era_range"),
        ("明治45年7月31日", "era_range"),
        ("大正15年12月26日", "era_range"),
        ("大正16年1月1日", "era_range"),
        ("平成32年1月1日", "era_range"),
        ("令和0年1月1日", "era_range"),
        ("明治5年12月31日", "before_gregorian"),
        ("1872-12-31", "before_gregorian"),
        ("令和6年2月30日", "invalid_date"),
        ("令和5年2月29日", "invalid_date"),
        ("令和6年13月1日", "invalid_date"),
        ("令和6年4月0日", "invalid_date"),
        ("6.4.1", "date_format"),
        ("", "date_format"),
        ("きのう", "date_format"),
        ("X6.4.1", "date_format"),
        ("令和十十年", "date_format"),
        ("令和6年頃", "uncertain_not_allowed"),
        ("年月日不詳", "uncertain_not_allowed"),
        ("令和6年4月", "uncertain_not_allowed"),
    ],
)
def test_rejected_forms(text: str, code: str) -> None:
    with pytest.raises(DateProblem) as caught:
        parse_wareki(text)
    assert caught.value.code == code
    assert "(" in caught.value.message  # Japanese with English alongside


def test_leap_day_is_a_real_date() -> None:
    assert parse_wareki("令和6年2月29日").iso == date(2024, 2, 29)
    assert parse_wareki("平成12年2月29日").iso == date(2000, 2, 29)


@pytest.mark.parametrize(
    ("text", "uncertain", "earliest", "latest"),
    [
        ("年月日不詳", "unknown", None, None),
        ("不詳", "unknown", None, None),
        ("令和○年頃", "approximate", "2019-05-01", None),
        ("昭和50年頃", "approximate", "1975-01-01", "1975-12-31"),
        ("推定昭和50年5月1日", "approximate", "1975-05-01", "1975-05-01"),
        ("昭和50年5月上旬", "partial", "1975-05-01", "1975-05-10"),
        ("昭和50年5月中旬", "partial", "1975-05-11", "1975-05-20"),
        ("昭和50年2月下旬", "partial", "1975-02-21", "1975-02-28"),
        ("昭和50年月日不詳", "partial", "1975-01-01", "1975-12-31"),
        ("昭和50年5月日不詳", "partial", "1975-05-01", "1975-05-31"),
        ("昭和50年5月", "partial", "1975-05-01", "1975-05-31"),
        ("平成31年", "partial", "2019-01-01", "2019-04-30"),  # clipped to the era
        ("昭和50年4月から6月までの間", "range", "1975-04-01", "1975-06-30"),
        ("昭和50年から昭和52年までの間", "range", "1975-01-01", "1977-12-31"),
        ("令和5年2月29日", "impossible", None, None),  # j80: impossible days are kept
        ("昭和50年2月30日", "impossible", None, None),
    ],
)
def test_uncertain_forms_only_where_allowed(
    text: str, uncertain: str, earliest: str | None, latest: str | None
) -> None:
    parsed = parse_wareki(text, allow_unknown=True)
    value = parsed.as_value()
    assert value["iso"] is None
    assert value["written"] == text
    assert (value["uncertain"], value["earliest"], value["latest"]) == (uncertain, earliest, latest)
    with pytest.raises(DateProblem):
        parse_wareki(text)


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("平成32年", "era_range"),
        ("平成31年5月", "era_range"),
        ("平成31年6月31日", "era_range"),  # impossible and outside the era
        ("昭和52年から昭和50年までの間", "invalid_date"),
    ],
)
def test_uncertain_forms_still_respect_eras(text: str, code: str) -> None:
    with pytest.raises(DateProblem) as caught:
        parse_wareki(text, allow_unknown=True)
    assert caught.value.code == code


@pytest.mark.parametrize(
    ("day", "full", "short"),
    [
        (date(2024, 4, 1), "令和6年4月1日", "R6.4.1"),
        (date(2019, 5, 1), "令和元年5月1日", "R1.5.1"),
        (date(2019, 4, 30), "平成31年4月30日", "H31.4.30"),
        (date(1989, 1, 8), "平成元年1月8日", "H1.1.8"),
        (date(1989, 1, 7), "昭和64年1月7日", "S64.1.7"),
        (date(1926, 12, 25), "昭和元年12月25日", "S1.12.25"),
        (date(1912, 7, 30), "大正元年7月30日", "T1.7.30"),
        (date(1912, 7, 29), "明治45年7月29日", "M45.7.29"),
    ],
)
def test_format(day: date, full: str, short: str) -> None:
    assert format_wareki(day) == full
    assert format_wareki_short(day) == short


def test_format_refuses_days_before_the_gregorian_calendar() -> None:
    with pytest.raises(ValueError, match="before"):
        format_wareki(date(1872, 12, 31))


DAYS = st.dates(min_value=date(1873, 1, 1), max_value=date(2100, 12, 31))


@given(DAYS)
def test_iso_to_wareki_to_iso(day: date) -> None:
    assert parse_wareki(format_wareki(day)).iso == day
    assert parse_wareki(format_wareki_short(day)).iso == day


@given(DAYS)
def test_full_width_and_era_kanji_variants_round_trip(day: date) -> None:
    assert parse_wareki(format_wareki(day).translate(FULL_WIDTH)).iso == day
    short = format_wareki_short(day)
    kanji = {"M": "明", "T": "大", "S": "昭", "H": "平", "R": "令"}[short[0]]
    assert parse_wareki(kanji + short[1:]).iso == day
    assert parse_wareki(short.lower()).iso == day


@given(st.text(max_size=30), st.booleans())
def test_any_text_gives_a_date_or_a_date_problem(text: str, allow_unknown: bool) -> None:
    try:
        parsed = parse_wareki(text, allow_unknown=allow_unknown)
    except DateProblem as problem:
        assert problem.code in {
            "date_format",
            "invalid_date",
            "era_range",
            "before_gregorian",
            "uncertain_not_allowed",
        }
    else:
        assert parsed.written == text
        if parsed.iso is not None:
            assert parsed.earliest == parsed.latest == parsed.iso
