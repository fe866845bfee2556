"""Cross-procedure prompts (DOMAIN.md §7.23): what a filing makes due in another procedure."""

from collections.abc import Mapping
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
