"""The field walk's plans and kept answers (app.domain.fields): a level's specs made ready once,
and what one plain value's check found, kept per spec, day and value. Pure, bounded caches."""

from datetime import date
from typing import NamedTuple

from app.domain.catalogue import Condition, FieldSpec, parse_condition

# What one plain (non-group) value's check found, kept per spec, day and value: a check depends
# only on those, and a mail room's batch repeats most values (dates, はい/いいえ, 続柄, amounts).
# Kept: the normalised value (``SAME`` when it is the very object received), how a caller gets
# its own copy of it, each problem's code and message (a message does not name the path), and
# whether one of them is more than an alert. Bounded.
Outcome = tuple[object, int, tuple[tuple[str, str], ...], bool]
SAME = object()
SCALARS = (str, int, bool, type(None))
AS_IS, COPY, FRESH = 0, 1, 2  # how a kept normalised value is handed out
MEMO_SIZE = 4096
Memo = dict[tuple[type, object], Outcome]
# Per level (its specs) and day: one memo per spec, in the level's order.
memo: dict[tuple[int, date], tuple[tuple["FieldSpec", ...], tuple[Memo, ...]]] = {}


def memos_for(specs: tuple[FieldSpec, ...], today: date) -> tuple[Memo, ...]:
    key = (id(specs), today)
    entry = memo.get(key)
    if entry is None or entry[0] is not specs:
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        entry = memo[key] = (specs, tuple({} for _ in specs))
    return entry[1]


def fresh(normalised: object) -> object:
    """A copy of a kept normalised value that a caller may change (dates are small dicts)."""
    if isinstance(normalised, dict):
        return {k: v if type(v) in SCALARS else fresh(v) for k, v in normalised.items()}
    if isinstance(normalised, list):
        return [fresh(v) for v in normalised]
    return normalised


def handing(normalised: object) -> int:
    """How a kept value is handed out: as it is (scalars), a shallow copy (a dict of scalars,
    the same as fresh's copy), else fresh."""
    if type(normalised) in SCALARS:
        return AS_IS
    if type(normalised) is dict and all(type(v) in SCALARS for v in normalised.values()):
        return COPY
    return FRESH


class Plan(NamedTuple):
    """A level's specs made ready once: by key; in checking order (groups last, so that their
    items' conditions see every plain value of the level), each with its index among the specs;
    and per spec what is checked once the values are known."""

    by_key: dict[str, FieldSpec]
    ordered: tuple[tuple[int, str, FieldSpec, bool], ...]
    after: tuple[tuple[str, FieldSpec, str | None, bool, Condition | None], ...]


_plans: dict[int, tuple[tuple[FieldSpec, ...], Plan]] = {}


def plan_of(specs: tuple[FieldSpec, ...]) -> Plan:
    kept = _plans.get(id(specs))
    if kept is None or kept[0] is not specs:
        if len(_plans) >= MEMO_SIZE:
            _plans.clear()
        indexed = sorted(enumerate(specs), key=lambda pair: pair[1].type == "group")
        plan = Plan(
            {spec.key: spec for spec in specs},
            tuple((i, spec.key, spec, spec.type == "group") for i, spec in indexed),
            tuple(
                (
                    spec.key,
                    spec,
                    spec.same_person_as,
                    spec.requirement == "required",
                    parse_condition(spec.condition) if spec.condition is not None else None,
                )
                for spec in specs
            ),
        )
        kept = _plans[id(specs)] = (specs, plan)
    return kept[1]
