"""Withdraw (取下げ) and correct: city staff only, audited, and the core feed follows."""

from typing import Any

from tests.api.test_decisions import core_feed, history, keyed
from tests.api.test_work_queue import blind_answers, claim, receive, submit, token, warnings_of
from tests.factories import move_in, status_report
from tests.support import LiveServer, Office


async def approve(
    server: LiveServer,
    office: Office,
    keyer: str,
    checker: str,
    reviewer: str,
    new_address: str | None = None,
) -> None:
    """Take the next application through entry, verify and review to approval."""
    async with server.client(keyer) as a, server.client(checker) as b, server.client(reviewer) as r:
        entry = await claim(a)
        assert entry is not None
        values = keyed(entry) | ({"new_address": new_address} if new_address else {})
        assert (await submit(a, entry, values=values)).status_code == 200
        verify = await claim(b)
        assert verify is not None
        fields = move_in()["fields"] | ({"new_address": new_address} if new_address else {})
        answers = blind_answers(verify, fields) | (
            {"new_address": new_address} if new_address else {}
        )
        assert (await submit(b, verify, values=answers)).json()["application_status"] == "review"
        review = await claim(r)
        assert review is not None
        done = await submit(r, review, decision="approve", acknowledge=warnings_of(review))
        assert done.json()["application_status"] == "approved", done.text


async def test_withdrawing_work_in_progress_cancels_tasks_revokes_leases_and_frees_the_household(
    server: LiveServer, office: Office
) -> None:
    same_house = {"household_ref": "H-1", "family_name": "髙橋"}
    application_id = await receive(server, office, move_in(applicant=same_house))
    await receive(server, office, status_report(applicant=same_house))
    a, b = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    async with server.client(a) as keyer, server.client(b) as other:
        entry = await claim(keyer, procedures=["resident.move_in"])
        assert entry is not None and entry["application_id"] == application_id
        assert await claim(other) is None  # the household is A's while A works on it
        async with server.client(office.token("supervisor")) as supervisor:
            no_reason = await supervisor.post(
                f"/applications/{application_id}/withdraw", json={"reason": ""}
            )
            assert no_reason.status_code == 422
            withdrawn = await supervisor.post(
                f"/applications/{application_id}/withdraw", json={"reason": "本人から取下げの申出"}
            )
            assert withdrawn.status_code == 200, withdrawn.text
            assert withdrawn.json() == {
                "application_id": application_id,
                "status": "withdrawn",
                "cancelled_tasks": [entry["id"]],
                "core_seq": None,
            }
            again = await supervisor.post(
                f"/applications/{application_id}/withdraw", json={"reason": "二重"}
            )
            assert again.status_code == 409
        # The lease is revoked: A's submit and heartbeat fail; the household is free for B.
        late = await submit(keyer, entry, values=keyed(entry))
        assert late.status_code == 409
        beat = await keyer.post(
            f"/work/{entry['id']}/heartbeat", json={"lease_token": entry["lease_token"]}
        )
        assert beat.status_code == 409
        next_task = await claim(other)
        assert next_task is not None and next_task["procedure"] == "child_rearing.status_report"
    # Never approved: the core system never hears of it.
    assert (await core_feed(server, office))["items"] == []
    steps = await history(server, office, application_id)
    assert steps[-1]["action"] == "application.withdraw" and steps[-1]["to_status"] == "withdrawn"
    assert steps[-1]["detail"]["reason"] == "本人から取下げの申出"
    assert steps[-1]["actor_role"] == "supervisor" and steps[-1]["actor_id"]


async def test_an_approved_application_withdrawn_appears_in_the_feed_as_withdrawn(
    server: LiveServer, office: Office
) -> None:
    application_id = await receive(server, office, move_in())
    a, b = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    await approve(server, office, a, b, office.token("reviewer"))
    first = await core_feed(server, office)
    assert [(i["seq"], i["status"]) for i in first["items"]] == [(1, "approved")]
    async with server.client(office.token("reviewer")) as reviewer:
        withdrawn = await reviewer.post(
            f"/applications/{application_id}/withdraw", json={"reason": "届出の撤回"}
        )
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["core_seq"] == 2 and withdrawn.json()["cancelled_tasks"] == []
    # A core system reading on from where it stopped gets the withdrawal, without personal data.
    later = await core_feed(server, office, first["next_cursor"])
    assert len(later["items"]) == 1
    item = later["items"][0]
    assert (item["seq"], item["application_id"], item["status"]) == (2, application_id, "withdrawn")
    assert item["withdrawn_at"] and item["values"] == {} and item["applicant"] == {}
    assert [i["status"] for i in (await core_feed(server, office))["items"]] == ["withdrawn"]
    async with server.client(office.token("reviewer")) as reviewer:
        reopen = await reviewer.post(
            f"/applications/{application_id}/correction", json={"reason": "訂正"}
        )
        assert reopen.status_code == 409  # a withdrawn application stays withdrawn


async def test_vendor_staff_cannot_withdraw_or_reopen(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    application_id = await receive(server, office, move_in())
    for role in ("operator_vendor", "vendor_manager", "vendor", "operator", "intake", "core"):
        async with server.client(office.token(role)) as caller:
            for action in ("withdraw", "correction"):
                refused = await caller.post(
                    f"/applications/{application_id}/{action}", json={"reason": "x"}
                )
                assert refused.status_code == 403, f"{role} {action}: {refused.status_code}"
    async with server.client(other_office.token("reviewer")) as stranger:
        foreign = await stranger.post(
            f"/applications/{application_id}/withdraw", json={"reason": "x"}
        )
        assert foreign.status_code == 404
    async with server.client(office.token("reviewer")) as reviewer:
        # Only an approved application is reopened for correction.
        early = await reviewer.post(
            f"/applications/{application_id}/correction", json={"reason": "x"}
        )
        assert early.status_code == 409 and early.json()["code"] == "invalid_transition"


async def test_a_correction_is_verified_and_reviewed_and_the_feed_carries_the_corrected_record(
    server: LiveServer, office: Office
) -> None:
    application_id = await receive(server, office, move_in())
    a, b, c = [await token(server, office, "operator", n) for n in "ABC"]
    second_reviewer = await token(server, office, "reviewer", "R2")
    await approve(server, office, a, b, office.token("reviewer"))
    first = await core_feed(server, office)
    assert first["items"][0]["values"]["previous_address"] == "福岡市博多区博多駅前２丁目"
    async with server.client(office.token("supervisor")) as supervisor:
        opened = await supervisor.post(
            f"/applications/{application_id}/correction",
            json={"reason": "前住所の誤り（原本は3丁目）"},
        )
        assert opened.status_code == 200, opened.text
        assert opened.json()["status"] == "entry"
    # Out of the feed until approved again: a draft never reaches the core system.
    assert (await core_feed(server, office))["items"] == []
    corrected = "福岡市博多区博多駅前３丁目"
    async with server.client(a) as keyer:
        entry = await claim(keyer)
        assert entry is not None and entry["note"] == "前住所の誤り（原本は3丁目）"
        sent = await submit(keyer, entry, values=keyed(entry) | {"previous_address": corrected})
        assert sent.json()["application_status"] == "verify"
    async with server.client(b) as checker, server.client(c) as third:
        assert (
            await claim(checker) is None
        )  # B verified the first keying: four eyes across the correction
        verify = await claim(third)
        # The changed field is verified blind, though not high-risk and never read by OCR.
        assert verify is not None and "previous_address" in verify["field_keys"]
        answers = blind_answers(verify) | {"previous_address": corrected}
        assert (await submit(third, verify, values=answers)).json()[
            "application_status"
        ] == "review"
    async with server.client(second_reviewer) as reviewer:
        review = await claim(reviewer)
        assert review is not None
        # The core system holds the first approval: the correction is approved or withdrawn.
        rejected = await submit(reviewer, review, decision="reject", reason="不要")
        assert rejected.status_code == 409 and rejected.json()["code"] == "invalid_transition"
        done = await submit(reviewer, review, decision="approve", acknowledge=warnings_of(review))
        assert done.json()["application_status"] == "approved"
    feed = await core_feed(server, office, first["next_cursor"])
    assert [(i["seq"], i["status"], i["values"]["previous_address"]) for i in feed["items"]] == [
        (2, "approved", corrected)
    ]
    steps: list[dict[str, Any]] = await history(server, office, application_id)
    reopen = next(s for s in steps if s["action"] == "application.reopen")
    assert (
        reopen["detail"]["reason"] == "前住所の誤り（原本は3丁目）"
        and reopen["actor_role"] == "supervisor"
    )
    assert [
        s["to_status"] for s in steps if s["action"].startswith(("review.", "application."))
    ] == ["approved", "entry", "approved"]


async def test_withdrawing_a_correction_in_progress_tells_the_core_system(
    server: LiveServer, office: Office
) -> None:
    application_id = await receive(server, office, move_in())
    a, b = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    await approve(server, office, a, b, office.token("reviewer"))
    first = await core_feed(server, office)
    async with server.client(office.token("reviewer")) as reviewer:
        opened = await reviewer.post(
            f"/applications/{application_id}/correction", json={"reason": "氏名の確認"}
        )
        assert opened.status_code == 200
        withdrawn = await reviewer.post(
            f"/applications/{application_id}/withdraw", json={"reason": "本人が取下げ"}
        )
        assert withdrawn.status_code == 200, withdrawn.text
        assert withdrawn.json()["cancelled_tasks"] == [opened.json()["task_id"]]
    # The core system imported the first approval: it hears of the withdrawal after it.
    later = await core_feed(server, office, first["next_cursor"])
    assert [(i["application_id"], i["status"]) for i in later["items"]] == [
        (application_id, "withdrawn")
    ]
    assert later["items"][0]["seq"] > first["items"][0]["seq"]
