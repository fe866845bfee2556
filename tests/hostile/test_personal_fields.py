"""Strict types for My Numbers (15.6) and one reference, one form (15.7)."""

import json
from typing import Any

import pytest
from sqlalchemy import func, select

from app.domain.validators.codes import is_valid_my_number, normalise_my_number
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Application, Task
from tests.factories import my_number, status_report
from tests.support import LiveServer, Office

NUMBER = my_number("12345678901")


async def count(server: LiveServer, table: type = Application) -> int:
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            return int(
                (await session.execute(select(func.count()).select_from(table))).scalar_one()
            )
    finally:
        await engine.dispose()


async def stored_values(server: LiveServer, application_id: str) -> dict[str, Any]:
    engine = create_engine(server.settings.database_url)
    try:
        async with make_sessionmaker(engine)() as session:
            application = await session.get(Application, application_id)
            assert application is not None
            return {
                "values": application.values,
                "is_protected": application.is_protected,
                "fields": application.fields,
            }
    finally:
        await engine.dispose()


def with_number(value: Any, ref: str | None = None) -> dict[str, Any]:
    body = status_report(ref)
    body["fields"]["claimant_my_number"] = value
    return body


# ---- the rule --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "①②③④⑤⑥⑦⑧⑨⑩⑪⑫",  # circled
        "¹²³⁴⁵⁶⁷⁸⁹⁰¹²",  # superscript
        "١٢٣٤٥٦٧٨٩٠١٢",  # Arabic-Indic
        "१२३४५६७८९०१२",  # Devanagari
        "12345678901",  # eleven digits
        "1234567890123",  # thirteen
        "12345678901a",
    ],
)
def test_only_ascii_or_full_width_digits_make_a_my_number(written: str) -> None:
    assert normalise_my_number(written) is None and not is_valid_my_number(written)


def test_full_width_digits_and_separators_are_folded_but_placeholders_are_not_numbers() -> None:
    full_width = NUMBER.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert normalise_my_number(f"{full_width[:4]}－{full_width[4:8]} {full_width[8:]}") == NUMBER
    assert is_valid_my_number("000000000000") is False  # its check digit happens to match
    assert normalise_my_number("000000000000") == "000000000000"


# ---- over HTTP -------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [int(NUMBER), float(NUMBER), [NUMBER], {"number": NUMBER}, True])
async def test_a_my_number_that_is_not_a_string_is_a_422_that_stores_nothing(
    server: LiveServer, office: Office, value: Any
) -> None:
    async with server.client(office.token("intake")) as intake:
        response = await intake.post("/applications", json=with_number(value))
        in_a_group = status_report()
        in_a_group["fields"]["children"][0]["my_number"] = value
        grouped = await intake.post("/applications", json=in_a_group)
    for answer, field in (
        (response, "fields.claimant_my_number"),
        (grouped, "fields.children[0].my_number"),
    ):
        assert answer.status_code == 422, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert [(e["field"], e["code"]) for e in answer.json()["errors"]] == [
            (field, "my_number_not_string")
        ]
        assert NUMBER not in answer.text
    assert await count(server) == 0 and await count(server, Task) == 0


async def test_a_group_holding_my_numbers_must_be_a_list_of_objects(
    server: LiveServer, office: Office
) -> None:
    body = status_report()
    body["fields"]["children"] = {"0": {"my_number": int(NUMBER)}}
    async with server.client(office.token("intake")) as intake:
        response = await intake.post("/applications", json=body)
    assert response.status_code == 422
    assert [(e["field"], e["code"]) for e in response.json()["errors"]] == [
        ("fields.children", "wrong_type")
    ]
    assert await count(server) == 0


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("①②③④⑤⑥⑦⑧⑨⑩⑪⑫", "my_number_format"),
        ("١٢٣٤٥٦٧٨٩٠١٢", "my_number_format"),
        ("000000000000", "my_number_placeholder"),
        ("777777777777", "my_number_placeholder"),
        (NUMBER[:11] + str((int(NUMBER[11]) + 1) % 10), "my_number_check_digit"),
    ],
)
async def test_odd_digits_and_placeholders_are_problems_and_stay_masked(
    server: LiveServer, office: Office, written: str, code: str
) -> None:
    async with server.client(office.token("intake")) as intake:
        created = await intake.post("/applications", json=with_number(written))
    assert created.status_code == 201, created.text
    assert {"field": "claimant_my_number", "code": code} in [
        {k: p[k] for k in ("field", "code")} for p in created.json()["problems"]
    ]
    async with server.client(office.token("operator")) as operator:
        detail = await operator.get(f"/applications/{created.json()['id']}")
    assert detail.status_code == 200
    assert written not in detail.text and detail.json()["values"]["claimant_my_number"].startswith(
        "****"
    )


async def test_full_width_digits_are_stored_as_ascii_and_masked(
    server: LiveServer, office: Office
) -> None:
    full_width = NUMBER.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    async with server.client(office.token("intake")) as intake:
        created = await intake.post("/applications", json=with_number(full_width))
    assert created.status_code == 201
    assert not [p for p in created.json()["problems"] if p["field"] == "claimant_my_number"]
    assert (await stored_values(server, created.json()["id"]))["values"][
        "claimant_my_number"
    ] == NUMBER
    async with server.client(office.token("operator")) as operator:
        detail = (await operator.get(f"/applications/{created.json()['id']}")).json()
    assert detail["values"]["claimant_my_number"] == "********" + NUMBER[-4:]


async def test_keyed_values_with_a_non_string_my_number_are_a_422(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        created = await intake.post("/applications", json=status_report())
    assert created.status_code == 201
    async with server.client(office.token("operator")) as operator:
        task = (await operator.post("/work/claim", json={})).json()
        assert task["kind"] == "entry"
        values = dict(task["form"]["values"])
        for wrong in (int(NUMBER), [NUMBER], {"n": NUMBER}):
            values["claimant_my_number"] = wrong
            refused = await operator.post(
                f"/work/{task['id']}/submit",
                json={"lease_token": task["lease_token"], "values": values},
            )
            assert refused.status_code == 422, refused.text
            assert [(e["field"], e["code"]) for e in refused.json()["errors"]] == [
                ("values.claimant_my_number", "my_number_not_string")
            ]
        # Nothing moved: the task is still held and the stored number unchanged.
        values["claimant_my_number"] = task["form"]["values"]["claimant_my_number"]
        done = await operator.post(
            f"/work/{task['id']}/submit",
            json={"lease_token": task["lease_token"], "values": values},
        )
        assert done.status_code == 200, done.text
    stored = await stored_values(server, created.json()["id"])
    assert stored["values"]["claimant_my_number"] == NUMBER


# ---- same reference, different content -------------------------------------------------------


async def test_same_reference_with_other_content_is_a_409_naming_the_stored_one(
    server: LiveServer, office: Office
) -> None:
    first = status_report("PORTAL-9")
    again = json.loads(json.dumps(first))
    again["received_at"] = "2026-08-11T10:00:00+09:00"  # a retry may stamp the form again
    flagged = json.loads(json.dumps(first)) | {"support_measure": True}
    async with server.client(office.token("intake")) as intake:
        created = await intake.post("/applications", json=first)
        resent = await intake.post("/applications", json=again)
        conflicting = await intake.post("/applications", json=flagged)
        other_field = await intake.post(
            "/applications", json=with_number(my_number("98765432109"), "PORTAL-9")
        )
    assert (created.status_code, resent.status_code) == (201, 200)
    assert resent.json() == created.json()
    for answer in (conflicting, other_field):
        assert answer.status_code == 409, answer.text
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "external_ref_conflict"
        assert answer.json()["context"]["application_id"] == created.json()["id"]
    assert await count(server) == 1
    assert (await stored_values(server, created.json()["id"]))["is_protected"] is False


async def test_another_sender_may_use_the_same_reference(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("intake")) as intake:
        first = await intake.post("/applications", json=status_report("SHARED-1"))
    async with server.client(office.token("counter")) as counter:
        second = await counter.post(
            "/applications", json=status_report("SHARED-1") | {"support_measure": True}
        )
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
