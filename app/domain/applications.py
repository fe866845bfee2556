"""How an application moves from entry to decision, and who may do each step. Pure: no I/O.

Steps (DOMAIN.md §3, §6): entry (key or correct the fields, OCR pre-filled) → verify (blind second
keying of the risky fields) → settle (a third operator decides a mismatch) → review (a city
reviewer approves, returns for correction, corrects it or rejects). A returned application goes
back to entry; a reviewer's correction goes to a blind verify of the changed fields and then to
review again. City staff may withdraw (取下げ) an application at any step, and reopen an approved
one for correction (entry → verify → review again). Every move is a row of TRANSITIONS.
"""

import copy
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from app.domain.catalogue import FieldSpec, Procedure
from app.domain.errors import InvalidTransition
from app.domain.roles import Employer, Principal, Role
from app.domain.validators.codes import mask_my_number


class ApplicationStatus(StrEnum):
    ENTRY = "entry"
    VERIFY = "verify"
    SETTLE = "settle"
    REVIEW = "review"
    APPROVED = "approved"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"


class TaskKind(StrEnum):
    ENTRY = "entry"
    VERIFY = "verify"
    SETTLE = "settle"
    REVIEW = "review"


class TaskStatus(StrEnum):
    OPEN = "open"
    LEASED = "leased"
    DONE = "done"
    CANCELLED = "cancelled"


class Outcome(StrEnum):
    """What finishing a step means for the application."""

    KEYED = "keyed"  # entry done
    MATCHED = "matched"  # verify agreed with entry
    MISMATCHED = "mismatched"  # verify disagreed
    SETTLED = "settled"
    APPROVE = "approve"
    RETURN = "return"
    REJECT = "reject"
    CORRECT = "correct"  # a reviewer keys corrected values; they are verified blind
    WITHDRAW = "withdraw"  # 取下げ, by city staff, at any open step or after approval
    REOPEN = "reopen"  # a correction of an approved application: entry, verify, review again


STEP_OF_STATUS = {
    ApplicationStatus.ENTRY: TaskKind.ENTRY,
    ApplicationStatus.VERIFY: TaskKind.VERIFY,
    ApplicationStatus.SETTLE: TaskKind.SETTLE,
    ApplicationStatus.REVIEW: TaskKind.REVIEW,
}

# (status, outcome) → next status. keyed goes to verify or straight to review (no risky field).
TRANSITIONS: dict[tuple[ApplicationStatus, Outcome], ApplicationStatus] = {
    (ApplicationStatus.ENTRY, Outcome.KEYED): ApplicationStatus.VERIFY,
    (ApplicationStatus.VERIFY, Outcome.MATCHED): ApplicationStatus.REVIEW,
    (ApplicationStatus.VERIFY, Outcome.MISMATCHED): ApplicationStatus.SETTLE,
    (ApplicationStatus.SETTLE, Outcome.SETTLED): ApplicationStatus.REVIEW,
    (ApplicationStatus.REVIEW, Outcome.APPROVE): ApplicationStatus.APPROVED,
    (ApplicationStatus.REVIEW, Outcome.RETURN): ApplicationStatus.ENTRY,
    (ApplicationStatus.REVIEW, Outcome.REJECT): ApplicationStatus.REJECTED,
    (ApplicationStatus.REVIEW, Outcome.CORRECT): ApplicationStatus.VERIFY,
    (ApplicationStatus.APPROVED, Outcome.REOPEN): ApplicationStatus.ENTRY,
    **{
        (status, Outcome.WITHDRAW): ApplicationStatus.WITHDRAWN
        for status in (
            ApplicationStatus.ENTRY,
            ApplicationStatus.VERIFY,
            ApplicationStatus.SETTLE,
            ApplicationStatus.REVIEW,
            ApplicationStatus.APPROVED,
        )
    },
}

DECISIONS = frozenset({Outcome.APPROVE, Outcome.RETURN, Outcome.REJECT, Outcome.CORRECT})
FINAL = frozenset(
    {ApplicationStatus.APPROVED, ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN}
)
# Statuses the core system's feed carries: an approved record, or one withdrawn after approval.
IN_CORE_FEED = frozenset({ApplicationStatus.APPROVED, ApplicationStatus.WITHDRAWN})


# Who takes which step (DOMAIN.md §3.5): operators key, verify and settle; city reviewers review.
OPERATOR_KINDS = (TaskKind.ENTRY, TaskKind.VERIFY, TaskKind.SETTLE)
REVIEWER_KINDS = (TaskKind.REVIEW,)

# A resident waiting at the counter moves their application this far up the queue.
COUNTER_BOOST = timedelta(days=10)
# Applications without a legal clock are worked within this many days of receipt.
DEFAULT_SERVICE_LEVEL = timedelta(days=14)


def urgency_of(due_on: date | None, received_at: datetime, *, resident_waiting: bool) -> int:
    """The queue order key, fixed at creation: earlier due first; a waiting resident goes ahead."""
    if due_on is not None:
        moment = datetime(due_on.year, due_on.month, due_on.day, tzinfo=UTC)
    else:
        moment = received_at + DEFAULT_SERVICE_LEVEL
    if resident_waiting:
        moment -= COUNTER_BOOST
    return int(moment.timestamp())


def excluded_from(kind: TaskKind, handled_by: Iterable[str]) -> list[str]:
    """Four eyes: nobody who handled an application may verify, settle or review it."""
    return [] if kind is TaskKind.ENTRY else list(handled_by)


def correction_queue(entry_employer: str | None) -> str:
    """Corrections of vendor-keyed work go to the vendor's manager, never to its operator."""
    return "vendor_manager" if entry_employer == Employer.VENDOR else "central"


def queues_for(employer: str | None) -> list[str]:
    """The queues a claimer takes from: work the vendor's 管理責任者 has dispatched is for
    vendor operators only."""
    return ["central", "vendor"] if employer == Employer.VENDOR else ["central"]


def next_status(
    current: ApplicationStatus, outcome: Outcome, *, needs_verify: bool = True
) -> ApplicationStatus:
    """Where the application goes after ``outcome``; raises InvalidTransition otherwise."""
    try:
        after = TRANSITIONS[(current, outcome)]
    except KeyError:
        raise InvalidTransition(entity="application", current=current, action=outcome) from None
    if after is ApplicationStatus.VERIFY and not needs_verify:
        return ApplicationStatus.REVIEW
    return after


def replay(outcomes: list[tuple[Outcome, bool]]) -> ApplicationStatus:
    """The status that a log of (outcome, needs_verify) steps leads to from a new application."""
    status = ApplicationStatus.ENTRY
    for outcome, needs_verify in outcomes:
        status = next_status(status, outcome, needs_verify=needs_verify)
    return status


def refusal(
    principal: Principal,
    *,
    kind: TaskKind,
    procedure: str,
    handled_by: list[str],
    city_only: bool,
) -> str | None:
    """Why ``principal`` may not take a task of this kind, or None when they may.

    - Reviews are decisions: city reviewers only (DOMAIN.md §3.5); reviewers only review.
    - Nobody verifies or settles their own keying, nor reviews what they keyed or verified.
    - Protected persons (支援措置) and My Numbers stay with city staff.
    - Operators work only on the procedures they are qualified for.
    """
    if kind is TaskKind.REVIEW:
        if principal.role is not Role.REVIEWER or principal.employer is Employer.VENDOR:
            return "審査は市の審査担当者のみ (review is for city reviewers)"
    elif principal.role is not Role.OPERATOR:
        return "入力・照合はオペレーターの業務です (entry and verification are for operators)"
    if city_only and principal.employer is not Employer.CITY:
        return "この申請は市職員のみが扱えます (city staff only)"
    if kind is not TaskKind.ENTRY and principal.person_id in handled_by:
        return "自分が入力・照合した申請は扱えません (four eyes: you handled this one)"
    if principal.qualifications is not None and procedure not in principal.qualifications:
        return "この手続の担当ではありません (not qualified for this procedure)"
    return None


def concrete_fields(
    procedure: Procedure, values: Mapping[str, Any]
) -> Iterator[tuple[str, FieldSpec, Any]]:
    """(path, spec, value) of every leaf field present, e.g. ``members[1].my_number``."""

    def walk(
        specs: tuple[FieldSpec, ...], level: Mapping[str, Any], prefix: str
    ) -> Iterator[tuple[str, FieldSpec, Any]]:
        for spec in specs:
            value = level.get(spec.key)
            if spec.type == "group":
                for index, item in enumerate(value if isinstance(value, list) else []):
                    if isinstance(item, Mapping):
                        yield from walk(spec.fields, item, f"{prefix}{spec.key}[{index}].")
            elif value not in (None, ""):
                yield f"{prefix}{spec.key}", spec, value

    return walk(procedure.fields, values, "")


# A procedure's specs cut down to those a question is about (and the groups holding them), in
# the catalogue's order: walking only these yields what concrete_fields yields for them.
_Pruned = tuple[tuple[str, FieldSpec, "_Pruned | None"], ...]
_pruned: dict[tuple[int, str], tuple[tuple[FieldSpec, ...], _Pruned]] = {}
_KINDS: dict[str, Callable[[FieldSpec], bool]] = {
    "my_number": lambda spec: spec.type == "my_number",
    # A choice of which one option says the person is under 支援措置.
    "support_measure": lambda spec: (
        spec.type == "choice" and any(c.support_measure for c in spec.choices)
    ),
}


def _prune(specs: tuple[FieldSpec, ...], kind: str) -> _Pruned:
    kept = _pruned.get((id(specs), kind))
    if kept is None or kept[0] is not specs:
        if len(_pruned) >= 4096:
            _pruned.clear()
        out: list[tuple[str, FieldSpec, _Pruned | None]] = []
        for spec in specs:
            if spec.type == "group":
                if inner := _prune(spec.fields, kind):
                    out.append((spec.key, spec, inner))
            elif _KINDS[kind](spec):
                out.append((spec.key, spec, None))
        kept = _pruned[(id(specs), kind)] = (specs, tuple(out))
    return kept[1]


def concrete_fields_of(
    procedure: Procedure, values: Mapping[str, Any], kind: str
) -> Iterator[tuple[str, FieldSpec, Any]]:
    """concrete_fields, of the fields of a ``kind`` of _KINDS only (the same, in order)."""

    def walk(
        plan: _Pruned, level: Mapping[str, Any], prefix: str
    ) -> Iterator[tuple[str, FieldSpec, Any]]:
        for key, spec, inner in plan:
            value = level.get(key)
            if inner is not None:
                for index, item in enumerate(value if isinstance(value, list) else []):
                    if isinstance(item, Mapping):
                        yield from walk(inner, item, f"{prefix}{key}[{index}].")
            elif value not in (None, ""):
                yield f"{prefix}{key}", spec, value

    return walk(_prune(procedure.fields, kind), values, "")


def risky_paths(
    procedure: Procedure,
    values: Mapping[str, Any],
    ocr: Mapping[str, Mapping[str, Any]] | None,
    problem_paths: set[str],
    threshold: float,
) -> list[str]:
    """Fields to key blind a second time: high-risk ones, low-confidence or unreadable OCR,
    OCR readings marked ``verify`` (an engine not to be trusted on them), problems."""
    risky = []
    for path, spec, _value in concrete_fields(procedure, values):
        read = (ocr or {}).get(path) or {}
        confidence = read.get("confidence")
        if (
            spec.risk == "high"
            or path in problem_paths
            or read.get("unreadable")
            or read.get("verify")
            or (confidence is not None and confidence < threshold)
        ):
            risky.append(path)
    return risky


def always_verified(procedure: Procedure) -> bool:
    """Whether every form of the procedure goes to blind verify: it has a required high-risk
    field (My Number, bank account, birth date), which ``risky_paths`` always lists."""
    return any(
        spec.risk == "high" and spec.requirement == "required" for _p, spec in procedure.walk()
    )


def has_my_number(procedure: Procedure, values: Mapping[str, Any]) -> bool:
    return any(True for _found in concrete_fields_of(procedure, values, "my_number"))


def mask(procedure: Procedure, values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy with every My Number masked (last four digits shown)."""
    masked = copy.deepcopy(dict(values))
    for path, spec, value in concrete_fields(procedure, values):
        if spec.type == "my_number" and isinstance(value, str):
            set_path(masked, path, mask_my_number(value))
    return masked


def get_path(values: Mapping[str, Any], path: str) -> Any:
    node: Any = values
    for part in _parts(path):
        if isinstance(part, int):
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            node = node.get(part) if isinstance(node, Mapping) else None
        if node is None:
            return None
    return node


def set_path(values: dict[str, Any], path: str, value: Any) -> None:
    parts = _parts(path)
    node: Any = values
    for part, following in zip(parts, parts[1:], strict=False):
        if isinstance(part, int):
            while len(node) <= part:
                node.append({})
            node = node[part]
        else:
            node = node.setdefault(part, [] if isinstance(following, int) else {})
    last = parts[-1]
    if isinstance(last, int):
        while len(node) <= last:
            node.append(None)
    node[last] = value


def _parts(path: str) -> list[str | int]:
    parts: list[str | int] = []
    for piece in path.split("."):
        name, _, rest = piece.partition("[")
        parts.append(name)
        if rest:
            parts.append(int(rest.rstrip("]")))
    return parts


def editable(procedure: Procedure, values: Mapping[str, Any]) -> dict[str, Any]:
    """The values as an operator edits them: dates as written, not their normalised form."""
    form = copy.deepcopy(dict(values))
    for path, spec, value in concrete_fields(procedure, values):
        if spec.type in ("date", "wareki_date") and isinstance(value, Mapping):
            set_path(form, path, value.get("written") or value.get("iso"))
    return form


def same_value(first: Any, second: Any) -> bool:
    """Whether two normalised values agree; a date agrees whatever notation it was written in."""
    if (
        isinstance(first, Mapping)
        and isinstance(second, Mapping)
        and "iso" in first
        and "iso" in second
    ):
        keys = ("iso", "uncertain", "earliest", "latest")
        return all(first.get(k) == second.get(k) for k in keys)
    return bool(first == second)
