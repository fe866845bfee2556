"""Shape limits at the edge: a poisoned body is refused before it is stored, and whatever is
accepted can be read, claimed, exported and sealed."""

import asyncio
import json
from datetime import UTC, datetime
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from app.domain.shape import SAFE_INTEGER, ShapeLimits, check_shape, loads
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Application, Task
from tests.factories import status_report
from tests.support import LiveServer, Office

PROCEDURE = "child_rearing.status_report"
JSON = {"content-type": "application/json"}


async def count(server: LiveServer, table: type) -> int:
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return int(
                (await session.execute(select(func.count()).select_from(table))).scalar_one()
            )
    finally:
        await engine.dispose()


def nested(depth: int, leaf: Any = "x") -> Any:
    value = leaf
    for level in range(depth):
        value = {"a": value} if level % 2 else [value]
    return value


def with_field(value: Any, ref: str = "HOSTILE-1") -> bytes:
    body = status_report(ref)
    body["fields"]["note"] = value
    return json.dumps(body, ensure_ascii=False).encode()


# ---- the pure checker ------------------------------------------------------------------------


def test_check_shape_names_each_problem_by_its_path() -> None:
    limits = ShapeLimits(
        max_depth=4, max_string_chars=5, max_members=8, max_items=4, max_abs_integer=99
    )
    value = loads(
        '{"a": {"b": [[["deep"]]]}, "s": "toolong", "l": [1, 2, 3, 4, 5], "n": NaN, "i": -Infinity,'
        ' "big": 100, "huge": 1e400, "ok": [1.5, true, null, "short"]}'
    )
    problems = {(p["field"], p["code"]) for p in check_shape(value, limits)}
    assert problems == {
        ("a.b[0][0]", "too_deep"),
        ("s", "string_too_long"),
        ("l", "too_many_items"),
        ("n", "not_finite"),
        ("i", "not_finite"),
        ("big", "number_out_of_range"),
        ("huge", "number_out_of_range"),
    }
    assert check_shape(loads('{"a": {"b": [1, 2]}, "n": -99, "f": 1e300}'), limits) == []
    assert {p["code"] for p in check_shape({str(n): n for n in range(9)}, limits)} == {
        "too_many_members"
    }


def test_check_shape_is_iterative_and_bounded_for_any_depth() -> None:
    problems = check_shape(nested(200_000))
    assert [p["code"] for p in problems] == ["too_deep"]


# ---- the edge --------------------------------------------------------------------------------


async def test_a_field_nested_256_deep_is_refused_and_the_queue_still_claims(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        fine = await intake.post("/applications", json=status_report("FINE-1"))
        assert fine.status_code == 201, fine.text
        poisoned = await intake.post("/applications", content=with_field(nested(256)), headers=JSON)
    assert poisoned.status_code == 422, poisoned.text
    assert poisoned.headers["content-type"] == "application/problem+json"
    [error] = poisoned.json()["errors"]
    assert error["code"] == "too_deep" and error["field"].startswith("fields.note")
    assert await count(server, Application) == 1
    async with server.client(office.token("operator")) as operator:
        claimed = await operator.post("/work/claim", json={})
        assert claimed.status_code == 200, claimed.text
        assert claimed.json()["application_id"] == fine.json()["id"]
        assert (await operator.get(f"/applications/{fine.json()['id']}")).status_code == 200
        released = await operator.post(
            f"/work/{claimed.json()['id']}/release",
            json={"lease_token": claimed.json()["lease_token"]},
        )
        assert released.status_code == 200
    # And the vendor seal takes the good form.
    from tests.api.test_vendor import make_contract, seal

    [batch] = (await seal(server, office, await make_contract(server, office)))["batches"]
    assert batch["item_count"] == 1


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("NaN", "not_finite"),
        ("Infinity", "not_finite"),
        ("-Infinity", "not_finite"),
        ("1e400", "number_out_of_range"),
        (str(SAFE_INTEGER + 1), "number_out_of_range"),
        ("-" + "9" * 5000, "number_out_of_range"),
        (json.dumps("あ" * 20_001), "string_too_long"),
        (json.dumps({f"k{n}": n for n in range(1_001)}), "too_many_members"),
        (json.dumps(list(range(1_001))), "too_many_items"),
        ("[" * 100_000 + "]" * 100_000, "too_deep"),
    ],
)
async def test_bad_values_anywhere_are_a_field_level_422_and_nothing_is_stored(
    server: LiveServer, office: Office, raw: str, code: str
) -> None:
    body = with_field("PLACEHOLDER").replace(b'"PLACEHOLDER"', raw.encode())
    async with server.client(office.token("intake")) as intake:
        response = await intake.post("/applications", content=body, headers=JSON)
        bulk = await intake.post(
            "/applications/bulk",
            content=body + b"\n",
            headers={"content-type": "application/x-ndjson"},
        )
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert code in {e["code"] for e in response.json()["errors"]}
    assert all(e["field"].startswith(("fields.note", "body")) for e in response.json()["errors"])
    [line] = [json.loads(line) for line in bulk.text.splitlines()]
    assert line["status"] == "rejected" and code in {e["code"] for e in line["errors"]}
    assert await count(server, Application) == 0 and await count(server, Task) == 0


async def test_every_json_route_gets_the_same_limits(server: LiveServer, office: Office) -> None:
    async with server.client(office.token("operator")) as operator:
        nan_claim = await operator.post("/work/claim", content=b'{"kinds": NaN}', headers=JSON)
        no_type = await operator.post(
            "/work/claim", content=b'{"kinds": [' + b"[" * 40 + b"]" * 40 + b"]}"
        )
    async with server.client(office.token("admin")) as admin:
        token = await admin.post(
            "/admin/tokens",
            content=b'{"role": "operator", "name": "x", "employer": "city", "n": Infinity}',
            headers={"content-type": "application/merge-patch+json"},
        )
    for response in (nan_claim, no_type, token):
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["code"] in ("not_finite", "too_deep")


async def test_a_body_over_the_size_limit_is_a_413_problem(
    server: LiveServer, office: Office
) -> None:
    body = with_field("あ" * 10, ref="BIG").replace(b"\xe3\x81\x82" * 10, b" " * (11 * 1024 * 1024))
    async with server.client(office.token("intake")) as intake:
        response = await intake.post("/applications", content=body, headers=JSON)
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "too_large"
    assert await count(server, Application) == 0


# ---- whatever is accepted can be read, claimed, exported and sealed --------------------------

LIMITS = ShapeLimits()
odd_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40
) | st.sampled_from(
    ["𠮷", "髙", "\u200d", "\ufeff", "葛\U000e0100", "\u202e", "①", "=SUM(A1)", "ｱ"]
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers(-LIMITS.max_abs_integer, LIMITS.max_abs_integer)
    | st.sampled_from([LIMITS.max_abs_integer, -LIMITS.max_abs_integer, 0.0, -0.0, 1e308, 5e-324])
    | st.floats(allow_nan=False, allow_infinity=False)
    | odd_text
    | st.just("長" * LIMITS.max_string_chars)
)


def _nested(inner: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.lists(inner, max_size=4) | st.dictionaries(odd_text, inner, max_size=4)


json_values = st.recursive(scalars, _nested, max_leaves=12)


@st.composite
def accepted_bodies(draw: st.DrawFn) -> dict[str, Any]:
    body = status_report()
    fields = body["fields"]
    for key in ("claimant_name", "claimant_kana", "claimant_birth_date"):
        if draw(st.booleans()):
            fields[key] = draw(json_values)
    # Children holding My Numbers must be a list of objects (else a 422): mostly send one.
    children = st.lists(
        st.dictionaries(odd_text | st.sampled_from(["name", "my_number"]), json_values, max_size=4),
        max_size=3,
    )
    fields["children"] = draw(st.one_of(children, children, children, json_values))
    fields.update(draw(st.dictionaries(odd_text, json_values, max_size=3)))
    # The deepest nesting the limits allow: body (1) → fields (2) → the value (3) … 32.
    fields["deep"] = nested(draw(st.integers(0, LIMITS.max_depth - 3)), draw(scalars))
    body["applicant"]["family_name"] = draw(odd_text.filter(lambda t: 0 < len(t) <= 100))
    return body


async def test_whatever_is_accepted_can_be_read_claimed_exported_and_sealed(
    server: LiveServer, office: Office
) -> None:
    from tests.api.test_vendor import EVERY_FILE, make_contract, vendor_token

    contract_id = await make_contract(server, office, batch_size=1)
    vendor = await vendor_token(server, office, contract_id)
    headers = {
        t: {"Authorization": f"Bearer {office.token(t)}"}
        for t in ("intake", "operator", "supervisor")
    }
    seen = {"accepted": 0, "refused": 0, "sealed": 0}

    @settings(
        max_examples=40,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(body=accepted_bodies())
    def store_then_use(body: dict[str, Any]) -> None:
        # Each new form is received a year earlier than the one before: it is the most urgent.
        body["received_at"] = datetime(2020 - seen["accepted"], 8, 10, tzinfo=UTC).isoformat()
        with httpx2.Client(base_url=server.url + "/api/v1", timeout=60) as http:
            stored = http.post("/applications", json=body, headers=headers["intake"])
            if stored.status_code == 422:  # refused whole (a My Number group that is not a list)
                assert stored.json()["errors"], stored.text
                seen["refused"] += 1
                return
            assert stored.status_code == 201, stored.text
            seen["accepted"] += 1
            application_id = stored.json()["id"]
            read = http.get(f"/applications/{application_id}", headers=headers["operator"])
            assert read.status_code == 200, read.text
            claimed = http.post("/work/claim", json={}, headers=headers["operator"])
            assert claimed.status_code == 200, claimed.text
            task = claimed.json()
            assert task["application_id"] == application_id
            released = http.post(
                f"/work/{task['id']}/release",
                json={"lease_token": task["lease_token"]},
                headers=headers["operator"],
            )
            assert released.status_code == 200, released.text
            sealed = http.post(
                f"/admin/vendor-contracts/{contract_id}/seal", headers=headers["supervisor"]
            )
            assert sealed.status_code == 200, sealed.text
            for batch in sealed.json()["batches"]:
                seen["sealed"] += 1
                as_vendor = {"Authorization": f"Bearer {vendor}"}
                grant = http.post(f"/vendor/batches/{batch['id']}/lease", headers=as_vendor)
                assert grant.status_code == 200, grant.text
                for fmt, encoding in EVERY_FILE:
                    items = http.get(
                        f"/vendor/batches/{batch['id']}/items",
                        params={"format": fmt, "encoding": encoding},
                        headers={**as_vendor, "Lease-Token": grant.json()["lease_token"]},
                    )
                    assert items.status_code == 200, (fmt, encoding, items.text)

    await asyncio.to_thread(store_then_use)
    assert seen["accepted"] >= 15 and seen["sealed"] > 0
