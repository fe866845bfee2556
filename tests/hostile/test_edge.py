"""The HTTP edge against misbehaving clients, on a real uvicorn server with raw sockets.

Slowloris on the head and on the body, 429s without Retry-After, unlimited anonymous routes,
status links that work across offices, naive date-times, cacheable personal data, pages that can
be framed or sniffed: none of them may survive.
"""

import asyncio
import base64
import hashlib
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest

from app.api.schemas import AwareDatetime
from app.main import create_app
from tests.support import LiveServer, Office, make_settings, run_server, seed

HEAD_TIMEOUT_S = 1.0
BODY_TIMEOUT_S = 1.0


@pytest.fixture
async def strict(clean_db: str) -> AsyncIterator[LiveServer]:
    """A server with short head and body deadlines and tight limits on anonymous routes."""
    settings = make_settings(
        clean_db,
        header_timeout_s=HEAD_TIMEOUT_S,
        body_timeout_s=BODY_TIMEOUT_S,
        public_burst=3,
        public_rate_per_s=0.5,
        page_burst=5,
        page_rate_per_s=0.5,
        kiosk_burst=3,
        kiosk_rate_per_s=0.5,
    )
    async with run_server(settings) as live:
        yield live


async def connect(server: LiveServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    port = int(server.url.rsplit(":", 1)[1])
    return await asyncio.open_connection("127.0.0.1", port)


async def read_until_closed(reader: asyncio.StreamReader, limit_s: float) -> bytes:
    return await asyncio.wait_for(reader.read(), limit_s)


async def trickle(writer: asyncio.StreamWriter, data: bytes, every_s: float) -> None:
    """Send ``data`` a byte at a time; stop quietly once the server has closed the connection."""
    for byte in data:
        if writer.is_closing():
            return
        try:
            writer.write(bytes([byte]))
            await writer.drain()
        except ConnectionError:
            return
        await asyncio.sleep(every_s)


# ---- slowloris --------------------------------------------------------------------------------


async def test_headers_sent_a_byte_at_a_time_are_cut_off(strict: LiveServer) -> None:
    reader, writer = await connect(strict)
    started = time.monotonic()
    sender = asyncio.create_task(
        trickle(writer, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200, every_s=0.2)
    )
    answer = await read_until_closed(reader, HEAD_TIMEOUT_S + 4)
    elapsed = time.monotonic() - started
    sender.cancel()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ") and b"request_timeout" in answer
    assert HEAD_TIMEOUT_S * 0.8 <= elapsed <= HEAD_TIMEOUT_S + 2


async def test_a_silent_connection_is_closed(strict: LiveServer) -> None:
    reader, writer = await connect(strict)
    started = time.monotonic()
    answer = await read_until_closed(reader, HEAD_TIMEOUT_S + 4)
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert time.monotonic() - started <= HEAD_TIMEOUT_S + 2


async def test_the_second_request_on_a_kept_alive_connection_has_its_own_deadline(
    strict: LiveServer,
) -> None:
    reader, writer = await connect(strict)
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
    for _ in range(2):  # slower than the deadline in total, each head well within it
        writer.write(request)
        await writer.drain()
        status = await asyncio.wait_for(reader.readline(), 3)
        assert status.startswith(b"HTTP/1.1 200 ")
        headers = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 3)
        length = int(re.search(rb"content-length: (\d+)", headers, re.I).group(1))  # type: ignore[union-attr]
        await reader.readexactly(length)
        await asyncio.sleep(HEAD_TIMEOUT_S * 0.7)
    sender = asyncio.create_task(trickle(writer, request, every_s=0.3))
    answer = await read_until_closed(reader, HEAD_TIMEOUT_S + 4)
    sender.cancel()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 ")


async def test_a_body_sent_slowly_gets_408_and_the_connection_closes(strict: LiveServer) -> None:
    office = Office(await seed(strict.settings.database_url))
    body = b'{"category": "' + office.category("A").encode() + b'"}'
    head = (
        f"POST /api/v1/offices/{office.id}/tickets HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {office.token('kiosk')}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    reader, writer = await connect(strict)
    writer.write(head)
    await writer.drain()
    started = time.monotonic()
    sender = asyncio.create_task(trickle(writer, body, every_s=0.3))
    answer = await read_until_closed(reader, BODY_TIMEOUT_S + 4)
    elapsed = time.monotonic() - started
    sender.cancel()
    writer.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"application/problem+json" in answer and b"request_timeout" in answer
    assert elapsed <= BODY_TIMEOUT_S + 2
    async with strict.client(office.token("counter")) as counter:  # nothing was issued
        board = (await counter.get(f"/offices/{office.id}/lobby")).json()
    assert all(q["waiting"] == 0 for q in board["queues"])


async def test_a_streamed_answer_whose_body_stalls_is_treated_as_a_broken_connection(
    strict: LiveServer,
) -> None:
    """Bulk intake answers line by line while reading: once its answer has started, a body that
    stops coming reaches it as a disconnect (as a broken connection would), and the connection
    is closed; the server stays healthy."""
    office = Office(await seed(strict.settings.database_url))
    body = b'{"procedure": "nope"}\n' * 20
    head = (
        f"POST /api/v1/applications/bulk HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {office.token('intake')}\r\nContent-Type: application/x-ndjson\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    reader, writer = await connect(strict)
    writer.write(head)
    await writer.drain()
    started = time.monotonic()
    sender = asyncio.create_task(trickle(writer, body, every_s=0.2))
    answer = await read_until_closed(reader, BODY_TIMEOUT_S + HEAD_TIMEOUT_S + 4)
    sender.cancel()
    writer.close()
    assert not answer.startswith(b"HTTP/1.1 5")
    assert time.monotonic() - started <= BODY_TIMEOUT_S + HEAD_TIMEOUT_S + 3
    async with strict.client() as anonymous:
        assert (await anonymous.get(strict.url + "/healthz")).status_code == 200


async def test_a_body_sent_in_time_is_served(strict: LiveServer) -> None:
    office = Office(await seed(strict.settings.database_url))
    async with strict.client(office.token("kiosk")) as kiosk:
        issued = await kiosk.post(
            f"/offices/{office.id}/tickets", json={"category": office.category("A")}
        )
    assert issued.status_code == 201, issued.text


# ---- rate limits and Retry-After -------------------------------------------------------------


async def issue(server: LiveServer, office: Office, role: str = "kiosk") -> Any:
    async with server.client(office.token(role)) as client:
        return await client.post(
            f"/offices/{office.id}/tickets", json={"category": office.category("A")}
        )


def assert_limited(response: Any) -> None:
    assert response.status_code == 429, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["code"] == "rate_limited"


@pytest.mark.parametrize("route", ["public", "qr.svg"])
async def test_anonymous_ticket_routes_are_limited_with_retry_after(
    strict: LiveServer, route: str
) -> None:
    office = Office(await seed(strict.settings.database_url))
    ticket = (await issue(strict, office)).json()
    async with strict.client() as anonymous:
        answers = [
            await anonymous.get(
                f"/tickets/{ticket['id']}/{route}", params={"key": ticket["public_key"]}
            )
            for _ in range(5)
        ]
    assert [a.status_code for a in answers[:3]] == [200, 200, 200]
    assert_limited(answers[-1])


@pytest.mark.parametrize("role", ["kiosk", "counter"])
async def test_ticket_issue_is_limited_per_token_kiosk_and_counter(
    strict: LiveServer, role: str
) -> None:
    office = Office(await seed(strict.settings.database_url))
    answers = [await issue(strict, office, role) for _ in range(5)]
    assert [a.status_code for a in answers[:3]] == [201, 201, 201]
    assert_limited(answers[-1])


@pytest.mark.parametrize("path", ["/status/", "/docs", "/openapi.json", "/healthz", "/display/"])
async def test_pages_docs_and_health_are_limited_per_address(strict: LiveServer, path: str) -> None:
    async with strict.client() as anonymous:
        answers = [await anonymous.get(strict.url + path) for _ in range(7)]
    assert all(a.status_code == 200 for a in answers[:5]), [a.status_code for a in answers]
    assert_limited(answers[-1])


# ---- status links bound to their office -------------------------------------------------------


async def test_a_status_link_does_not_work_through_another_office(
    server: LiveServer, office: Office
) -> None:
    other = Office(await seed(server.settings.database_url, "131211"))
    ticket = (await issue(server, office)).json()
    assert f"office={office.id}" in ticket["status_url"]
    async with server.client() as anonymous:
        for route in ("public", "qr.svg"):
            url = f"/tickets/{ticket['id']}/{route}"
            own = await anonymous.get(
                url, params={"key": ticket["public_key"], "office": office.id}
            )
            assert own.status_code == 200
            across = await anonymous.get(
                url, params={"key": ticket["public_key"], "office": other.id}
            )
            assert (
                across.status_code == 404
                and across.headers["content-type"] == "application/problem+json"
            )
            assert across.json()["code"] == "not_found"


# ---- naive date-times -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "naive", ["2030-01-01T00:00:00", "2030-01-01 09:00", "2030-01-01T00:00:00.5"]
)
async def test_a_naive_expiry_is_a_field_level_422_and_creates_nothing(
    server: LiveServer, office: Office, naive: str
) -> None:
    async with server.client(office.token("admin")) as admin:
        before = (await admin.get("/admin/tokens")).json()
        refused = await admin.post(
            "/admin/tokens",
            json={"role": "display", "name": "lobby", "expires_at": naive, "office_id": office.id},
        )
        assert refused.status_code == 422, refused.text
        [error] = refused.json()["errors"]
        assert (error["field"], error["code"]) == ("expires_at", "timezone_required")
        assert "タイムゾーン" in error["message"] and "UTC offset" in error["message"]
        assert (await admin.get("/admin/tokens")).json() == before
        accepted = await admin.post(
            "/admin/tokens",
            json={
                "role": "display",
                "name": "lobby",
                "expires_at": naive[:19].replace(" ", "T") + "+09:00",
                "office_id": office.id,
            },
        )
        assert accepted.status_code == 201, accepted.text


def test_every_request_date_time_requires_an_offset() -> None:
    """No request model of any route takes a plain datetime: each uses AwareDatetime."""
    from fastapi.routing import APIRoute, iter_route_contexts
    from pydantic import BaseModel

    aware_metadata = AwareDatetime.__metadata__  # type: ignore[attr-defined]
    seen: list[str] = []

    def walk(model: type[BaseModel]) -> None:
        for name, field in model.model_fields.items():
            annotation = repr(field.annotation)
            # A moment (datetime.datetime), not a time of day (datetime.time: opening hours).
            if "datetime.datetime" in annotation:
                seen.append(f"{model.__name__}.{name}")
                assert any(repr(m) in annotation or m in field.metadata for m in aware_metadata), (
                    f"{model.__name__}.{name} takes a naive datetime"
                )
            for arg in getattr(field.annotation, "__args__", ()) or ():
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    walk(arg)

    app = create_app(make_settings("sqlite+aiosqlite:///:memory:"))
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, APIRoute):
            for param in route.dependant.body_params + route.dependant.query_params:
                annotation = param.field_info.annotation
                if isinstance(annotation, type) and issubclass(annotation, BaseModel):
                    walk(annotation)
                else:
                    assert annotation is not datetime, (
                        f"{route.path} {param.name} takes a naive datetime"
                    )
    assert {"CreateToken.expires_at", "CreateVendorToken.expires_at"} <= set(seen)


# ---- response headers --------------------------------------------------------------------------


async def test_personal_data_is_never_cached_and_nothing_is_sniffed(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("supervisor")) as supervisor:
        for path in ("/access-log", "/work/operators", "/work/me", "/admin/vendor-contracts"):
            response = await supervisor.get(path)
            assert response.status_code < 500, (path, response.status_code)
            assert response.headers["cache-control"] == "no-store", path
            assert response.headers["x-content-type-options"] == "nosniff", path
            assert "frame-ancestors 'none'" in response.headers["content-security-policy"], path
        missing = await supervisor.get("/applications/nope")
        assert missing.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "page", ["/display/", "/kiosk/", "/counter/", "/status/", "/console/", "/web-common/api.js"]
)
async def test_pages_cannot_be_framed_and_load_only_from_this_origin(
    server: LiveServer, page: str
) -> None:
    async with server.client() as anonymous:
        response = await anonymous.get(server.url + page)
    assert response.status_code == 200
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"
    csp = response.headers["content-security-policy"]
    assert (
        "frame-ancestors 'none'" in csp
        and "default-src 'self'" in csp
        and "script-src 'self';" in csp
    )
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp


async def test_the_docs_page_allows_exactly_its_own_inline_script(server: LiveServer) -> None:
    async with server.client() as anonymous:
        response = await anonymous.get(server.url + "/docs")
    assert response.status_code == 200 and response.headers["x-frame-options"] == "DENY"
    [script] = re.findall(rb"<script>(.*?)</script>", response.content, re.S)
    digest = base64.b64encode(hashlib.sha256(script).digest()).decode()
    csp = response.headers["content-security-policy"]
    assert f"'sha256-{digest}'" in csp and "frame-ancestors 'none'" in csp
    assert "'unsafe-inline'" not in csp.split("script-src", 1)[1].split(";", 1)[0]
    assert int(response.headers["content-length"]) == len(response.content)
