"""Which follow-ups a move makes due, for whom and by when (app.domain.follow_ups).

The move is Monday 16 November 2026 unless said otherwise. Ages are the law's: a year is reached
on the eve of the birthday, so a person born on 17 November 1961 is 65 on 16 November 2026.
"""

from datetime import date
from typing import Any

import pytest

from app.domain.catalogue import FollowUpCatalogue, load_catalogue, load_follow_ups
from app.domain.deadlines import Calendar
from app.domain.follow_ups import FollowUp, follow_ups_for

MOVE = "2026-11-16"


def form(*born: str, transfer: str = "certificate", **extra: Any) -> dict[str, Any]:
    return {
        "move_date": {"iso": MOVE},
        "transfer_method": transfer,
        "members": [{"birth_date": {"iso": b}} for b in born],
        **extra,
    }


def kinds(values: dict[str, Any], code: str = "resident.move_in", **kw: Any) -> set[str]:
    procedure = load_catalogue().get(code)
    return {f.kind for f in follow_ups_for(procedure, values, Calendar(), **kw)}


def of(values: dict[str, Any], code: str = "resident.move_in", **kw: Any) -> list[FollowUp]:
    return follow_ups_for(load_catalogue().get(code), values, Calendar(), **kw)


def test_the_catalogue_names_known_procedures_and_departments() -> None:
    catalogue = load_follow_ups()
    assert {d.code for d in catalogue.departments} >= {f.department for f in catalogue.follow_ups}
    assert len(catalogue.follow_ups) == 11


@pytest.mark.parametrize(
    ("born", "long_term_care", "late_elderly", "health_insurance"),
    [
        ("1961-11-17", True, False, True),  # reaches 65 on 16 November (the eve)
        ("1961-11-18", False, False, True),  # 64 until 17 November
        ("1951-11-17", True, True, False),  # reaches 75: the 75+ system, no longer 国保
        ("1951-11-18", True, False, True),  # still 74: 国保 and 介護保険
    ],
)
def test_care_and_elderly_medical_start_on_the_eve_of_the_birthday(
    born: str, long_term_care: bool, late_elderly: bool, health_insurance: bool
) -> None:
    found = kinds(form(born))
    assert ("long_term_care.change" in found) is long_term_care
    assert ("late_elderly_medical.change" in found) is late_elderly
    assert ("health_insurance.join" in found) is health_insurance


@pytest.mark.parametrize(
    ("born", "eligible"),
    [
        ("2008-04-02", True),  # reaches 18 on 1 April 2026: counted to 31 March 2027
        ("2008-04-01", False),  # reached 18 on 31 March 2026: that 年度末 has passed
        ("2026-11-16", True),  # born on the day of the move
        ("2026-11-17", False),  # not born yet (an impossible form: nothing is guessed)
    ],
)
def test_child_allowance_runs_to_the_year_end_after_eighteen(born: str, eligible: bool) -> None:
    assert ("child_allowance.claim" in kinds(form(born))) is eligible


@pytest.mark.parametrize(
    ("born", "school_age"),
    [
        ("2020-04-01", True),  # reached 6 on 31 March 2026: first grade from 1 April 2026
        ("2020-04-02", False),  # reached 6 on 1 April 2026: starts school in April 2027
        ("2011-04-02", True),  # reached 15 on 1 April 2026: 中学3年 to 31 March 2027
        ("2011-04-01", False),  # reached 15 on 31 March 2026: compulsory school is over
    ],
)
def test_school_age_is_counted_in_school_years(born: str, school_age: bool) -> None:
    assert ("school.transfer_notice" in kinds(form(born))) is school_age


@pytest.mark.parametrize(
    ("born", "covered"), [("2011-04-02", True), ("2011-04-01", False), ("2026-01-01", True)]
)
def test_childrens_medical_subsidy_ends_with_junior_high_school(born: str, covered: bool) -> None:
    assert ("child_medical.register" in kinds(form(born))) is covered


@pytest.mark.parametrize(
    ("born", "transfer", "pension"),
    [
        ("2006-11-17", "from_abroad", True),  # reaches 20 on 16 November
        ("2006-11-18", "from_abroad", False),  # 19
        ("1966-11-18", "from_abroad", True),  # 59 until 17 November
        ("1966-11-17", "from_abroad", False),  # reaches 60
        ("1990-01-01", "certificate", False),  # a move within Japan changes no pension category
    ],
)
def test_national_pension_category_1_is_for_twenty_to_fifty_nine_from_abroad(
    born: str, transfer: str, pension: bool
) -> None:
    assert ("national_pension.category_1" in kinds(form(born, transfer=transfer))) is pension


def test_due_dates_roll_to_an_open_day_and_child_allowance_keeps_its_fifteen_day_rule() -> None:
    due = {f.kind: f.due_on for f in of(form("2019-05-01"))}
    assert due["health_insurance.join"] == date(2026, 11, 30)  # +14: Monday
    # 15日特例 from the move when no 転出予定日: +15 is Tuesday 1 December.
    assert due["child_allowance.claim"] == date(2026, 12, 1)
    special = form(
        "2019-05-01",
        transfer="card_special",
        planned_move_out_date={"iso": "2026-11-14"},
        card_continued=True,
    )
    due = {f.kind: f.due_on for f in of(special)}
    # From the planned move-out date: 14 Nov + 15 is Sunday 29 November, rolled to Monday.
    assert due["child_allowance.claim"] == date(2026, 11, 30)
    # 90 days after the move is Sunday 14 February 2027.
    assert due["my_number_card.continued_use"] == date(2027, 2, 15)
    weekend = {**form("1990-01-01"), "move_date": {"iso": "2026-12-15"}}
    # +14 is 29 December: the year-end closure runs to 3 January, a Sunday, so Monday 4th.
    assert {f.due_on for f in of(weekend)} == {date(2027, 1, 4)}


def test_the_card_follow_up_is_only_for_a_card_kept_in_use() -> None:
    assert "my_number_card.continued_use" not in kinds(form("1990-01-01"))
    assert "my_number_card.continued_use" in kinds(form("1990-01-01", card_continued=True))


def test_a_move_out_ends_the_seal_registration_from_fifteen_and_leaves_nhi() -> None:
    values = {"planned_move_date": {"iso": "2026-11-21"}, "members": []}
    # members[0] reaches 15 on the eve of 22 November, the move day; members[1] a day later.
    values["members"] = [{"birth_date": {"iso": b}} for b in ("2011-11-22", "2011-11-23")]
    found = {(f.kind, f.member, f.due_on) for f in of(values, "resident.move_out")}
    saturday_rolled = date(2026, 11, 24)  # 21 Nov is Saturday, 23 Nov 勤労感謝の日 (Monday)
    assert ("seal_registration.end", "members[0]", saturday_rolled) in found
    assert not any(k == "seal_registration.end" and m == "members[1]" for k, m, _ in found)
    assert ("health_insurance.leave", "members[1]", date(2026, 12, 7)) in found


def test_a_recipients_address_change_needs_a_known_claim() -> None:
    values = {**form("1990-01-01", "2015-01-01")}
    assert "child_rearing.address_change" not in kinds(values)
    found = of(values, recipients={"members[0]": {"child_rearing.claim"}})
    assert [f.member for f in found if f.kind == "child_rearing.address_change"] == ["members[0]"]


def test_a_form_without_a_readable_move_date_or_of_another_procedure_has_none() -> None:
    assert of({**form("1990-01-01"), "move_date": None}) == []
    assert of(form("1990-01-01"), "child_allowance.claim") == []


def test_a_follow_up_of_an_unknown_department_or_move_does_not_load() -> None:
    raw = load_follow_ups().model_dump(mode="json")
    broken = {**raw, "follow_ups": [{**raw["follow_ups"][0], "department": "finance"}]}
    with pytest.raises(ValueError, match="unknown department"):
        FollowUpCatalogue.model_validate(broken)
    broken = {**raw, "follow_ups": [{**raw["follow_ups"][0], "after": ["resident.birth"]}]}
    with pytest.raises(ValueError, match="follows no move"):
        FollowUpCatalogue.model_validate(broken)
