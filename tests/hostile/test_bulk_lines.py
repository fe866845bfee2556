"""Bulk intake never loses its place: one result per line, in order, committed iff it says so."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.services.bulk import LineSplitter
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Application
from tests.factories import my_number, status_report
from tests.support import LiveServer, Office

NDJSON = {"content-type": "application/x-ndjson"}


async def stored(server: LiveServer) -> dict[str, dict[str, Any]]:
    """external_ref → (id, a few stored values) of every application."""
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            rows = (await session.execute(select(Application))).scalars().all()
            return {
                a.external_ref or a.id: {
                    "id": a.id,
                    "fields": a.fields,
                    "values": a.values,
                    "is_protected": a.is_protected,
                }
                for a in rows
            }
    finally:
        await engine.dispose()


async def count(server: LiveServer) -> int:
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return int(
                (await session.execute(select(func.count()).select_from(Application))).scalar_one()
            )
    finally:
        await engine.dispose()


async def settled_count(server: LiveServer) -> int:
    """The count once the server has finished what it had in hand (a batch may be committing)."""
    last, steady = -1, 0
    for _ in range(100):
        now = await count(server)
        steady = steady + 1 if now == last else 0
        if steady >= 5 and now > 0:
            return now
        last = now
        await asyncio.sleep(0.1)
    return last


def line(ref: str, **fields: Any) -> bytes:
    body = status_report(ref)
    body["received_at"] = "2026-08-10T09:00:00+09:00"
    body["fields"].update(fields)
    return json.dumps(body, ensure_ascii=False).encode()


def results_of(response: httpx2.Response) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.text
    return [json.loads(raw) for raw in response.text.splitlines()]


# ---- splitting -------------------------------------------------------------------------------


def reference_lines(data: bytes, limit: int) -> list[tuple[int, bytes | None]]:
    pieces = data.split(b"\n")
    if pieces and pieces[-1] == b"":
        pieces.pop()
    out: list[tuple[int, bytes | None]] = []
    for number, piece in enumerate(pieces, 1):
        if len(piece) > limit:
            out.append((number, None))
        elif piece.strip():
            out.append((number, piece.removeprefix(b"\xef\xbb\xbf") if number == 1 else piece))
    return out


@given(
    data=st.lists(
        st.sampled_from([b"\n", b" ", b"{", b"}", b"\r\n", b"ab", b"\xff", b"x" * 7]), max_size=60
    ).map(b"".join),
    cuts=st.lists(st.integers(0, 400), max_size=8),
    limit=st.integers(1, 12),
)
def test_any_chunking_gives_the_same_lines(data: bytes, cuts: list[int], limit: int) -> None:
    splitter = LineSplitter(limit)
    got: list[tuple[int, bytes | None]] = []
    edges = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    for start, end in zip(edges, edges[1:], strict=False):
        got.extend(splitter.feed(data[start:end]))
    got.extend(splitter.finish())
    assert got == reference_lines(data, limit)


def test_an_overlong_line_is_not_held_in_memory() -> None:
    splitter = LineSplitter(10)
    for _ in range(1000):
        assert list(splitter.feed(b"y" * 1000)) == []
        assert len(splitter.partial) <= 10
    assert list(splitter.feed(b"z\n{}\n")) == [(1, None), (2, b"{}")]


# ---- over HTTP -------------------------------------------------------------------------------


async def test_every_line_gets_one_result_in_order_and_is_stored_iff_it_says_so(
    server: LiveServer, office: Office
) -> None:
    deep = b'{"a":' * 300 + b"1" + b"}" * 300
    body = b"\n".join(
        [
            line("B-1"),  # 1 created
            line("B-2", previous_year_income=float("nan")),  # 2 NaN
            b"",  # 3 blank: counted, no result
            line("B-3", previous_year_income=float("inf")),  # 4 Infinity
            line("B-4", note=0).replace(b'"note": 0', b'"note": ' + deep),  # 5 depth
            line("B-5", previous_year_income=2**64),  # 6 out of range
            b"\xff\xfe{}",  # 7 invalid UTF-8
            line("B-1"),  # 8 the same form again: duplicate
            line("B-1", claimant_name="別人 太郎"),  # 9 same ref, other content: conflict
            line("B-6", claimant_my_number=123456789012),  # 10 a My Number as a number
            b"   \r",  # 11 blank
            b"{not json",  # 12
            line("B-7"),  # 13 created, no newline at the end
        ]
    )
    async with server.client(office.token("intake")) as intake:
        results = results_of(await intake.post("/applications/bulk", content=body, headers=NDJSON))
    assert [(r["line"], r["status"]) for r in results] == [
        (1, "created"),
        (2, "rejected"),
        (4, "rejected"),
        (5, "rejected"),
        (6, "rejected"),
        (7, "rejected"),
        (8, "duplicate"),
        (9, "conflict"),
        (10, "rejected"),
        (12, "rejected"),
        (13, "created"),
    ]
    codes = {r["line"]: [e["code"] for e in r.get("errors", [])] for r in results}
    assert codes[2] == ["not_finite"] and codes[4] == ["not_finite"] and codes[5] == ["too_deep"]
    assert codes[6] == ["number_out_of_range"] and codes[7] == ["invalid_utf8"]
    assert codes[9] == ["external_ref_conflict"] and codes[10] == ["my_number_not_string"]
    assert results[7]["id"] == results[6]["id"] == results[0]["id"]
    rows = await stored(server)
    assert set(rows) == {"B-1", "B-7"}  # exactly the lines whose result says "created"
    assert (
        rows["B-1"]["fields"]["claimant_name"] == "佐藤 花子"
    )  # the conflicting copy changed nothing


async def test_nan_is_never_stored_as_zero(server: LiveServer, office: Office) -> None:
    body = line("NAN-1", previous_year_income=float("nan"))
    async with server.client(office.token("intake")) as intake:
        [result] = results_of(
            await intake.post("/applications/bulk", content=body + b"\n", headers=NDJSON)
        )
        single = await intake.post(
            "/applications", content=body, headers={"content-type": "application/json"}
        )
    assert result["status"] == "rejected" and single.status_code == 422
    assert await count(server) == 0


async def test_a_body_of_only_newlines_gets_one_problem(server: LiveServer, office: Office) -> None:
    async with server.client(office.token("intake")) as intake:
        results = results_of(
            await intake.post(
                "/applications/bulk", content=b"\n" * (10 * 1024 * 1024), headers=NDJSON
            )
        )
    assert results == [
        {
            "line": 10 * 1024 * 1024,
            "status": "rejected",
            "errors": [
                {
                    "field": "body",
                    "code": "no_lines",
                    "message": "申請の行がありません (no application lines were sent)",
                }
            ],
        }
    ]


async def test_a_10_mib_line_without_a_newline_gets_one_problem(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        results = results_of(
            await intake.post(
                "/applications/bulk", content=b"x" * (10 * 1024 * 1024), headers=NDJSON
            )
        )
    assert [(r["line"], r["status"], r["errors"][0]["code"]) for r in results] == [
        (1, "rejected", "line_too_long")
    ]


async def test_a_broken_connection_leaves_committed_lines_reported_as_stored_on_resend(
    server: LiveServer, office: Office
) -> None:
    lines = [line(f"CUT-{n}") + b"\n" for n in range(1300)]

    async def cut_short() -> AsyncIterator[bytes]:
        for raw in lines[:1100]:
            yield raw
        # The link goes down once the server has stored something: on a busy host it may not
        # have read a single line yet, and a cut before any commit proves nothing.
        for _ in range(200):
            if await count(server) > 0:
                break
            await asyncio.sleep(0.05)
        raise ConnectionResetError("the sender's link went down")

    async with server.client(office.token("intake")) as intake:
        try:
            await intake.post("/applications/bulk", content=cut_short(), headers=NDJSON)
        except (httpx2.HTTPError, ConnectionResetError):
            pass
        committed = await settled_count(server)
        assert 0 < committed < 1300  # whole batches only: what was acknowledged, or in flight
        results = results_of(
            await intake.post("/applications/bulk", content=b"".join(lines), headers=NDJSON)
        )
    assert [r["line"] for r in results] == list(range(1, 1301))
    statuses = [r["status"] for r in results]
    assert statuses.count("duplicate") == committed
    assert statuses.count("created") == 1300 - committed
    assert await count(server) == 1300


async def test_a_my_number_must_be_a_string_in_bulk_too(server: LiveServer, office: Office) -> None:
    body = b"\n".join(
        line(f"MN-{n}", claimant_my_number=value)
        for n, value in enumerate(
            [
                int(my_number("12345678901")),
                [my_number("12345678901")],
                {"n": my_number("12345678901")},
                True,
            ]
        )
    )
    async with server.client(office.token("intake")) as intake:
        results = results_of(await intake.post("/applications/bulk", content=body, headers=NDJSON))
    assert [(r["status"], r["errors"][0]["field"]) for r in results] == [
        ("rejected", "fields.claimant_my_number")
    ] * 4
    assert await count(server) == 0


async def test_vendor_result_lines_get_the_same_shape_limits(
    server: LiveServer, office: Office
) -> None:
    from tests.api.test_vendor import (
        download,
        items_of,
        lease,
        make_contract,
        report,
        seal,
        vendor_token,
    )

    async with server.client(office.token("intake")) as intake:
        assert (await intake.post("/applications", json=report())).status_code == 201
    contract_id = await make_contract(server, office)
    token = await vendor_token(server, office, contract_id)
    [batch] = (await seal(server, office, contract_id))["batches"]
    async with server.client(token) as vendor:
        grant = await lease(vendor, batch["id"])
        [item] = items_of(
            (await download(vendor, batch["id"], grant["lease_token"])).content, "jsonl", "utf-8"
        )
        deep: Any = "佐藤 花子"
        for _ in range(100):
            deep = [deep]
        body = json.dumps({"item": item["item"], "values": {"claimant_name": deep}}).encode()
        response = await vendor.post(
            f"/vendor/batches/{batch['id']}/results",
            content=body + b"\n",
            headers={"Lease-Token": grant["lease_token"], "Content-Type": "application/x-ndjson"},
        )
    [answer] = results_of(response)
    assert answer["status"] == "rejected" and answer["errors"][0]["code"] == "too_deep"
    assert answer["errors"][0]["field"].startswith("values.claimant_name")
