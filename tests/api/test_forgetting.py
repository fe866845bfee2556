"""What residents give for one visit is forgotten once the visit is over, by the ``notify``
job every process runs: a booking's contact after its day, a 転入予約 nobody checked in
30 days after its last valid day (the supervisor's expired list shows it until then)."""

from collections.abc import AsyncIterator
from datetime import date, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.pool import NullPool

from app.domain.move_in_reservations import KEPT_AFTER_LAST_DAY
from app.jobs import JobContext
from app.jobs.notify import run
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Appointment, MoveInReservation
from tests.api.test_appointments import MONDAY, at, booking, city, clock, live  # noqa: F401
from tests.api.test_move_in_reservations import reservation, reserve
from tests.support import LiveServer, Office
from tests.support_thread import FakeClock


@pytest.fixture
async def engine(live: LiveServer) -> AsyncIterator[object]:  # noqa: F811
    engine = create_engine(live.settings.database_url, poolclass=NullPool)
    yield engine
    await engine.dispose()


async def test_a_bookings_contact_and_a_lapsed_reservations_data_are_forgotten(
    live: LiveServer,  # noqa: F811
    city: Office,  # noqa: F811
    clock: FakeClock,  # noqa: F811
    engine: object,
) -> None:
    async with live.client() as resident:
        booked = await resident.post(
            "/public/appointments", json=booking(city, at(10), contact="taro@example.jp")
        )
    assert booked.status_code == 201, booked.text
    made = await reserve(
        live,
        city,
        reservation(city, move_out_day=MONDAY.date(), received_at=MONDAY.isoformat()),
    )
    assert made.status_code == 201, made.text
    number, last_day = made.json()["number"], made.json()["last_valid_day"]
    sessions = make_sessionmaker(engine)  # type: ignore[arg-type]

    async def job_on(days: int) -> str:
        later = FakeClock(MONDAY + timedelta(days=days))
        report = await run(JobContext(sessions, later, live.settings))
        return report.summary

    async def stored() -> tuple[str | None, MoveInReservation]:
        async with sessions() as session:
            contact = (await session.execute(select(Appointment.contact))).scalar_one()
            kept = (await session.execute(select(MoveInReservation))).scalar_one()
        return contact, kept

    # The day of the booking: both kept.
    await job_on(0)
    contact, kept = await stored()
    assert contact == "taro@example.jp"
    assert kept.applicant and kept.fields and kept.status == "reserved"

    # The next day: the booking's contact is gone; the reservation is still valid.
    assert "予約連絡先 1 件" in await job_on(1)
    contact, kept = await stored()
    assert contact is None
    assert kept.applicant["family_name"] == "髙橋" and kept.status == "reserved"

    # Expired, but within the 30 days staff have to reach the resident: still listed, kept.
    expired_for = (date.fromisoformat(last_day) - MONDAY.date()).days + KEPT_AFTER_LAST_DAY
    await job_on(expired_for)
    contact, kept = await stored()
    assert kept.applicant and kept.status == "reserved"

    # A day later: the resident's data is dropped and the reservation has lapsed for good.
    assert "期限切れ転入予約 1 件" in await job_on(expired_for + 1)
    contact, kept = await stored()
    assert (kept.applicant, kept.fields, kept.status) == ({}, {}, "lapsed")
    async with live.client(city.token("supervisor")) as supervisor:
        shown = await supervisor.get(f"/move-in-reservations/{number}")
    assert shown.status_code == 200, shown.text
    assert shown.json()["state"] == "expired"
    assert "髙橋" not in shown.text
