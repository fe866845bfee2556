"""Cross-procedure prompts (DOMAIN.md §7.23): what a filing makes due in another procedure."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from app.domain.applications import concrete_fields
from app.domain.catalogue import Procedure, load_catalogue
from app.domain.deadlines import Calendar
from app.domain.eligibility import COUNTING_AGE, is_eligible_child
from app.domain.eligibility import fiscal_year_end_after_age as _year_end_after

# 児童手当法8条2項・3項 (15日特例): counted from the day after the 転出予定日 (else the move).
CLAIM_DAYS = 15


def _iso(value: object) -> date | None:
    if isinstance(value, Mapping):
        value = value.get("iso")
    if isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return None
    return None


def child_allowance_prompts(
    procedure: Procedure, values: Mapping[str, Any], calendar: Calendar
) -> list[dict[str, Any]]:
    """A 転入 with a child of 児童手当 age (to the 年度末 after 18) proposes a 認定請求.

    Children past that but within the 22-year 年度末 are listed apart: they count for the
    third-child amount only, with the 確認書. The due date rolls to the next open day.
    """
    if procedure.code != "resident.move_in":
        return []
    move = _iso(values.get("move_date"))
    if move is None:
        return []
    eligible: list[str] = []
    counted: list[str] = []
    for path, spec, value in concrete_fields(procedure, dict(values)):
        if path.endswith(".birth_date") and spec.type in ("date", "wareki_date"):
            born = _iso(value)
            if born is None:
                continue
            member = path.split(".")[0]
            if is_eligible_child(born, move):
                eligible.append(member)
            elif born <= move <= _year_end_after(born, COUNTING_AGE):
                counted.append(member)
    if not eligible:
        return []
    base = _iso(values.get("planned_move_out_date")) or move
    claim = load_catalogue().find("child_allowance.claim")
    proposal: dict[str, Any] = {
        "procedure": "child_allowance.claim",
        "reason": "高校生年代までの子を含む転入: 児童手当の認定請求 "
        "(move-in with children up to the end of the school year after they turn 18)",
        "members": eligible,
        "due_on": calendar.roll_forward(base + timedelta(days=CLAIM_DAYS)).isoformat(),
        "name_ja": claim.name_ja if claim else "児童手当 認定請求",
    }
    if counted:
        proposal["counted_members"] = counted  # 22歳年度末まで: 第3子の数え方にだけ入る
    return [proposal]


# 氏名・住所変更届 (DOMAIN.md §7.23) after a move of a known claimant. 児童手当: 施行規則5条・6条,
# the 15 days cities ask for (the catalogue's change notice); 児童扶養手当: 14 days, as the cities'
# rules under its 施行規則 ask (e.g. 久留米市児童扶養手当法施行規則4条); the catalogue has no form.
CHANGE_NOTICES: dict[str, tuple[str | None, str, int]] = {
    "child_allowance.claim": ("child_allowance.change_notice", "児童手当 氏名・住所変更届", 15),
    "child_rearing.claim": (None, "児童扶養手当 氏名・住所変更届", 14),
}
ADDRESS_CHANGES = ("resident.move_in", "resident.move_within")


@dataclass(frozen=True)
class KnownClaim:
    """An approved claim of the municipality: who claims, exactly as stored."""

    application_id: str
    procedure: str
    name: str | None
    birth_date: str | None  # ISO
    my_number: str | None


@dataclass(frozen=True)
class Mover:
    member: str  # "members[0]"
    name: str | None
    birth_date: str | None
    my_number: str | None


def movers(procedure: Procedure, values: Mapping[str, Any]) -> list[Mover]:
    """The persons a 転入 or 転居 moves (empty for any other procedure)."""
    if procedure.code not in ADDRESS_CHANGES:
        return []
    found = []
    for index, member in enumerate(values.get("members") or []):
        if not isinstance(member, Mapping):
            continue
        born = _iso(member.get("birth_date"))
        number = member.get("my_number")
        found.append(
            Mover(
                member=f"members[{index}]",
                name=member.get("name") if isinstance(member.get("name"), str) else None,
                birth_date=born.isoformat() if born else None,
                my_number=number if isinstance(number, str) and number else None,
            )
        )
    return found


def is_claimant(mover: Mover, claim: KnownClaim) -> bool:
    """The same person: the My Number when both have one, else name and birth date as stored.

    Names are compared exactly (never normalised): 髙橋 is not 高橋, and a miss only means
    the prompt is not made.
    """
    if mover.my_number and claim.my_number:
        return mover.my_number == claim.my_number
    return (
        mover.name is not None
        and mover.birth_date is not None
        and mover.name == claim.name
        and mover.birth_date == claim.birth_date
    )


def change_notice_prompts(
    procedure: Procedure,
    values: Mapping[str, Any],
    claims: Iterable[KnownClaim],
    calendar: Calendar,
) -> list[dict[str, Any]]:
    """A 転入/転居 of a known 児童手当 or 児童扶養手当 claimant proposes a 氏名・住所変更届.

    Matched by My Number, the name may differ from the claim's: then the name changed too. The
    due date counts from the move and rolls to the next open day.
    """
    moved = _iso(values.get("move_date"))
    people = movers(procedure, values)
    if moved is None or not people:
        return []
    proposals = []
    for claim in claims:
        notice = CHANGE_NOTICES.get(claim.procedure)
        mover = next((m for m in people if is_claimant(m, claim)), None)
        if notice is None or mover is None:
            continue
        code, name_ja, days = notice
        renamed = mover.name is not None and claim.name is not None and mover.name != claim.name
        proposals.append(
            {
                "procedure": code,
                "reason": "受給者の氏名と住所の変更: 氏名・住所変更届 "
                "(a recipient's name and address changed: notice of change)"
                if renamed
                else "受給者の住所変更: 氏名・住所変更届 "
                "(a recipient's address changed: notice of change)",
                "members": [mover.member],
                "claim_id": claim.application_id,
                "change_kind": "name_and_address" if renamed else "address",
                "due_on": calendar.roll_forward(moved + timedelta(days=days)).isoformat(),
                "name_ja": name_ja,
            }
        )
    return proposals
