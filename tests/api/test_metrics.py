"""GET /metrics: queue depth, oldest age and overdue per municipality, procedure and step; lobby
waits."""

from datetime import date, timedelta
from typing import Any

import httpx2
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import event

from tests.api.test_work_queue import claim, receive
from tests.factories import move_in, status_report
from tests.support import LiveServer, Office


async def scrape(server: LiveServer) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    async with httpx2.AsyncClient(base_url=server.url) as client:
        response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def at(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples[(name, frozenset(labels.items()))]


async def test_metrics_per_municipality_procedure_and_step(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    late = move_in()
    late["fields"]["move_date"] = "令和8年10月1日"  # due 14 days later: long past
    await receive(server, office, late)
    on_time = move_in(applicant={"family_name": "別", "household_ref": "H-2"})
    # Moved yesterday: due in 13 days whatever the day the suite runs.
    on_time["fields"]["move_date"] = (date.today() - timedelta(days=1)).isoformat()
    on_time["fields"]["filing_date"] = date.today().isoformat()
    on_time.pop("ocr")
    await receive(server, office, on_time)
    await receive(server, other_office, status_report())
    async with server.client(office.token("operator")) as operator:
        assert await claim(operator) is not None
    async with server.client(office.token("kiosk")) as kiosk:
        for _ in range(2):
            issued = await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("B")}
            )
            assert issued.status_code == 201

    # Only the scrape's own statements are counted: the background jobs stop first.
    await server.app.state.jobs.stop()
    statements: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        statements.append(statement)

    engine = server.app.state.resources.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        samples = await scrape(server)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) <= 2

    kumamoto = {"municipality": "431001", "procedure": "resident.move_in", "kind": "entry"}
    assert at(samples, "madoguchi_queue_depth", **kumamoto) == 2
    assert at(samples, "madoguchi_queue_leased", **kumamoto) == 1
    assert at(samples, "madoguchi_queue_overdue", **kumamoto) == 1
    assert at(samples, "madoguchi_queue_oldest_age_seconds", **kumamoto) >= 0
    adachi = {"municipality": "131211", "procedure": "child_rearing.status_report", "kind": "entry"}
    assert at(samples, "madoguchi_queue_depth", **adachi) == 1
    waiting = {"municipality": "431001", "office": office.id, "category": "B"}
    assert at(samples, "madoguchi_tickets_waiting", **waiting) == 2
    assert at(samples, "madoguchi_ticket_wait_oldest_seconds", **waiting) >= 0
    assert at(samples, "madoguchi_display_connections") == 0
    assert at(samples, "madoguchi_metrics_database_up") == 1

    # The same figures the supervisor's screen shows.
    async with server.client(office.token("supervisor")) as supervisor:
        stats = (await supervisor.get("/work/stats")).json()
    step = next(
        s for s in stats["steps"] if s["procedure"] == "resident.move_in" and s["kind"] == "entry"
    )
    assert at(samples, "madoguchi_queue_due_today", **kumamoto) == step["due_today"]
    assert at(samples, "madoguchi_queue_overdue", **kumamoto) == step["overdue"]
    async with server.client(other_office.token("supervisor")) as supervisor:
        theirs = (await supervisor.get("/work/stats")).json()["steps"]
    assert at(samples, "madoguchi_queue_overdue", **adachi) == theirs[0]["overdue"]
    assert at(samples, "madoguchi_queue_due_today", **adachi) == theirs[0]["due_today"]


async def test_metrics_on_an_empty_database(server: LiveServer) -> None:
    samples = await scrape(server)
    assert at(samples, "madoguchi_metrics_database_up") == 1
    assert not [name for name, _labels in samples if name == "madoguchi_queue_depth"]
