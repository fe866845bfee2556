"""The what-if model against the real engine: the same three days replayed through both.

Thirty-two 転入届 arrive over two days, two thirds of the first day's on their legal due date,
to two operators and one reviewer who need 45 minutes to key, 10 to verify blind and 15 to
review, so that some miss it. The service
runs in process on a clock the test moves; simulated staff claim and submit through the API
and take exactly those minutes. The simulator gets the same forms, times and staff.

Tolerance: the decided count of each day within 2 applications and the share decided within
the due date within 0.07 (two of the 32). They can differ only where the model simplifies: ties
broken by the order of requests, and the household locks the model does not have (every form
here is its own household). On SQLite and PostgreSQL they agreed exactly when this was written:
14, 17 and 1 decided on the three days, 29 of 32 within the due date.
"""

import heapq
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx2
from sqlalchemy.pool import NullPool

from app.domain.applications import TaskKind, get_path
from app.domain.clock import SystemClock
from app.services.uow import UnitOfWork
from app.services.whatif import fitted_minutes
from app.settings import QueueSettings
from app.simulation.model import Days, Staffing, new_case, received_at, run_period
from app.simulation.profile import load_profile
from app.storage.db import create_engine, make_sessionmaker
from tests.factories import move_in
from tests.support import Office, make_settings, run_server, seed

START = date(2026, 6, 1)  # a Monday; every date of the forms lies before today
WIDTH = 465
MINUTES = {"entry": 45.0, "verify": 10.0, "settle": 5.0, "review": 15.0}
# (working minute of receipt, days from the move to receipt): the due date is move + 14.
ARRIVALS = [(i * 19.0, 14 - i % 3 // 2) for i in range(24)] + [
    (WIDTH + 10 + i * 50.0, 3 + i % 5) for i in range(8)
]


@dataclass
class VirtualClock:
    moment: datetime

    def now(self) -> datetime:
        return self.moment


def wareki(day: date) -> str:
    return f"R{day.year - 2018}.{day.month}.{day.day}"


def form(number: int, received: date, lag: int) -> dict[str, Any]:
    body = move_in()
    fields = dict(body["fields"])
    moved = received - timedelta(days=lag)
    fields |= {
        "move_date": wareki(moved),
        "filing_date": wareki(received),
        "new_address": f"熊本市中央区手取本町{number + 1}-1",
    }
    ocr = {
        "move_date": {"value": wareki(moved), "confidence": 0.99},
        "new_address": {"value": fields["new_address"], "confidence": 0.99},
    }
    return body | {"fields": fields, "ocr": ocr, "external_ref": f"replay-{number}"}


async def replay_through_service(
    database_url: str, days: Days, first: int
) -> tuple[dict[str, float], dict[str, date]]:
    """Working minute of each approval, and each due date, by application id."""
    clock = VirtualClock(received_at(days, first * WIDTH, WIDTH))
    settings = make_settings(
        database_url, queue=QueueSettings(lease_s=10 * 24 * 3600, expire_every_s=0)
    )
    done: dict[str, float] = {}
    due: dict[str, date] = {}
    async with run_server(settings, clock=clock) as server:
        office = Office(await seed(settings.database_url))
        async with server.client(office.token("admin")) as admin:
            tokens = []
            for name in ("A", "B"):
                made = await admin.post(
                    "/admin/tokens", json={"role": "operator", "name": name, "employer": "city"}
                )
                tokens.append(made.json()["token"])
        clients = [server.client(t) for t in tokens] + [server.client(office.token("reviewer"))]
        intake = server.client(office.token("intake"))
        forms: dict[str, dict[str, Any]] = {}
        # Events: (minute, order, what, payload); staff ask for work whenever something happens.
        events: list[tuple[float, int, str, Any]] = []
        for n, (minute, _lag) in enumerate(ARRIVALS):
            heapq.heappush(events, (first * WIDTH + minute, n, "arrive", n))
        order = len(ARRIVALS)
        idle = set(range(len(clients)))
        end = (first + 3) * WIDTH
        try:
            while events:
                minute, _o, what, payload = heapq.heappop(events)
                if minute >= end:
                    break
                clock.moment = received_at(days, minute, WIDTH)
                if what == "arrive":
                    received = clock.moment.astimezone(UTC)
                    body = form(payload, days.dates[int(minute // WIDTH)], ARRIVALS[payload][1])
                    body["received_at"] = received.isoformat()
                    made = await intake.post("/applications", json=body)
                    assert made.status_code in (200, 201), made.text
                    forms[made.json()["id"]] = body
                    due[made.json()["id"]] = date.fromisoformat(made.json()["due_on"])
                else:
                    worker, task = payload
                    answer = await submit(clients[worker], task, forms[task["application_id"]])
                    if answer["application_status"] == "approved":
                        done[task["application_id"]] = minute
                    idle.add(worker)
                for worker in sorted(idle):
                    claimed = await clients[worker].post("/work/claim", json={})
                    if claimed.status_code == 204:
                        continue
                    assert claimed.status_code == 200, claimed.text
                    task = claimed.json()
                    idle.discard(worker)
                    order += 1
                    finish = minute + MINUTES[task["kind"]]
                    heapq.heappush(events, (finish, order, "submit", (worker, task)))
        finally:
            for client in [*clients, intake]:
                await client.aclose()
    return done, due


async def submit(
    client: httpx2.AsyncClient, task: dict[str, Any], body: dict[str, Any]
) -> dict[str, Any]:
    """What a careful operator keys, or a reviewer's approval with the warnings seen."""
    request: dict[str, Any] = {"lease_token": task["lease_token"]}
    if task["kind"] == "review":
        warnings = [
            {"field": p["field"], "code": p["code"]}
            for p in task["form"]["problems"]
            if p["level"] == "warning"
        ]
        request |= {"decision": "approve", "acknowledge": warnings}
    elif task["kind"] == "entry":
        request["values"] = {**task["form"]["values"], **body["fields"]}
    else:
        request["values"] = {path: get_path(body["fields"], path) for path in task["field_keys"]}
    answer = await client.post(f"/work/{task['id']}/submit", json=request)
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def replay_through_model(days: Days, first: int) -> tuple[list[Any], dict[int, float]]:
    profile = load_profile()
    cases = []
    for n, (minute, lag) in enumerate(ARRIVALS):
        day = days.dates[first + int(minute // WIDTH)]
        case = new_case(
            "resident.move_in",
            {"move_date": (day - timedelta(days=lag)).isoformat(), "transfer_method": "normal"},
            first * WIDTH + minute,
            days,
            WIDTH,
            (MINUTES["entry"], MINUTES["verify"], MINUTES["settle"], MINUTES["review"]),
            waiting=False,
            needs_verify=True,
        )
        case.seq = n
        cases.append(case)
    staffing = Staffing.flat(len(days.dates), operators=2, reviewers=1, vendor_share=0.0)
    period = run_period(profile, cases, staffing, first, first + 3)
    return cases, period.finished


def per_day(minutes: list[float], first: int) -> list[int]:
    return [sum(1 for m in minutes if int(m // WIDTH) == first + d) for d in range(3)]


async def test_the_model_and_the_service_agree_on_a_short_replay(clean_db: str) -> None:
    days = Days(START.year)
    first = days.index[START]
    cases, modelled = replay_through_model(days, first)
    served, due = await replay_through_service(clean_db, days, first)

    # Both read the due date off the same rule (move + 14, rolled to an open day).
    assert sorted(due.values()) == sorted(days.dates[int(c.due // WIDTH) - 1] for c in cases)
    model_days = per_day(list(modelled.values()), first)
    service_days = per_day(list(served.values()), first)
    assert sum(service_days) >= 24, service_days  # the service decided most of them
    for model_count, service_count in zip(model_days, service_days, strict=True):
        assert abs(model_count - service_count) <= 2, (model_days, service_days)

    model_share = sum(modelled.get(c.seq, 1e12) <= c.due for c in cases) / len(cases)
    service_share = sum(
        served.get(application_id, 1e12) < (days.of(on) + 1) * WIDTH
        for application_id, on in due.items()
    ) / len(due)
    assert 0.2 < model_share < 1.0, model_share  # tight enough that some miss their date
    assert abs(model_share - service_share) <= 0.07, (model_share, service_share)

    # The service's event log gives back the minutes the staff took (madoguchi whatif --fit-from).
    fitted = await fit(clean_db, datetime.combine(START, datetime.min.time(), UTC))
    assert fitted == {
        "resident.move_in": {
            TaskKind.ENTRY: MINUTES["entry"],
            TaskKind.VERIFY: MINUTES["verify"],
            TaskKind.REVIEW: MINUTES["review"],
        }
    }


async def fit(database_url: str, since: datetime) -> dict[str, dict[TaskKind, float]]:
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        async with make_sessionmaker(engine)() as session:
            uow = UnitOfWork(session, clock=SystemClock(), settings=make_settings(database_url))
            return await fitted_minutes(uow, "431001", since)
    finally:
        await engine.dispose()
