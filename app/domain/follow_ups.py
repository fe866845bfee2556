"""A move is a life event: which other departments' procedures follow from it, for whom, by when.

The follow-ups are data (``procedures/_follow_ups.json``, read by ``load_follow_ups``); this
module only applies them to one move form. Ages are the law's (``eligibility.age_on``: a year
ends on the eve of the birthday), school years and the 18-year 年度末 come from
``eligibility.fiscal_year_end_after_age``, clocks roll over closed days with ``Calendar``, and
児童手当's 15日特例 is the claim's own deadline in the catalogue (``deadlines.due_date``).
"""

from collections.abc import Mapping, Set
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.domain.catalogue import (
    AgeBand,
    FollowUpCatalogue,
    FollowUpDue,
    FollowUpSpec,
    PersonRule,
    Procedure,
    RecipientOf,
    SchoolYears,
    load_catalogue,
    load_follow_ups,
    parse_condition,
)
from app.domain.deadlines import Calendar, as_date, due_date
from app.domain.eligibility import age_on, fiscal_year_end_after_age


@dataclass(frozen=True)
class FollowUp:
    """One procedure one person of a move owes another department."""

    kind: str
    member: str  # "members[2]": the person on the move form
    department: str
    due_on: date | None


def in_school_years(born: date, on: date, from_age: int | None, to_age: int) -> bool:
    """From the 1 April after reaching ``from_age`` (none: from birth) to the 31 March after
    reaching ``to_age``; a 1 April birthday belongs to the earlier school year."""
    if on < born or on > fiscal_year_end_after_age(born, to_age):
        return False
    return from_age is None or on > fiscal_year_end_after_age(born, from_age)


def person_applies(
    rule: PersonRule | None, born: date | None, on: date, recipient_of: Set[str]
) -> bool:
    """Whether the person rule holds for someone born on ``born`` on the move date ``on``.

    ``recipient_of``: the procedures this person holds an approved claim of. A person whose
    birth date cannot be read gets no age-bound follow-up (the form's problems say why).
    """
    if rule is None:
        return True
    if isinstance(rule, RecipientOf):
        return rule.procedure in recipient_of
    if born is None or born > on:
        return False
    if isinstance(rule, AgeBand):
        age = age_on(born, on)
        low = rule.min_age is None or age >= rule.min_age
        return low and (rule.below_age is None or age < rule.below_age)
    assert isinstance(rule, SchoolYears)
    return in_school_years(born, on, rule.from_age, rule.to_age)


def due_on(
    due: FollowUpDue, values: Mapping[str, Any], moved: date, calendar: Calendar
) -> date | None:
    """The follow-up's due date, rolled forward to an open day."""
    if due.days is not None:
        return calendar.roll_forward(moved + timedelta(days=due.days))
    assert due.procedure is not None
    mapped: dict[str, Any] = dict(due.set)
    for target, sources in due.dates.items():
        found = next((d for s in sources if (d := as_date(values.get(s))) is not None), None)
        mapped[target] = found.isoformat() if found else None
    return due_date(load_catalogue().get(due.procedure), mapped, moved, calendar)


def follow_ups_for(
    procedure: Procedure,
    values: Mapping[str, Any],
    calendar: Calendar,
    *,
    recipients: Mapping[str, Set[str]] | None = None,
    catalogue: FollowUpCatalogue | None = None,
) -> list[FollowUp]:
    """Every follow-up that applies to each person of a move form, in the catalogue's order.

    ``recipients`` maps a member path (``members[0]``) to the procedures that person holds an
    approved claim of. A form that is no move, or whose move date cannot be read, has none.
    """
    specs = catalogue or load_follow_ups()
    date_field = specs.moves.get(procedure.code)
    moved = as_date(values.get(date_field)) if date_field else None
    if moved is None:
        return []
    found: list[FollowUp] = []
    for spec in _specs_for(specs, procedure.code, values):
        due = due_on(spec.due, values, moved, calendar)
        for index, member in enumerate(values.get("members") or []):
            if not isinstance(member, Mapping):
                continue
            path = f"members[{index}]"
            held = (recipients or {}).get(path, frozenset())
            if person_applies(spec.who, as_date(member.get("birth_date")), moved, held):
                found.append(FollowUp(spec.kind, path, spec.department, due))
    return found


def _specs_for(
    specs: FollowUpCatalogue, code: str, values: Mapping[str, Any]
) -> list[FollowUpSpec]:
    return [
        s
        for s in specs.follow_ups
        if code in s.after and (s.when is None or parse_condition(s.when).evaluate(values))
    ]
