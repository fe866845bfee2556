"""The central queue: entry → verify → (settle) → review → approved, and who may do what."""

import asyncio
from typing import Any

import httpx2
import pytest
from sqlalchemy import select

from app.domain.applications import Outcome, get_path, replay
from app.settings import QueueSettings
from app.storage.db import create_engine, make_sessionmaker
from app.storage.tables import Application, EventLog
from tests.factories import move_in, status_report
from tests.support import LiveServer, Office, make_settings, run_server, seed


async def receive(server: LiveServer, office: Office, body: dict[str, Any]) -> str:
    async with server.client(office.token("intake")) as intake:
        response = await intake.post("/applications", json=body)
    assert response.status_code in (200, 201), response.text
    return str(response.json()["id"])


async def token(
    server: LiveServer, office: Office, role: str, name: str, employer: str = "city"
) -> str:
    async with server.client(office.token("admin")) as admin:
        response = await admin.post(
            "/admin/tokens", json={"role": role, "name": name, "employer": employer}
        )
    assert response.status_code == 201, response.text
    return str(response.json()["token"])


async def claim(client: httpx2.AsyncClient, **body: Any) -> dict[str, Any] | None:
    response = await client.post("/work/claim", json=body)
    if response.status_code == 204:
        return None
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def submit(client: httpx2.AsyncClient, task: dict[str, Any], **body: Any) -> httpx2.Response:
    return await client.post(
        f"/work/{task['id']}/submit", json={"lease_token": task["lease_token"], **body}
    )


def warnings_of(review: dict[str, Any]) -> list[dict[str, str]]:
    """What a reviewer acknowledges to approve: every open warning, by field and code."""
    return [
        {"field": p["field"], "code": p["code"]}
        for p in review["form"]["problems"]
        if p["level"] == "warning"
    ]


def blind_answers(task: dict[str, Any], source: dict[str, Any] | None = None) -> dict[str, Any]:
    """What a careful second operator keys from the paper: the form's own values."""
    fields = dict(source or move_in()["fields"])
    fields["new_address"] = "熊本市中央区手取本町1-1"
    return {path: get_path(fields, path) for path in task["field_keys"]}


def entry_values(task: dict[str, Any]) -> dict[str, Any]:
    """What an operator keys: the pre-filled form, corrected."""
    values = dict(task["form"]["values"])
    values["new_address"] = "熊本市中央区手取本町1-1"
    return values


async def test_end_to_end_entry_verify_review_approve(server: LiveServer, office: Office) -> None:
    application_id = await receive(server, office, move_in())
    keyer, checker = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    async with (
        server.client(keyer) as a,
        server.client(checker) as b,
        server.client(office.token("reviewer")) as r,
    ):
        entry = await claim(a)
        assert entry is not None and entry["kind"] == "entry"
        assert entry["form"]["values"]["members"][0]["my_number"].startswith("********")
        assert entry["form"]["ocr"]["new_address"]["confidence"] == 0.72
        done = await submit(a, entry, values=entry_values(entry))
        assert done.status_code == 200, done.text
        assert done.json()["application_status"] == "verify"
        assert await claim(a) is None  # nobody verifies their own keying
        verify = await claim(b)
        assert verify is not None and verify["kind"] == "verify"
        # Blind: only which fields to key and where their images are.
        assert set(verify["form"]) == {"ocr"}
        assert (
            "members[0].birth_date" in verify["field_keys"]
            and "new_address" in verify["field_keys"]
        )
        assert all(set(v) <= {"image"} for v in verify["form"]["ocr"].values())
        keyed = blind_answers(verify) | {"members[0].birth_date": "S60.4.1"}
        matched = await submit(b, verify, values=keyed)
        assert matched.status_code == 200, matched.text
        assert matched.json()["application_status"] == "review", matched.text
        review = await claim(r)
        assert review is not None and review["kind"] == "review"
        approved = await submit(r, review, decision="approve", acknowledge=warnings_of(review))
        assert approved.json()["application_status"] == "approved"
    async with server.client(office.token("core")) as core:
        feed = (await core.get("/core/approved")).json()
    assert [item["application_id"] for item in feed["items"]] == [application_id]
    assert feed["items"][0]["values"]["members"][0]["name"] == "髙橋 𠮷子"


async def test_verify_mismatch_goes_to_a_third_operator_who_sees_both(
    server: LiveServer, office: Office
) -> None:
    await receive(server, office, status_report())
    ops = [await token(server, office, "operator", n) for n in ("A", "B", "C")]
    async with server.client(ops[0]) as a, server.client(ops[1]) as b, server.client(ops[2]) as c:
        entry = await claim(a)
        assert entry is not None
        await submit(
            a,
            entry,
            values=entry["form"]["values"]
            | {"claimant_my_number": status_report()["fields"]["claimant_my_number"]},
        )
        verify = await claim(b)
        assert verify is not None
        keyed = blind_answers(verify, status_report()["fields"]) | {
            "claimant_birth_date": "平成2年5月6日"
        }
        mismatch = await submit(b, verify, values=keyed)
        assert mismatch.json()["application_status"] == "settle", mismatch.text
        assert await claim(a) is None and await claim(b) is None
        settle = await claim(c)
        assert settle is not None and settle["kind"] == "settle"
        assert settle["field_keys"] == ["claimant_birth_date"]
        assert settle["form"]["entry_values"]["claimant_birth_date"]["iso"] == "1990-05-05"
        assert settle["form"]["verify_values"]["claimant_birth_date"]["iso"] == "1990-05-06"
        settled = await submit(c, settle, values={"claimant_birth_date": "平成2年5月5日"})
        assert settled.json()["application_status"] == "review"


async def work_to_review(
    server: LiveServer, office: Office, keyer_token: str, checker_token: str
) -> str:
    application_id = await receive(server, office, move_in())
    async with server.client(keyer_token) as a, server.client(checker_token) as b:
        entry = await claim(a)
        assert entry is not None
        await submit(a, entry, values=entry_values(entry))
        verify = await claim(b)
        assert verify is not None
        response = await submit(b, verify, values=blind_answers(verify))
        assert response.json()["application_status"] == "review", response.text
    return application_id


async def test_return_sends_city_keyed_work_back_to_entry_with_the_reason(
    server: LiveServer, office: Office
) -> None:
    a, b = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    application_id = await work_to_review(server, office, a, b)
    async with server.client(office.token("reviewer")) as reviewer:
        review = await claim(reviewer)
        assert review is not None
        no_reason = await submit(reviewer, review, decision="return")
        assert no_reason.status_code == 422
        returned = await submit(reviewer, review, decision="return", reason="本籍の記載漏れ")
        assert returned.json()["application_status"] == "entry"
    async with server.client(a) as keyer:
        again = await claim(keyer)
        assert again is not None and again["kind"] == "entry" and again["note"] == "本籍の記載漏れ"
        assert again["application_id"] == application_id


async def test_vendor_keyed_returns_go_to_the_vendors_manager_not_the_operator(
    server: LiveServer, office: Office
) -> None:
    vendor_op = office.token("operator_vendor")
    checker = await token(server, office, "operator", "B")
    application_id = await work_to_review(server, office, vendor_op, checker)
    async with server.client(office.token("reviewer")) as reviewer:
        review = await claim(reviewer)
        assert review is not None
        await submit(reviewer, review, decision="return", reason="続柄を確認")
    async with (
        server.client(vendor_op) as operator,
        server.client(office.token("vendor_manager")) as manager,
    ):
        assert await claim(operator) is None
        queue = (await manager.get("/work/vendor-queue")).json()
        assert [t["application_id"] for t in queue] == [application_id]
        assert (await manager.post(f"/work/{queue[0]['id']}/dispatch")).status_code == 200
        task = await claim(operator)
        assert task is not None and task["note"] == "続柄を確認"


async def test_vendor_staff_never_review_and_reviewers_never_key(
    server: LiveServer, office: Office
) -> None:
    await receive(server, office, move_in())
    async with server.client(office.token("reviewer")) as reviewer:
        assert await claim(reviewer, kinds=["entry"]) is None
    async with server.client(office.token("operator_vendor")) as vendor:
        assert await claim(vendor, kinds=["review"]) is None
        assert (await claim(vendor)) is not None
    async with server.client(office.token("admin")) as admin:
        refused = await admin.post(
            "/admin/tokens", json={"role": "reviewer", "name": "x", "employer": "vendor"}
        )
    assert refused.status_code == 422


async def test_protected_person_is_city_only(server: LiveServer, office: Office) -> None:
    application_id = await receive(server, office, move_in(support_measure=True))
    async with server.client(office.token("operator_vendor")) as vendor:
        assert await claim(vendor) is None
        assert (await vendor.get(f"/applications/{application_id}")).status_code == 404
    async with server.client(office.token("operator")) as city:
        assert await claim(city) is not None


async def test_qualifications_limit_what_an_operator_gets(
    server: LiveServer, office: Office
) -> None:
    await receive(server, office, move_in())
    async with server.client(office.token("admin")) as admin:
        response = await admin.post(
            "/admin/tokens",
            json={
                "role": "operator",
                "name": "allowance team",
                "employer": "city",
                "qualifications": ["child_allowance.claim"],
            },
        )
    async with server.client(response.json()["token"]) as operator:
        assert await claim(operator) is None


async def test_lease_expiry_returns_the_task_and_fences_the_late_holder(clean_db: str) -> None:
    settings = make_settings(clean_db, queue=QueueSettings(lease_s=1))
    async with run_server(settings) as server:
        office = Office(await seed(clean_db))
        await receive(server, office, move_in())
        a, b = (
            await token(server, office, "operator", "A"),
            await token(server, office, "operator", "B"),
        )
        async with server.client(a) as first, server.client(b) as second:
            task = await claim(first)
            assert task is not None
            assert await claim(second) is None
            beat = await first.post(
                f"/work/{task['id']}/heartbeat", json={"lease_token": task["lease_token"]}
            )
            assert beat.status_code == 200
            await asyncio.sleep(1.3)
            taken = await claim(second)
            assert taken is not None and taken["id"] == task["id"]
            late = await submit(first, task, values=entry_values(task))
            assert late.status_code == 409 and late.json()["code"] == "stale_lease"
            stale_beat = await first.post(
                f"/work/{task['id']}/heartbeat", json={"lease_token": task["lease_token"]}
            )
            assert stale_beat.status_code == 409
            assert (await submit(second, taken, values=entry_values(taken))).status_code == 200


async def test_release_gives_the_task_back(server: LiveServer, office: Office) -> None:
    await receive(server, office, move_in())
    async with server.client(office.token("operator")) as operator:
        task = await claim(operator)
        assert task is not None
        wrong = await operator.post(f"/work/{task['id']}/release", json={"lease_token": "nope"})
        assert wrong.status_code == 409
        released = await operator.post(
            f"/work/{task['id']}/release", json={"lease_token": task["lease_token"]}
        )
        assert released.json()["status"] == "open"
        assert (await claim(operator))["id"] == task["id"]  # type: ignore[index]


async def test_supervisor_releases_stuck_work_and_sees_stats(
    server: LiveServer, office: Office
) -> None:
    await receive(server, office, move_in())
    await receive(server, office, status_report())
    async with server.client(office.token("operator")) as operator:
        task = await claim(operator)
        assert task is not None
    async with server.client(office.token("supervisor")) as supervisor:
        stats = (await supervisor.get("/work/stats")).json()
        entry_steps = {s["procedure"]: s for s in stats["steps"] if s["kind"] == "entry"}
        assert sum(s["depth"] for s in entry_steps.values()) == 2
        assert sum(s["leased"] for s in entry_steps.values()) == 1
        assert any(o["holding"] for o in stats["operators"])
        released = await supervisor.post(f"/work/{task['id']}/release", json={})
        assert released.json()["status"] == "open"


async def test_household_is_held_by_one_operator_at_a_time(
    server: LiveServer, office: Office
) -> None:
    same_house = {"household_ref": "H-1", "family_name": "髙橋"}
    await receive(server, office, move_in(applicant=same_house))
    await receive(server, office, status_report(applicant=same_house))
    await receive(
        server, office, status_report(applicant={"family_name": "別世帯", "household_ref": "H-2"})
    )
    a, b = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    async with server.client(a) as first, server.client(b) as second:
        one = await claim(first)
        two = await claim(second)
        assert one is not None and two is not None
        three = await claim(second)
        assert three is None  # the other H-1 task waits while A holds H-1
        mine = await claim(first)
        assert mine is not None  # A may take the other task of the household it holds


async def test_waiting_residents_go_first_but_nothing_starves(
    server: LiveServer, office: Office
) -> None:
    """A mailed 転入 due 11/30 against a steady stream of counter forms with residents waiting.

    The urgency key is fixed when the task is made (due date minus a boost), so the stream
    overtakes the mailed form only while its own due dates are earlier: the form is served.
    """
    mailed = await receive(
        server,
        office,
        move_in(channel="mail", applicant={"family_name": "郵送", "household_ref": "M"}),
    )
    served: list[str] = []
    async with (
        server.client(office.token("kiosk")) as kiosk,
        server.client(office.token("counter")) as counter,
        server.client(office.token("operator")) as operator,
    ):
        for day in range(16):
            ticket = (
                await kiosk.post(
                    f"/offices/{office.id}/tickets", json={"category": office.category("A")}
                )
            ).json()
            body = move_in(
                channel="counter",
                ticket=ticket["id"],
                applicant={"family_name": "窓口", "household_ref": f"C{day}"},
            )
            body["fields"]["move_date"] = f"令和8年{11 + (15 + day) // 30}月{(15 + day) % 30 + 1}日"
            assert (await counter.post("/applications", json=body)).status_code == 201
            task = await claim(operator, kinds=["entry"])
            assert task is not None
            served.append(task["application_id"])
            done = await submit(operator, task, values=task["form"]["values"])
            assert done.status_code == 200, done.text
    assert mailed in served
    assert 5 <= served.index(mailed) <= 13


async def test_replaying_the_log_gives_the_stored_status(
    server: LiveServer, office: Office
) -> None:
    a, b = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    await work_to_review(server, office, a, b)
    async with server.client(office.token("reviewer")) as reviewer:
        review = await claim(reviewer)
        assert review is not None
        await submit(reviewer, review, decision="return", reason="確認")
    async with server.client(a) as keyer:
        entry = await claim(keyer)
        assert entry is not None
        await submit(keyer, entry, values=entry_values(entry))
    engine = create_engine(server.settings.database_url)
    async with make_sessionmaker(engine)() as session:
        for application in (await session.execute(select(Application))).scalars():
            log = (
                (
                    await session.execute(
                        select(EventLog)
                        .where(
                            EventLog.entity == "application", EventLog.entity_id == application.id
                        )
                        .order_by(EventLog.id)  # type: ignore[arg-type]
                    )
                )
                .scalars()
                .all()
            )
            steps = [
                (Outcome(e.action.split(".")[1]), bool((e.data or {}).get("needs_verify", True)))
                for e in log
                if "." in e.action
            ]
            assert replay(steps) == application.status
            assert log[-1].to_status == application.status
    await engine.dispose()


@pytest.mark.parametrize("decision", ["approve", "reject"])
async def test_decisions_are_final(server: LiveServer, office: Office, decision: str) -> None:
    a, b = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    await work_to_review(server, office, a, b)
    async with server.client(office.token("reviewer")) as reviewer:
        review = await claim(reviewer)
        assert review is not None
        response = await submit(
            reviewer,
            review,
            decision=decision,
            reason="不備" if decision == "reject" else None,
            acknowledge=warnings_of(review),
        )
        assert response.json()["application_status"] == (
            "approved" if decision == "approve" else "rejected"
        )
        assert await claim(reviewer) is None
        again = await submit(reviewer, review, decision="approve")
        assert again.status_code == 409


async def test_approval_calls_the_waiting_resident_back_on_the_display(
    server: LiveServer, office: Office
) -> None:
    import json as _json

    from websockets.asyncio.client import connect

    async with server.client(office.token("kiosk")) as kiosk:
        ticket = (
            await kiosk.post(
                f"/offices/{office.id}/tickets", json={"category": office.category("A")}
            )
        ).json()
    async with server.client(office.token("counter")) as counter:
        await counter.post(f"/counters/{office.counter('2')}/call-next")
        await counter.post(f"/tickets/{ticket['id']}/start")
        filed = (
            await counter.post(
                "/applications", json=move_in(channel="counter", ticket=ticket["id"])
            )
        ).json()
    a, b = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    async with server.client(a) as keyer, server.client(b) as checker:
        entry = await claim(keyer)
        assert entry is not None and entry["application_id"] == filed["id"]
        await submit(keyer, entry, values=entry_values(entry))
        async with server.client() as resident:
            progress = await resident.get(
                f"/tickets/{ticket['id']}/public", params={"key": ticket["public_key"]}
            )
            assert progress.json()["progress"] == "verify"
        verify = await claim(checker)
        assert verify is not None
        await submit(checker, verify, values=blind_answers(verify))
    async with connect(server.lobby_ws(office.id, office.token("display"))) as display:
        await display.recv()
        async with server.client(office.token("reviewer")) as reviewer:
            review = await claim(reviewer)
            assert review is not None
            await submit(reviewer, review, decision="approve", acknowledge=warnings_of(review))
        while (event := _json.loads(await asyncio.wait_for(display.recv(), 5)))[
            "type"
        ] == "heartbeat":
            pass
    assert event["type"] == "ticket.ready"
    assert (event["data"]["number"], event["data"]["counter_label"]) == (ticket["number"], "2")
    async with server.client() as resident:
        public = (
            await resident.get(
                f"/tickets/{ticket['id']}/public", params={"key": ticket["public_key"]}
            )
        ).json()
    assert public["progress"] == "ready"
