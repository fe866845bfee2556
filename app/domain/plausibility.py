"""Checks across the fields of one form: foreign residents' 西暦 birth dates (an error) and the
plausibility warnings reviewers rely on (DOMAIN.md §7.7, §7.21; 標準仕様書 11.1 alerts, j1440).

Each takes the normalised values of ``app.domain.fields`` and returns problems; a value that
failed its own check is skipped, so one bad field does not raise a second alarm.
"""

from collections.abc import Iterator, Mapping
from datetime import date, timedelta

from app.domain.catalogue import FieldSpec, Procedure
from app.domain.eligibility import partial_stop_from
from app.domain.household import head_of_household_problems
from app.domain.municipalities import is_within_one_city
from app.domain.validators import Problem, errors_in, problem
from app.domain.validators.wareki import DateProblem, parse_wareki

# A parent is at least this much older than the child (a claimant younger is a keying slip).
MIN_PARENT_GAP_YEARS = 10
# A move dated further ahead than this is a slip for the year or month (転出予定日 aside).
FUTURE_MOVE_DAYS = 14
# The day of the move a form is about; the planned 転出予定日 fields are deliberately absent.
MOVE_DATE_KEYS = ("move_date", "change_date")


def _day(value: object, which: str = "iso") -> date | None:
    if isinstance(value, Mapping) and isinstance(text := value.get(which), str):
        return date.fromisoformat(text)
    return None


def _failed(problems: list[Problem]) -> set[str]:
    return {p["field"] for p in errors_in(problems)}


_group_specs: dict[int, tuple[tuple[FieldSpec, ...], tuple[FieldSpec, ...]]] = {}


def _groups(specs: tuple[FieldSpec, ...]) -> tuple[FieldSpec, ...]:
    kept = _group_specs.get(id(specs))
    if kept is None or kept[0] is not specs:
        if len(_group_specs) >= 4096:
            _group_specs.clear()
        kept = _group_specs[id(specs)] = (specs, tuple(s for s in specs if s.type == "group"))
    return kept[1]


def _items(
    procedure: Procedure, values: Mapping[str, object]
) -> Iterator[tuple[str, FieldSpec, dict[str, object]]]:
    """Each item of each group: (its path prefix, the group's spec, its values)."""
    for spec in _groups(procedure.fields):
        items = values.get(spec.key)
        if isinstance(items, list):
            for index, item in enumerate(items):
                if isinstance(item, dict):
                    yield f"{spec.key}[{index}].", spec, item


def _label(spec: FieldSpec | None, path: str) -> str:
    return spec.label_ja if spec else path


def _sub(group: FieldSpec, key: str) -> FieldSpec | None:
    return next((f for f in group.fields if f.key == key), None)


def foreign_birth_dates(
    procedure: Procedure, values: Mapping[str, object], failed: set[str]
) -> list[Problem]:
    """標準仕様書 1.1.2 (j20): a foreign resident's 生年月日 is kept in 西暦, never in an era."""
    out = []
    for prefix, group, item in _items(procedure, values):
        born = item.get("birth_date")
        path = prefix + "birth_date"
        if item.get("is_foreign") is not True or path in failed or not isinstance(born, Mapping):
            continue
        try:
            era = parse_wareki(str(born.get("written")), allow_unknown=True).era
        except DateProblem:
            continue
        if era is not None:
            out.append(problem(path, "seireki_required", _label(_sub(group, "birth_date"), path)))
    return out


def child_older_than_parent(
    procedure: Procedure, values: Mapping[str, object], failed: set[str]
) -> list[Problem]:
    """A child born less than 10 years after the claimant (a warning, DOMAIN.md §7.20)."""
    claimant = _day(values.get("claimant_birth_date"), "earliest")
    if claimant is None or "claimant_birth_date" in failed:
        return []
    try:
        limit = claimant.replace(year=claimant.year + MIN_PARENT_GAP_YEARS)
    except ValueError:  # 29 February
        limit = date(claimant.year + MIN_PARENT_GAP_YEARS, 3, 1)
    out = []
    for prefix, group, item in _items(procedure, values):
        path = prefix + "birth_date"
        born = _day(item.get("birth_date"), "latest")
        if group.key == "children" and born is not None and path not in failed and born < limit:
            out.append(
                problem(path, "child_too_old_for_claimant", _label(_sub(group, "birth_date"), path))
            )
    return out


def move_far_in_future(
    procedure: Procedure, values: Mapping[str, object], failed: set[str], today: date
) -> list[Problem]:
    """A move dated more than 14 days ahead (where a future date is not an error already)."""
    out = []
    for key in MOVE_DATE_KEYS:
        spec = procedure.field(key)
        day = _day(values.get(key), "earliest")
        if spec is None or day is None or key in failed or spec.not_after_today:
            continue
        if day > today + timedelta(days=FUTURE_MOVE_DAYS):
            out.append(problem(key, "move_date_far_future", spec.label_ja, days=FUTURE_MOVE_DAYS))
    if procedure.code == "child_allowance.termination" and "reason_date" not in failed:
        day = _day(values.get("reason_date"), "earliest")
        spec = procedure.field("reason_date")
        if spec and day is not None and day > today + timedelta(days=FUTURE_MOVE_DAYS):
            out.append(
                problem("reason_date", "move_date_far_future", spec.label_ja, days=FUTURE_MOVE_DAYS)
            )
    return out


def move_within_one_city(
    procedure: Procedure, values: Mapping[str, object], failed: set[str]
) -> list[Problem]:
    """A 転入 from the municipality of the new address itself, or from another ward of the same
    政令指定都市, is a 転居 (住民基本台帳法23条): the form is the wrong one."""
    if (
        procedure.code != "resident.move_in"
        or {"previous_municipality_code", "new_address_code"} & failed
    ):
        return []
    previous, new = values.get("previous_municipality_code"), values.get("new_address_code")
    spec = procedure.field("previous_municipality_code")
    if not isinstance(previous, str) or not isinstance(new, str) or spec is None:
        return []
    if not is_within_one_city(previous, new):
        return []
    return [problem("previous_municipality_code", "move_within_one_city", spec.label_ja)]


def _move_day(values: Mapping[str, object]) -> tuple[str, date] | None:
    for key in MOVE_DATE_KEYS:
        if (day := _day(values.get(key), "latest")) is not None:
            return key, day
    if values.get("claim_reason") == "move_in" and (
        day := _day(values.get("reason_date"), "latest")
    ):
        return "reason_date", day
    return None


def born_after_move(
    procedure: Procedure, values: Mapping[str, object], failed: set[str]
) -> list[Problem]:
    """A person of the form born after the move they are filed for (a warning)."""
    move = _move_day(values)
    if move is None or move[0] in failed:
        return []
    out = []
    for prefix, group, item in _items(procedure, values):
        path = prefix + "birth_date"
        born = _day(item.get("birth_date"), "earliest")
        if born is not None and path not in failed and born > move[1]:
            out.append(problem(path, "born_after_move", _label(_sub(group, "birth_date"), path)))
    return out


def repeated_my_numbers(
    procedure: Procedure, values: Mapping[str, object], failed: set[str]
) -> list[Problem]:
    """The same 個人番号 on two persons of one form (a warning; the number is never shown)."""
    seen: dict[str, str] = {}
    out = []
    places: list[tuple[str, FieldSpec, object]] = [
        (spec.key, spec, values.get(spec.key))
        for spec in procedure.fields
        if spec.type == "my_number"
    ]
    for prefix, group, item in _items(procedure, values):
        places += [
            (prefix + s.key, s, item.get(s.key)) for s in group.fields if s.type == "my_number"
        ]
    for path, spec, number in places:
        if not isinstance(number, str) or path in failed:
            continue
        if number in seen:
            out.append(problem(path, "my_number_repeated", spec.label_ja, other=seen[number]))
        else:
            seen[number] = f"{spec.label_ja} ({path})"
    return out


def partial_stop(
    procedure: Procedure, values: Mapping[str, object], failed: set[str]
) -> list[Problem]:
    """児童扶養手当法13条の3: at the 現況届, flag a recipient whose 一部支給停止 has begun."""
    start = _day(values.get("payment_start_date"), "earliest")
    cause = _day(values.get("eligibility_date"), "earliest")
    filed = _day(values.get("filing_date"), "latest")
    spec = procedure.field("payment_start_date")
    if spec is None or start is None or cause is None or filed is None:
        return []
    if {"payment_start_date", "eligibility_date"} & failed:
        return []
    since = partial_stop_from(start, cause)
    if filed < since:
        return []
    return [
        problem("payment_start_date", "partial_stop_due", spec.label_ja, since=since.isoformat())
    ]


def payee_account_conflict(procedure: Procedure, values: Mapping[str, object]) -> list[Problem]:
    """公金受取口座登録法 (令和3年法律第38号): the registered account replaces a bank account."""
    if values.get("payee_account_kind") != "public_benefit":
        return []
    return [
        problem(key, "not_with_public_benefit_account", spec.label_ja)
        for key in ("bank_account", "account_name_kana")
        if key in values and (spec := procedure.field(key)) is not None
    ]


def cross_checks(
    procedure: Procedure, values: Mapping[str, object], problems: list[Problem], today: date
) -> list[Problem]:
    """Every check across fields, in a stable order."""
    failed = _failed(problems)
    return [
        *foreign_birth_dates(procedure, values, failed),
        *child_older_than_parent(procedure, values, failed),
        *move_far_in_future(procedure, values, failed, today),
        *move_within_one_city(procedure, values, failed),
        *born_after_move(procedure, values, failed),
        *repeated_my_numbers(procedure, values, failed),
        *partial_stop(procedure, values, failed),
        *payee_account_conflict(procedure, values),
        *head_of_household_problems(procedure.code, values, failed),
    ]
