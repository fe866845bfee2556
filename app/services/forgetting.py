"""What residents gave for one day or one visit, forgotten once it is over (DOMAIN.md §7:
personal data kept no longer than its purpose): notice addresses and numbers when the ticket's
day ends, a booking's contact once its day has passed, and a 転入予約 nobody checked in some
time after its last valid day. Run by the ``notify`` job, which every process runs."""

from dataclasses import dataclass
from datetime import datetime, time

from app.domain.clock import TOKYO, business_day
from app.domain.move_in_reservations import ReservationStatus, lapses_before
from app.services import notices
from app.services.uow import UnitOfWork
from app.storage import appointments as appointment_store
from app.storage import move_in_reservations as reservation_store


@dataclass(frozen=True)
class Forgotten:
    notices: int
    booking_contacts: int
    reservations: int

    @property
    def total(self) -> int:
        return self.notices + self.booking_contacts + self.reservations


async def forget_ended(uow: UnitOfWork) -> Forgotten:
    now = uow.now()
    today = business_day(now)
    start_of_today = datetime.combine(today, time(0), tzinfo=TOKYO)
    return Forgotten(
        notices=await notices.forget_ended(uow),
        booking_contacts=await appointment_store.forget_contacts_before(
            uow.session, start_of_today
        ),
        reservations=await reservation_store.lapse_before(
            uow.session, lapses_before(today), ReservationStatus.LAPSED, now
        ),
    )
