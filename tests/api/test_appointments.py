"""来庁予約 through the API: a resident books, moves and cancels by code; parallel bookings never
take more seats than a slot has (both databases); a checked-in booking is called before the
walk-ins while on time, and after them once late."""

import asyncio
import io
import zipfile
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import func, select

from app.settings import AppointmentSettings
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Appointment, AppointmentSlot, Ticket
from tests.support import LiveServer, Office, make_settings, run_server, seed
from tests.support_thread import FakeClock
from tests.test_cli import madoguchi

JST = timezone(timedelta(hours=9))
MONDAY = datetime(2026, 12, 7, 8, 0, tzinfo=JST)
SUNDAY = datetime(2026, 12, 13, 10, 0, tzinfo=JST)
HOURS = {"opens_at": "09:00", "closes_at": "12:00", "slot_minutes": 30, "seats": 2}


def at(hour: int, minute: int = 0) -> str:
    return MONDAY.replace(hour=hour, minute=minute).isoformat()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY)


@pytest.fixture
async def live(clean_db: str, clock: FakeClock) -> AsyncIterator[LiveServer]:
    settings = make_settings(
        clean_db,
        public_burst=500,
        appointments=AppointmentSettings(early_s=600, grace_s=600, max_passes=1),
    )
    async with run_server(settings, clock=clock) as server:
        yield server


@pytest.fixture
async def city(live: LiveServer) -> Office:
    office = Office(await seed(live.settings.database_url, "431001"))
    async with live.client(office.token("admin")) as admin:
        for prefix in "AB":
            response = await admin.put(
                f"/admin/offices/{office.id}/categories/{office.category(prefix)}"
                "/appointment-hours",
                json=HOURS,
            )
            assert response.status_code == 200, response.text
    return office


def booking(office: Office, starts_at: str, prefix: str = "A", **extra: Any) -> dict[str, Any]:
    return {
        "office_id": office.id,
        "category_id": office.category(prefix),
        "starts_at": starts_at,
        "initial": "ヤ",
        **extra,
    }


async def free_at(live: LiveServer, office: Office, day: str, prefix: str = "A") -> dict[str, int]:
    async with live.client() as anyone:
        response = await anyone.get(
            f"/public/offices/{office.id}/appointment-slots",
            params={"category": office.category(prefix), "day": day},
        )
    assert response.status_code == 200, response.text
    return {s["starts_at"]: s["free"] for s in response.json()}


async def test_a_resident_books_moves_and_cancels_by_code_and_bad_input_is_refused(
    live: LiveServer, city: Office
) -> None:
    slots = await free_at(live, city, "2026-12-07")
    assert len(slots) == 6 and set(slots.values()) == {2}
    async with live.client() as resident:
        booked = await resident.post(
            "/public/appointments", json=booking(city, at(9), contact="taro@example.jp")
        )
        assert booked.status_code == 201, booked.text
        code = booked.json()["code"]
        assert "contact" not in booked.json()
        # The code reads back case-blind and without its hyphen.
        shown = await resident.get(f"/public/appointments/{code.replace('-', '').lower()}")
        assert shown.json()["status"] == "booked" and shown.json()["initial"] == "ヤ"
        assert (await free_at(live, city, "2026-12-07"))["2026-12-07T00:00:00Z"] == 1

        moved = await resident.post(f"/public/appointments/{code}/move", json={"starts_at": at(10)})
        assert moved.status_code == 200, moved.text
        free = await free_at(live, city, "2026-12-07")
        assert free["2026-12-07T00:00:00Z"] == 2 and free["2026-12-07T01:00:00Z"] == 1

        assert (await resident.post(f"/public/appointments/{code}/cancel")).status_code == 200
        again = await resident.post(f"/public/appointments/{code}/cancel")
        assert again.status_code == 409
        assert set((await free_at(live, city, "2026-12-07")).values()) == {2}
        # Nothing half-stored: only the one cancelled booking is in the table.
        assert (await resident.get("/public/appointments/ZZZZZ-ZZZZZ")).status_code == 404
    async with live.client() as resident:
        cases = [
            (booking(city, at(9), initial="山田"), "initial", "not_an_initial"),
            (booking(city, at(9, 10)), "starts_at", "not_a_slot"),
            (booking(city, SUNDAY.isoformat()), "starts_at", "closed_day"),
            (booking(city, MONDAY.replace(day=4, hour=9).isoformat()), "starts_at", "in_the_past"),
        ]
        for body, field, code in cases:
            response = await resident.post("/public/appointments", json=body)
            assert response.status_code == 422, response.text
            errors = response.json()["errors"]
            assert [(e["field"], e["code"]) for e in errors] == [(field, code)], errors
    assert await free_at(live, city, "2026-12-13") == {}
    engine = create_engine(live.settings.database_url)
    async with make_sessionmaker(engine)() as session:
        assert (await session.execute(select(func.count()).select_from(Appointment))).scalar() == 1
    await engine.dispose()


async def test_parallel_bookings_never_take_more_seats_than_a_slot_has(
    live: LiveServer, city: Office
) -> None:
    # Several slots, each rushed by more residents at once than it has seats.
    rushes = [(at(9), 7), (at(9, 30), 2), (at(10), 12), (at(11, 30), 3)]
    async with live.client() as residents:
        results = await asyncio.gather(
            *[
                residents.post("/public/appointments", json=booking(city, starts_at))
                for starts_at, crowd in rushes
                for _ in range(crowd)
            ]
        )
    statuses = [r.status_code for r in results]
    assert set(statuses) <= {201, 409}
    assert all(r.json()["code"] == "slot_full" for r in results if r.status_code == 409)
    assert statuses.count(201) == sum(min(crowd, 2) for _, crowd in rushes)
    engine = create_engine(live.settings.database_url)
    async with make_sessionmaker(engine)() as session:
        rows = (
            await session.execute(
                select(AppointmentSlot.starts_at, AppointmentSlot.booked, func.count())
                .join(Appointment, Appointment.slot_id == AppointmentSlot.id)
                .group_by(AppointmentSlot.starts_at, AppointmentSlot.booked)
            )
        ).all()
    await engine.dispose()
    assert len(rows) == len(rushes)
    assert all(booked == count <= 2 for _starts, booked, count in rows)


async def test_staff_book_and_a_checked_in_booking_is_called_before_walk_ins_while_on_time(
    live: LiveServer, city: Office, clock: FakeClock
) -> None:
    category = city.category("B")  # counter 3 serves B only
    async with live.client() as resident:
        on_time = await resident.post("/public/appointments", json=booking(city, at(10), "B"))
        late = await resident.post("/public/appointments", json=booking(city, at(9), "B"))
    # The second 10:00 booking is made by staff for a resident who phoned.
    async with live.client(city.token("counter")) as counter:
        on_time_2 = await counter.post(
            f"/offices/{city.id}/appointments",
            json={"category_id": category, "starts_at": at(10), "initial": "K"},
        )
        assert on_time_2.status_code == 201, on_time_2.text
        day = await counter.get(f"/offices/{city.id}/appointments", params={"day": "2026-12-07"})
    assert sorted((a["booked_by"], a["initial"]) for a in day.json()) == [
        ("public", "ヤ"),
        ("public", "ヤ"),
        ("staff", "K"),
    ]
    codes = [r.json()["code"] for r in (on_time, late, on_time_2)]
    async with live.client() as resident:  # booked, never comes: missed once its grace is over
        missed = await resident.post("/public/appointments", json=booking(city, at(9, 30), "B"))
        assert missed.status_code == 201

    async def advance_to(hour: int, minute: int) -> None:
        clock.advance((MONDAY.replace(hour=hour, minute=minute) - clock.now()).total_seconds())

    async with live.client(city.token("kiosk")) as kiosk:

        async def check_in(code: str, hour: int, minute: int) -> Any:
            await advance_to(hour, minute)
            return await kiosk.post(
                f"/offices/{city.id}/appointments/check-in", json={"code": code}
            )

        async def walk_in(hour: int, minute: int) -> str:
            await advance_to(hour, minute)
            issued = await kiosk.post(f"/offices/{city.id}/tickets", json={"category": category})
            return str(issued.json()["number"])

        first_walk_in = await walk_in(9, 40)
        late_ticket = (await check_in(codes[1], 9, 42)).json()["number"]
        second_walk_in = await walk_in(9, 45)
        on_time_ticket = (await check_in(codes[0], 9, 50)).json()["number"]
        on_time_ticket_2 = (await check_in(codes[2], 9, 52)).json()["number"]
        twice = await check_in(codes[0], 9, 53)
        assert twice.status_code == 409
    await advance_to(9, 55)
    called = []
    async with live.client(city.token("counter")) as counter:
        while True:
            response = await counter.post(f"/counters/{city.counter('3')}/call-next")
            if response.status_code == 204:
                break
            called.append(response.json()["number"])
            await counter.post(f"/tickets/{response.json()['id']}/start")
            await counter.post(f"/tickets/{response.json()['id']}/finish")
    # On time (10:00 ± 10 min), the 9:50 booking goes before everyone; with K = 1 the 9:52
    # booking then waits until each ticket it would pass has been called. The 9:00 booking,
    # late, waits in walk-in order by its check-in (9:42): between the walk-ins.
    assert called == [
        on_time_ticket,
        first_walk_in,
        late_ticket,
        second_walk_in,
        on_time_ticket_2,
    ]

    # 窓口統計 of the day: the five called at 9:55 waited 15, 13, 10, 5 and 3 minutes; a sixth
    # ticket, sent from A to B, waits; the 9:30 booking nobody checked in is missed.
    async with live.client(city.token("kiosk")) as kiosk:
        sent = await kiosk.post(
            f"/offices/{city.id}/tickets", json={"category": city.category("A")}
        )
    async with live.client(city.token("counter")) as counter:
        moved = await counter.post(
            f"/tickets/{sent.json()['id']}/transfer", json={"category": category}
        )
        assert moved.status_code == 200, moved.text
    async with live.client(city.token("supervisor")) as supervisor:
        stats = await supervisor.get("/lobby-stats", params={"day": "2026-12-07"})
        assert stats.status_code == 200, stats.text
        csv = await supervisor.get(
            "/lobby-stats", params={"day": "2026-12-07", "office": city.id, "format": "csv"}
        )
        sheet = await supervisor.get("/lobby-stats", params={"day": "2026-12-07", "format": "xlsx"})
    rows = {(r["category"], r["counter"]): r for r in stats.json()["rows"]}
    figures = ("tickets", "served", "transfers", "appointments_kept", "appointments_missed")
    assert [rows[("B", "*")][f] for f in figures] == [6, 5, 1, 3, 1]
    assert [rows[("B", "3")][f] for f in figures] == [5, 5, 0, 3, 0]
    waits = ("wait_median_s", "wait_p90_s", "wait_max_s", "service_max_s")
    assert [rows[("B", "3")][w] for w in waits] == [600, 900, 900, 0]
    with zipfile.ZipFile(io.BytesIO(sheet.content)) as book:
        cells = book.read("xl/worksheets/sheet1.xml").decode()
        assert "窓口統計" in book.read("xl/workbook.xml").decode()
    assert sheet.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert cells.count("<v>900</v>") == 4  # p90 and max of B: all counters and counter 3
    lines = csv.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("day,office_id,category,counter,tickets,served")
    # …, transfers, next_stops, waits, …
    counter_3 = f"2026-12-07,{city.id},B,3,5,5,0,0,0,0,600,900,900,0,0,0,3,0,5,"
    assert any(line.startswith(counter_3) for line in lines), lines
    # Each ticket kept the wait it was shown and, at its call, how far off it was: the first
    # walk-in had nobody ahead (shown 0 minutes) and was called 15 minutes later.
    engine = create_engine(live.settings.database_url)
    async with make_sessionmaker(engine)() as session:
        shown = (
            await session.execute(
                select(Ticket.estimate_min, Ticket.estimate_error_s).where(
                    Ticket.number == first_walk_in, Ticket.category_id == category
                )
            )
        ).one()
    await engine.dispose()
    assert tuple(shown) == (0, 900)
    assert rows[("B", "3")]["estimates"] == 5
    # The same figures from `madoguchi stats` (CSV by default).
    printed = await asyncio.to_thread(
        madoguchi,
        live.settings.database_url,
        *("stats", "--day", "2026-12-07", "--municipality", "431001"),
    )
    assert printed.returncode == 0, printed.stderr
    assert any(line.startswith(counter_3) for line in printed.stdout.splitlines())


async def test_the_booking_page_gets_the_categories_taking_appointments_and_a_codes_qr(
    live: LiveServer, city: Office
) -> None:
    async with live.client() as resident:
        office = await resident.get(f"/public/offices/{city.id}/appointment-categories")
        assert office.status_code == 200, office.text
        categories = office.json()["categories"]
        # Only the categories an admin opened (A and B of the demo's categories), with hours.
        assert [c["prefix"] for c in categories] == ["A", "B"]
        assert (categories[0]["opens_at"], categories[0]["slot_minutes"]) == ("09:00:00", 30)
        assert categories[0]["category_id"] == city.category("A") and categories[0]["name_ja"]
        assert office.json()["book_days_ahead"] == live.settings.appointments.book_days_ahead
        unknown = await resident.get("/public/offices/nowhere/appointment-categories")
        assert unknown.status_code == 404
        assert unknown.headers["content-type"].startswith("application/problem+json")

        code = (await resident.post("/public/appointments", json=booking(city, at(9)))).json()[
            "code"
        ]
        qr = await resident.get(f"/public/appointments/{code.lower()}/qr.svg")
        assert qr.status_code == 200 and qr.headers["content-type"].startswith("image/svg+xml")
        assert b"<svg" in qr.content
        # No QR code for a code that books nothing: the endpoint is no QR generator for anyone.
        assert (await resident.get("/public/appointments/ZZZZZ-ZZZZZ/qr.svg")).status_code == 404
