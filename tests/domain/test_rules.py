"""The procedure rules of DOMAIN.md §7 that look across fields or forms (issue 25)."""

import copy
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain import eligibility
from app.domain.catalogue import load_catalogue
from app.domain.deadlines import Calendar
from app.domain.fields import validate_fields
from app.domain.household import household_key
from app.domain.prompts import child_allowance_prompts
from app.domain.validators import level
from tests.domain.test_fields import GOOD_CLAIM, GOOD_MOVE_IN, MEMBER, TODAY
from tests.domain.test_rule_vectors import CLAIM as CLAIM_WITH_SPOUSE

CATALOGUE = load_catalogue()
MOVE_IN = CATALOGUE.get("resident.move_in")
CLAIM = CATALOGUE.get("child_allowance.claim")
FOREIGN = {
    "name": "KIM MINJUN",
    "kana": "キム ミンジュン",
    "birth_date": "1980-02-03",
    "sex": "男",
    "relationship": "世帯主",
    "is_foreign": "はい",
    "name_alphabet": "KIM MINJUN",
    "nationality": "韓国",
    "residence_category": "中長期在留者",
    "residence_status": "永住者",
    "residence_card_number": "AB12345678CD",
}


def move_in_with(member: dict[str, object]) -> dict[str, object]:
    return {**GOOD_MOVE_IN, "household_head_name": member["name"], "members": [member]}


def codes(problems: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(p["field"], p["code"]) for p in problems]


# ---- foreign residents (DOMAIN.md §7.7; 標準仕様書 1.1.2, j20)


def test_a_permanent_resident_needs_no_end_of_stay() -> None:
    values, problems = validate_fields(MOVE_IN, move_in_with(FOREIGN), TODAY)
    assert problems == []
    assert values["members"][0]["residence_card_number"] == "AB12345678CD"  # type: ignore[index]


def test_a_special_permanent_resident_needs_no_end_of_stay_nor_status() -> None:
    member = {
        **FOREIGN,
        "residence_category": "特別永住者",
        "residence_card_number": "xy 8765 4321 zw",
    }
    del member["residence_status"]
    values, problems = validate_fields(MOVE_IN, move_in_with(member), TODAY)
    assert problems == []
    assert values["members"][0]["residence_card_number"] == "XY87654321ZW"  # type: ignore[index]


def test_other_statuses_need_the_end_of_stay_in_the_western_calendar() -> None:
    member = {**FOREIGN, "residence_status": "技術・人文知識・国際業務"}
    assert codes(validate_fields(MOVE_IN, move_in_with(member), TODAY)[1]) == [
        ("members[0].residence_period", "required"),
        ("members[0].residence_period_end", "required"),
    ]
    member["residence_period"] = "３年"
    member["residence_period_end"] = "令和9年3月31日"
    assert codes(validate_fields(MOVE_IN, move_in_with(member), TODAY)[1]) == [
        ("members[0].residence_period_end", "seireki_required")
    ]
    member["residence_period_end"] = "2027-03-31"
    values, problems = validate_fields(MOVE_IN, move_in_with(member), TODAY)
    assert problems == []
    assert values["members"][0]["residence_period"] == "3年"  # type: ignore[index]


def test_a_foreign_residents_birth_date_is_western_but_a_japanese_ones_may_be_wareki() -> None:
    member = {**FOREIGN, "birth_date": "昭和55年2月3日"}
    assert codes(validate_fields(MOVE_IN, move_in_with(member), TODAY)[1]) == [
        ("members[0].birth_date", "seireki_required")
    ]
    assert level("seireki_required") == "error"
    assert validate_fields(MOVE_IN, move_in_with(MEMBER), TODAY)[1] == []


def test_a_malformed_residence_card_number_is_refused_and_an_alias_is_kept() -> None:
    member = {**FOREIGN, "residence_card_number": "AB1234567CD", "common_name": "金田 民俊"}
    values, problems = validate_fields(MOVE_IN, move_in_with(member), TODAY)
    assert codes(problems) == [("members[0].residence_card_number", "residence_card_format")]
    assert values["members"][0]["common_name"] == "金田 民俊"  # type: ignore[index]


def test_the_resident_record_code_has_a_check_digit() -> None:
    for written, code in [
        ("1234567890", "resident_code_format"),
        ("1234567890a", "resident_code_format"),
        ("12345678904", "resident_code_check_digit"),
    ]:
        form = {**GOOD_MOVE_IN, "previous_resident_code": written}
        assert codes(validate_fields(MOVE_IN, form, TODAY)[1]) == [("previous_resident_code", code)]


# ---- 児童手当 after the October 2024 reform (DOMAIN.md §1.3, §7.20)


def test_the_pre_2024_items_are_gone_from_the_claim() -> None:
    keys = {key for key, _ in CLAIM.walk()}
    assert not keys & {"address_on_january_1", "health_insurance_confirmed"}
    form = {**GOOD_CLAIM, "bank_account": {**GOOD_CLAIM["bank_account"], "account_type": "貯蓄"}}  # type: ignore[dict-item]
    assert codes(validate_fields(CLAIM, form, date(2024, 5, 10))[1]) == [
        ("bank_account", "bank_account_invalid")
    ]


def test_a_move_in_prompts_for_a_high_school_age_child_and_rolls_its_due_date() -> None:
    values = {
        "move_date": {"iso": "2024-04-01"},
        "members": [{"birth_date": {"iso": "2006-04-02"}}, {"birth_date": {"iso": "2003-01-01"}}],
    }
    [proposal] = child_allowance_prompts(MOVE_IN, values, Calendar())
    assert proposal["members"] == ["members[0]"]  # 18 on 4/1 but still in the school year
    assert proposal["counted_members"] == ["members[1]"]  # 21: counts for the rank only
    assert proposal["due_on"] == "2024-04-16"
    sunday = {**values, "move_date": {"iso": "2024-03-30"}}  # +15 = Sunday 4/14
    assert child_allowance_prompts(MOVE_IN, sunday, Calendar())[0]["due_on"] == "2024-04-15"
    grown = {**values, "members": [{"birth_date": {"iso": "2006-04-01"}}]}
    assert child_allowance_prompts(MOVE_IN, grown, Calendar()) == []  # 年度末 was 2024-03-31


# ---- plausibility warnings (issue 25 point 5): warnings, never errors


def test_a_child_born_within_ten_years_of_the_claimant_is_a_warning() -> None:
    form = copy.deepcopy(GOOD_CLAIM)
    form["claimant_birth_date"] = "2015-01-01"
    form["children"][0]["birth_date"] = "2024-04-30"  # type: ignore[index]
    problems = validate_fields(CLAIM, form, date(2024, 5, 10))[1]
    assert codes(problems) == [("children[0].birth_date", "child_too_old_for_claimant")]
    assert level("child_too_old_for_claimant") == "warning"
    form["claimant_birth_date"] = "2014-04-29"  # ten years and a day: fine
    assert validate_fields(CLAIM, form, date(2024, 5, 10))[1] == []


def test_a_move_far_in_the_future_is_a_warning_but_a_planned_move_out_is_not() -> None:
    termination = CATALOGUE.get("child_allowance.termination")
    assert termination.field("reason_date") is not None
    household = CATALOGUE.get("resident.household_change")
    assert household.field("change_date").not_after_today  # type: ignore[union-attr]
    move_out = CATALOGUE.get("resident.move_out")
    values = {"planned_move_date": {"iso": (TODAY + timedelta(days=40)).isoformat()}}
    from app.domain.plausibility import move_far_in_future

    assert move_far_in_future(move_out, values, set(), TODAY) == []
    far = {"reason_date": {"earliest": (TODAY + timedelta(days=15)).isoformat()}}
    near = {"reason_date": {"earliest": (TODAY + timedelta(days=14)).isoformat()}}
    assert codes(move_far_in_future(termination, far, set(), TODAY)) == [
        ("reason_date", "move_date_far_future")
    ]
    assert move_far_in_future(termination, near, set(), TODAY) == []
    assert level("move_date_far_future") == "warning"


def test_a_person_born_after_the_move_is_a_warning() -> None:
    form = copy.deepcopy(GOOD_MOVE_IN)
    form["move_date"] = "R6.3.1"
    form["members"][1]["birth_date"] = "R6.3.15"  # type: ignore[index]
    problems = validate_fields(MOVE_IN, form, TODAY)[1]
    assert codes(problems) == [("members[1].birth_date", "born_after_move")]
    assert level("born_after_move") == "warning"


def test_the_same_my_number_on_two_persons_is_a_warning_that_never_shows_it() -> None:
    form = copy.deepcopy(CLAIM_WITH_SPOUSE)
    form["spouse_my_number"] = form["claimant_my_number"]
    problems = validate_fields(CLAIM, form, date(2024, 5, 10))[1]
    assert codes(problems) == [("spouse_my_number", "my_number_repeated")]
    assert (
        "621498320257" not in problems[0]["message"]
        and "claimant_my_number" in problems[0]["message"]
    )
    assert level("my_number_repeated") == "warning"


def test_the_partial_stop_is_flagged_at_the_status_report() -> None:
    report = CATALOGUE.get("child_rearing.status_report")
    from app.domain.plausibility import partial_stop

    values = {
        "filing_date": {"latest": "2024-08-05"},
        "payment_start_date": {"earliest": "2019-04-01"},
        "eligibility_date": {"earliest": "2019-03-10"},
    }
    [flag] = partial_stop(report, values, set())
    assert (flag["field"], flag["code"]) == ("payment_start_date", "partial_stop_due")
    assert "2024-04-01" in flag["message"] and level("partial_stop_due") == "warning"
    values["payment_start_date"] = {"earliest": "2020-04-01"}
    assert partial_stop(report, values, set()) == []


def test_a_move_in_and_a_child_allowance_claim_share_the_household_key() -> None:
    move_in = {"new_address": "熊本市中央区手取本町１－１", "new_katagaki": "手取ハイツ１０１"}
    claim = {"claimant_address": "熊本市中央区手取本町1-1 手取ハイツ101"}
    assert household_key({"family_name": "山田"}, move_in) == household_key(
        {"family_name": "佐藤"}, claim
    )


# ---- property tests of the date functions over 1989–2099

DAYS = st.dates(min_value=date(1989, 1, 8), max_value=date(2099, 12, 31))


@settings(max_examples=300)
@given(DAYS)
def test_the_18_year_end_is_a_31_march_within_a_year_after_the_birthday_eve(born: date) -> None:
    end = eligibility.fiscal_year_end_after_age(born, 18)
    eve = eligibility.reaches_age_on(born, 18)
    assert (end.month, end.day) == (3, 31) and eve <= end < eve + timedelta(days=366)
    assert eligibility.is_eligible_child(born, end)
    assert not eligibility.is_eligible_child(born, end + timedelta(days=1))
    assert (
        eligibility.age_on(born, eve) == 18
        and eligibility.age_on(born, eve - timedelta(days=1)) == 17
    )


@settings(max_examples=300)
@given(DAYS)
def test_a_1_april_birthday_is_a_school_year_ahead_of_2_april(born: date) -> None:
    if (born.month, born.day) != (4, 1):
        born = date(born.year, 4, 1)
    first = eligibility.fiscal_year_end_after_age(born, 18)
    second = eligibility.fiscal_year_end_after_age(born + timedelta(days=1), 18)
    before = eligibility.fiscal_year_end_after_age(born - timedelta(days=1), 18)
    assert first == before and second.year == first.year + 1


@settings(max_examples=300)
@given(DAYS, DAYS, st.booleans())
def test_counting_covers_eligibility_and_ends_at_22(born: date, on: date, confirmed: bool) -> None:
    eligible = eligibility.is_eligible_child(born, on)
    counted = eligibility.counts_for_rank(born, on, costs_confirmed=confirmed)
    assert not eligible or counted
    assert not counted or on <= eligibility.fiscal_year_end_after_age(born, 22)


@settings(max_examples=300)
@given(DAYS, st.integers(min_value=0, max_value=3000))
def test_the_partial_stop_is_a_first_of_month_within_5_and_7_years(start: date, back: int) -> None:
    cause = start - timedelta(days=back)
    stop = eligibility.partial_stop_from(start, cause)
    assert stop.day == 1
    assert stop <= date(start.year + 5, start.month, 1)
    assert stop <= date(cause.year + 7, cause.month, 1)
    assert stop in (date(start.year + 5, start.month, 1), date(cause.year + 7, cause.month, 1))


@settings(max_examples=300)
@given(DAYS)
def test_the_prompt_due_date_is_open_and_at_least_15_days_after(move: date) -> None:
    if move.year > 2098:
        return
    values = {
        "move_date": {"iso": move.isoformat()},
        "members": [{"birth_date": {"iso": move.isoformat()}}],
    }
    [proposal] = child_allowance_prompts(MOVE_IN, values, Calendar())
    due = date.fromisoformat(proposal["due_on"])
    assert not Calendar().is_closed(due)
    assert move + timedelta(days=15) <= due <= move + timedelta(days=15 + 9)
