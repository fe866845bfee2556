"""転入予約 (引越しワンストップ): a 転出届 announced through マイナポータル becomes a reservation of
the destination municipality; the resident's visit turns it into a 転入届. Pure: no I/O.

法24条の2 (転入届の特例): the 転入 is filed within 14 days of moving in AND within 30 days of
the 転出予定日, else the resident needs the paper 転出証明書 from the old municipality.
"""

from collections.abc import Mapping
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from app.domain.deadlines import Calendar, as_date

ARRIVAL_DAYS = 14
MOVE_OUT_DAYS = 30
# A supervisor's list shows a reservation as expiring from this many days before its last day.
EXPIRING_DAYS = 7
# A reservation nobody checked in keeps the resident's data this many days past its last valid
# day (time for staff to reach the resident from the expired list), then drops it and lapses.
KEPT_AFTER_LAST_DAY = 30


class ReservationStatus(StrEnum):
    RESERVED = "reserved"
    CHECKED_IN = "checked_in"
    # Expired long enough ago that its personal data was dropped (KEPT_AFTER_LAST_DAY).
    LAPSED = "lapsed"


class ReservationState(StrEnum):
    """Where a reservation stands on a given day (what the supervisor's list filters on)."""

    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    CHECKED_IN = "checked_in"


def last_valid_day(planned_move_out: date, planned_arrival: date, calendar: Calendar) -> date:
    """The last day the 転入 may be filed with the reservation: the earlier of 14 days after
    the planned arrival and 30 days after the 転出予定日, each rolled to an open day (地方自治法
    4条の2④: a period ending on a closed day ends on the next open day)."""
    by_arrival = calendar.roll_forward(planned_arrival + timedelta(days=ARRIVAL_DAYS))
    by_move_out = calendar.roll_forward(planned_move_out + timedelta(days=MOVE_OUT_DAYS))
    return min(by_arrival, by_move_out)


def state_on(status: str, last_day: date, today: date) -> ReservationState:
    if status == ReservationStatus.CHECKED_IN:
        return ReservationState.CHECKED_IN
    if status == ReservationStatus.LAPSED or today > last_day:
        return ReservationState.EXPIRED
    if (last_day - today).days <= EXPIRING_DAYS:
        return ReservationState.EXPIRING
    return ReservationState.VALID


# The 転出届's items the 転入届 takes over under its own names (the rest is asked at the counter:
# 本籍・筆頭者, the 住所コード, the actual day of moving in when it differs).
_CARRIED = {
    "destination_address": "new_address",
    "destination_postal_code": "new_postal_code",
    "current_address": "previous_address",
    "destination_household_head_name": "household_head_name",
    "planned_move_date": "planned_move_out_date",
    "card_holder": "card_continued",
    "filer_name": "filer_name",
    "filer_relation": "filer_relation",
    "filer_phone": "filer_phone",
    "filer_address": "filer_address",
    "power_of_attorney": "power_of_attorney",
    "mailing_address": "mailing_address",
    "mailing_postal_code": "mailing_postal_code",
    "mailing_care_of": "mailing_care_of",
}


def move_in_fields(
    move_out: Mapping[str, Any],
    *,
    planned_arrival: date,
    previous_municipality_code: str | None,
) -> dict[str, Any]:
    """The 転入届 pre-filled from a 転出届 as the portal sent it (values as written: names are
    never rewritten). The day of moving in is the planned arrival until the resident says
    otherwise at the counter; the card is the identity document of the 特例転入."""
    fields: dict[str, Any] = {
        new: move_out[old] for old, new in _CARRIED.items() if move_out.get(old) is not None
    }
    fields["transfer_method"] = "card_special"
    fields["id_document"] = "my_number_card"
    fields["move_date"] = planned_arrival.isoformat()
    if previous_municipality_code:
        fields["previous_municipality_code"] = previous_municipality_code
    fields["members"] = [dict(member) for member in move_out.get("members") or []]
    if "household_head_name" not in fields:
        head = next(
            (m.get("name") for m in fields["members"] if m.get("relationship") == "世帯主"), None
        )
        if head is not None:
            fields["household_head_name"] = head
    return fields


def planned_move_out(values: Mapping[str, object]) -> date | None:
    """The 転出予定日 of a validated 転出届's values."""
    return as_date(values.get("planned_move_date"))


def lapses_before(today: date) -> date:
    """Reservations whose last valid day is before this day drop the resident's data."""
    return today - timedelta(days=KEPT_AFTER_LAST_DAY)
