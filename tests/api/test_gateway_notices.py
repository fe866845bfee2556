"""Near-turn notices through the office's LINE/SMS gateway webhook, received by a real HTTP
server in this event loop: near and called once each in the ticket's language, signed; a 503
or 429 is retried and delivered once, a 400 is never retried; numbers are checked (nothing
stored for a bad one), offered only where the office has a gateway, and forgotten after the
day."""

import asyncio
import json
import logging
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.pool import NullPool

from app.domain import gateway
from app.domain.clock import SystemClock
from app.jobs import JobContext
from app.jobs.notify import run
from app.settings import GatewaySettings, NotifySettings
from app.storage.db import create_engine, make_sessionmaker
from tests.api.test_near_turn_notices import A_OTHERS, Later, call_next, issue, serve_next
from tests.support import LiveServer, Office

SECRET = "gateway-secret-for-tests"
I18N = Path(__file__).resolve().parents[2] / "clients" / "web" / "common" / "i18n"


def near_text(language: str, text: str, *, number: str, ahead: int | str = "NNN") -> bool:
    """Whether ``text`` is the catalogue's "near" words (any estimate) without the footer."""
    words = json.loads((I18N / f"{language}.json").read_text(encoding="utf-8"))
    template = words["notify.near.body"].format(number=number, ahead=ahead, minutes="MMM")
    pattern = re.escape(template).replace("MMM", r"\d+").replace("NNN", r"\d+")
    return re.fullmatch(pattern, text) is not None


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes

    def json(self) -> dict[str, Any]:
        return dict(json.loads(self.body))


@dataclass
class Gateway:
    """An HTTP/1.1 server in this event loop: answers the statuses in ``answers`` first (0: no
    answer at all), then 200, and keeps every request it was sent."""

    port: int = 0
    answers: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    delivered: list[Received] = field(default_factory=list)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        headers = {}
        for line in head[1:]:
            if ":" in line:
                name, value = line.split(":", 1)
                headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        assert head[0].startswith("POST /hook ")
        received = Received(headers, body)
        self.requests.append(received)
        status = self.answers.pop(0) if self.answers else 200
        if status == 0:  # no answer: wait for the sender to give up and close
            await reader.read()
            writer.close()
            return
        if status == 200:
            self.delivered.append(received)
        writer.write(
            f"HTTP/1.1 {status} X\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode()
        )
        await writer.drain()
        writer.close()

    def messages(self) -> list[tuple[str, str, str]]:
        return [(r.json()["to"], r.json()["kind"], r.json()["text"]) for r in self.delivered]


@pytest.fixture
async def hook() -> AsyncIterator[Gateway]:
    handler = Gateway()
    server = await asyncio.start_server(handler.handle, "127.0.0.1", 0)
    handler.port = server.sockets[0].getsockname()[1]
    try:
        yield handler
    finally:
        server.close()
        await server.wait_closed()


def notify_settings(
    office: Office, hook: Gateway, channel: str = "sms", timeout_s: float = 10, **more: Any
) -> Any:
    # Only the "tickets ahead" rule here; no backoff unless asked.
    more = {"allow_http_gateway": True, "near_minutes": 0, "backoff_s": 0, **more}
    return NotifySettings(
        near_ahead=3,
        gateways={
            office.id: GatewaySettings(
                url=f"http://127.0.0.1:{hook.port}/hook",
                secret=SECRET,  # type: ignore[arg-type]
                channel=channel,  # type: ignore[arg-type]
                timeout_s=timeout_s,
            )
        },
        **more,
    )


def offer(server: LiveServer, notify: NotifySettings) -> None:
    """The API's settings get the gateway; the server's own notify job keeps its settings
    (none), so only the test's runs send."""
    server.app.state.settings = server.settings.model_copy(update={"notify": notify})


@pytest.fixture
async def job(server: LiveServer, office: Office, hook: Gateway) -> AsyncIterator[Any]:
    """The office has an SMS gateway (the live server too); one run of the notify job."""
    offer(server, notify_settings(office, hook))
    engine = create_engine(server.settings.database_url, poolclass=NullPool)

    async def run_once(clock: Any = None, **notify: Any) -> None:
        settings = server.settings.model_copy(
            update={"notify": notify_settings(office, hook, **notify)}
        )
        await run(JobContext(make_sessionmaker(engine), clock or SystemClock(), settings))

    run_once.engine = engine  # type: ignore[attr-defined]
    yield run_once
    await engine.dispose()


async def ask(server: LiveServer, ticket: dict[str, Any], **contact: str) -> Any:
    async with server.client() as anonymous:
        return await anonymous.post(
            f"/tickets/{ticket['id']}/public/notify",
            json={"key": ticket["public_key"], **contact},
        )


async def stored(job: Any, sql: str) -> list[Any]:
    async with job.engine.connect() as connection:
        return list((await connection.execute(text(sql))).all())


async def test_near_and_called_reach_the_gateway_once_each_signed_in_the_tickets_language(
    server: LiveServer, office: Office, hook: Gateway, job: Any
) -> None:
    for _ in range(A_OTHERS):
        await issue(server, office)
    english = await issue(server, office, language="en", phone="090-1234-5678")
    vietnamese = await issue(server, office, language="vi")
    async with server.client() as anonymous:
        page = await anonymous.get(
            f"/tickets/{vietnamese['id']}/public", params={"key": vietnamese["public_key"]}
        )
    assert page.json()["gateway"] == "sms"  # the status page offers the number
    assert (await ask(server, vietnamese, phone="+81 80 9876 5432")).status_code == 204

    await job()
    assert hook.requests == []  # 5 and 6 tickets ahead: not near yet
    await serve_next(server, office)
    await serve_next(server, office)
    await job()
    await job()  # nothing is sent twice
    assert [(to, kind) for to, kind, _ in hook.messages()] == [("+819012345678", "near")]
    assert near_text("en", hook.messages()[0][2], number="A-006", ahead=3)
    first = hook.delivered[0]
    assert first.json() == {
        "id": f"{english['id']}.near",
        "channel": "sms",
        "to": "+819012345678",
        "language": "en",
        "text": first.json()["text"],
        "ticket_number": "A-006",
        "kind": "near",
    }
    signed = first.headers["madoguchi-signature"]
    assert gateway.verify(SECRET, signed, first.body, int(time.time()))
    assert not gateway.verify("another secret", signed, first.body, int(time.time()))
    assert not gateway.verify(SECRET, signed, first.body + b" ", int(time.time()))

    for _ in range(3):
        await serve_next(server, office)
    assert (await call_next(server, office))["id"] == english["id"]
    await job()
    await job()
    vietnamese_text = next(t for to, _, t in hook.messages() if to == "+818098765432")
    assert sorted(hook.messages()) == [
        ("+818098765432", "near", vietnamese_text),
        ("+819012345678", "called", "Number A-006 is being called. Please go to Counter 2."),
        ("+819012345678", "near", first.json()["text"]),
    ]
    assert near_text("vi", vietnamese_text, number="A-007", ahead=0)
    assert len(hook.requests) == 3
    assert all(len(r.json()["text"]) <= gateway.MAX_TEXT for r in hook.requests)


async def test_a_busy_gateway_is_retried_and_a_refusal_is_not(
    server: LiveServer, office: Office, hook: Gateway, job: Any, caplog: Any
) -> None:
    caplog.set_level(logging.INFO)
    busy = await issue(server, office, language="ja", phone="07011112222")
    hook.answers = [503, 429, 0]
    await job(backoff_s=60, max_attempts=8)
    await job(backoff_s=60, max_attempts=8)  # within the backoff: no second try
    assert (len(hook.requests), hook.delivered) == (1, [])
    later = Later(timedelta(seconds=61))
    for _ in range(4):
        await job(clock=later, timeout_s=1, max_attempts=8)
    assert len(hook.requests) == 4  # 503, 429, no answer within the timeout, 200
    assert [r.json()["id"] for r in hook.requests] == [f"{busy['id']}.near"] * 4  # one key
    assert [(to, kind) for to, kind, _ in hook.messages()] == [("+817011112222", "near")]
    assert near_text("ja", hook.messages()[0][2], number="A-001", ahead=0)
    assert busy["id"] in caplog.text and "503" in caplog.text
    assert "7011112222" not in caplog.text  # the ticket and the answer, never the number

    refused = await issue(server, office, language="ja", phone="080-3333-4444")
    hook.answers = [400]
    for _ in range(3):
        await job(clock=later, max_attempts=8)
    assert (await call_next(server, office))["id"] == busy["id"]
    await call_next(server, office)  # the refused ticket is called: still nothing more for it
    for _ in range(2):
        await job(clock=later, max_attempts=8)
    sent_to = [r.json()["to"] for r in hook.requests]
    assert sent_to.count("+818033334444") == 1
    assert hook.messages()[-1][:2] == ("+817011112222", "called")
    rows = await stored(
        job, f"SELECT refused, sent FROM ticket_notice WHERE ticket_id = '{refused['id']}'"
    )
    assert [
        (row[0], json.loads(row[1]) if isinstance(row[1], str) else row[1]) for row in rows
    ] == [("HTTP 400", [])]


async def test_bad_numbers_are_refused_unoffered_channels_too_and_numbers_end_with_the_day(
    server: LiveServer, office: Office, other_office: Office, hook: Gateway, job: Any
) -> None:
    bad = [
        "0312345678",
        "090-1234-567",
        "+8109012345678",
        "０９０１２３４５６７８",
        "060-1234-5678",
    ]
    async with server.client(office.token("kiosk")) as kiosk:
        for number in bad:
            refused = await kiosk.post(
                f"/offices/{office.id}/tickets",
                json={"category": office.category("A"), "phone": number},
            )
            assert refused.status_code == 422, number
            assert refused.headers["content-type"].startswith("application/problem+json")
            assert refused.json()["errors"][0]["field"] == "phone"
        both = await kiosk.post(
            f"/offices/{office.id}/tickets",
            json={"category": office.category("A"), "phone": "09012345678", "email": "a@b.jp"},
        )
        assert both.status_code == 422
    # The office's gateway serves SMS, not LINE; the other office has none.
    ticket = await issue(server, office)
    line = await ask(server, ticket, line="U0123456789abcdef")
    assert (line.status_code, line.json()["errors"][0]["field"]) == (422, "line")
    assert (await ask(server, ticket, phone="09O12345678")).status_code == 422
    elsewhere = await issue(server, other_office)
    no_gateway = await ask(server, elsewhere, phone="090-1234-5678")
    assert no_gateway.json()["errors"][0]["code"] == "not_offered"
    async with server.client() as anonymous:
        page = await anonymous.get(
            f"/tickets/{elsewhere['id']}/public", params={"key": elsewhere["public_key"]}
        )
    assert page.json()["gateway"] is None
    async with server.client(other_office.token("kiosk")) as kiosk:
        unoffered = await kiosk.post(
            f"/offices/{other_office.id}/tickets",
            json={"category": other_office.category("A"), "phone": "09012345678"},
        )
        assert (unoffered.status_code, unoffered.json()["errors"][0]["code"]) == (
            422,
            "not_offered",
        )
        foreign = await kiosk.post(  # another municipality's office: not found, whatever else
            f"/offices/{office.id}/tickets",
            json={"category": office.category("A"), "phone": "09012345678"},
        )
        assert foreign.status_code == 404
    assert await stored(job, "SELECT ticket_id FROM ticket_notice") == []
    assert len(await stored(job, "SELECT id FROM ticket")) == 2  # no number taken for the bad

    assert (await ask(server, ticket, phone="090-5555-6666")).status_code == 204
    await job(clock=Later(timedelta(days=1)))
    assert hook.requests == []  # the ticket's day is over: nothing is sent
    assert await stored(job, "SELECT recipient, email FROM ticket_notice") == [(None, None)]


async def test_line_ids_are_kept_as_given_without_a_relay_and_http_needs_the_local_setting(
    server: LiveServer, office: Office, hook: Gateway, job: Any
) -> None:
    offer(server, notify_settings(office, hook, channel="line"))
    by_mail = await issue(server, office, email="taro@example.jp")  # no relay configured here
    ticket = await issue(server, office, line="U4af4980629abcdef")
    assert (await ask(server, ticket, line="has space")).status_code == 422
    await job(channel="line")
    assert [(r.json()["channel"], r.json()["to"]) for r in hook.delivered] == [
        ("line", "U4af4980629abcdef")
    ]
    waiting_mail = await stored(
        job, f"SELECT attempts, email FROM ticket_notice WHERE ticket_id = '{by_mail['id']}'"
    )
    assert waiting_mail == [(0, "taro@example.jp")]  # kept for a relay, not counted as tried
    with pytest.raises(ValidationError, match="https://"):
        notify_settings(office, hook, allow_http_gateway=False)
