"""Near-turn e-mails through a real SMTP server in process (aiosmtpd): told once when N tickets
are ahead, once when called, in the ticket's language, with only the number and the counter; a
relay that fails is retried after a backoff and never more than the per-ticket cap; addresses
are forgotten once the day has ended."""

import asyncio
import email
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import policy
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from app.domain.clock import SystemClock
from app.jobs import JobContext
from app.jobs.notify import run
from app.settings import NotifySettings, SmtpSettings
from app.storage.db import create_engine, make_sessionmaker
from tests.support import LiveServer, Office

A_OTHERS = 5  # tickets issued before the ones that ask to be told


@dataclass
class Relay:
    """An SMTP server in this event loop: refuses the first ``fail_first`` messages (451)."""

    port: int = 0
    fail_first: int = 0
    tries: int = 0
    received: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        self.tries += 1
        if self.tries <= self.fail_first:
            return "451 4.3.0 Try again later"
        assert isinstance(envelope.content, bytes)
        message = email.message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.received.append(message)
        return "250 OK"

    def kinds(self) -> list[tuple[str, str]]:
        return [(str(m["To"]), str(m["Subject"])) for m in self.received]


@pytest.fixture
async def relay() -> AsyncIterator[Relay]:
    handler = Relay()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(handler, hostname="relay.test"), "127.0.0.1", 0)
    handler.port = server.sockets[0].getsockname()[1]
    try:
        yield handler
    finally:
        server.close()
        await server.wait_closed()


class Later:
    def __init__(self, delta: timedelta) -> None:
        self.delta = delta

    def now(self) -> datetime:
        return SystemClock().now() + self.delta


@pytest.fixture
async def job(server: LiveServer, relay: Relay) -> AsyncIterator[Any]:
    """One run of the notify job against the relay (``clock``/settings overridable)."""
    engine = create_engine(server.settings.database_url, poolclass=NullPool)

    async def run_once(clock: Any = None, **notify: Any) -> None:
        settings = server.settings.model_copy(
            update={
                "notify": NotifySettings(
                    **{
                        "near_ahead": 3,
                        "near_minutes": 0,  # only the "tickets ahead" rule here
                        "backoff_s": 0,
                        "smtp": SmtpSettings(host="127.0.0.1", port=relay.port),
                        **notify,
                    }
                )
            }
        )
        await run(JobContext(make_sessionmaker(engine), clock or SystemClock(), settings))

    run_once.engine = engine  # type: ignore[attr-defined]
    yield run_once
    await engine.dispose()


async def issue(server: LiveServer, office: Office, **body: Any) -> Any:
    async with server.client(office.token("kiosk")) as kiosk:
        response = await kiosk.post(
            f"/offices/{office.id}/tickets", json={"category": office.category("A"), **body}
        )
    assert response.status_code == 201, response.text
    return response.json()


async def ask(server: LiveServer, ticket: dict[str, Any], address: str) -> Any:
    async with server.client() as anonymous:
        return await anonymous.post(
            f"/tickets/{ticket['id']}/public/notify",
            json={"key": ticket["public_key"], "email": address},
        )


async def call_next(server: LiveServer, office: Office) -> Any:
    async with server.client(office.token("counter")) as counter:
        called = await counter.post(f"/counters/{office.counter('2')}/call-next")
        assert called.status_code == 200, called.text
        return called.json()


async def serve_next(server: LiveServer, office: Office) -> None:
    ticket = await call_next(server, office)
    async with server.client(office.token("counter")) as counter:
        assert (await counter.post(f"/tickets/{ticket['id']}/start")).status_code == 200
        assert (await counter.post(f"/tickets/{ticket['id']}/finish")).status_code == 200


async def test_told_once_when_near_and_once_when_called_in_the_tickets_language(
    server: LiveServer, office: Office, relay: Relay, job: Any
) -> None:
    for _ in range(A_OTHERS):
        await issue(server, office)
    english = await issue(server, office, language="en", email="en@example.jp")
    vietnamese = await issue(server, office, language="vi")
    assert (await ask(server, vietnamese, "vi@example.jp")).status_code == 204

    await job()
    assert relay.received == []  # 5 and 6 tickets ahead: not near yet

    await serve_next(server, office)
    await serve_next(server, office)
    await job()
    await job()  # nothing is sent twice
    assert relay.kinds() == [("en@example.jp", "Your turn is near: A-006")]
    body = relay.received[0].get_content()
    assert "3 ticket(s) ahead of number A-006" in body

    for _ in range(3):
        await serve_next(server, office)
    called = await call_next(server, office)
    assert called["id"] == english["id"]
    await job()
    await job()
    assert sorted(relay.kinds()) == [
        ("en@example.jp", "Now calling: A-006"),
        ("en@example.jp", "Your turn is near: A-006"),
        ("vi@example.jp", "Sắp đến lượt bạn: A-007"),
    ]
    call = next(m for m in relay.received if m["Subject"] == "Now calling: A-006")
    assert "Please go to Counter 2." in call.get_content()
    # Only the number and the counter: no other ticket's number, no office staff data.
    assert all("A-001" not in m.get_content() for m in relay.received)


async def test_a_failing_relay_is_retried_after_a_backoff_and_the_cap_holds(
    server: LiveServer, office: Office, relay: Relay, job: Any
) -> None:
    ticket = await issue(server, office, language="ja", email="taro@example.jp")
    relay.fail_first = 2
    # A backoff of 20 s keeps the clock moved below inside the business day except in the
    # last 21 s before midnight Japan time (the ticket's day would be over).
    await job(max_attempts=3, backoff_s=20)
    await job(max_attempts=3, backoff_s=20)  # within the backoff: no second try
    assert (relay.tries, relay.received) == (1, [])
    later = Later(timedelta(seconds=21))  # past the backoff; no backoff from now on
    await job(max_attempts=3, clock=later)
    await job(max_attempts=3, clock=later)
    assert relay.tries == 3
    assert [m["Subject"] for m in relay.received] == ["まもなく順番です: A-001"]

    # Called now, but three attempts were made already: the cap holds, nothing more is sent.
    assert (await call_next(server, office))["id"] == ticket["id"]
    for _ in range(3):
        await job(max_attempts=3, clock=later)
    assert relay.tries == 3


async def test_bad_addresses_are_refused_and_addresses_are_forgotten_after_the_day(
    server: LiveServer, office: Office, relay: Relay, job: Any
) -> None:
    async with server.client(office.token("kiosk")) as kiosk:
        refused = await kiosk.post(
            f"/offices/{office.id}/tickets",
            json={"category": office.category("A"), "email": "not an address"},
        )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "email"
    ticket = await issue(server, office)
    assert (await ask(server, ticket, "a@b")).status_code == 422
    assert (await ask(server, {**ticket, "public_key": "wrong"}, "a@example.jp")).status_code == 404
    assert (await ask(server, ticket, "hanako@example.jp")).status_code == 204
    async with server.client() as anonymous:
        page = await anonymous.get(
            f"/tickets/{ticket['id']}/public", params={"key": ticket["public_key"]}
        )
    assert page.json()["near"] is True  # nobody ahead: the status page alerts

    await job(clock=Later(timedelta(days=1)))
    assert relay.received == []  # the ticket's day is over: nothing is sent
    async with job.engine.connect() as connection:
        kept = (await connection.execute(text("SELECT email FROM ticket_notice"))).all()
    assert kept == [(None,)]
