"""Decisions follow the law (DOMAIN.md §3, §7.1, §7.2): no approval with an open error, warnings
acknowledged by name, problems sent on only when the operator says so, corrections verified."""

from typing import Any

from tests.api.test_work_queue import blind_answers, claim, receive, submit, token, warnings_of
from tests.factories import move_in, my_number, status_report
from tests.support import LiveServer, Office

BAD_MY_NUMBER = "621498320250" if my_number().endswith("9") else "621498320259"  # wrong check digit
GOOD_MY_NUMBER = my_number()


def faulty_move_in() -> dict[str, Any]:
    """The reproduced case: an invalid My Number and an impossible date (令和8年2月30日)."""
    body = move_in()
    body["fields"]["move_date"] = "令和8年2月30日"
    body["fields"]["members"][0]["my_number"] = BAD_MY_NUMBER
    body["ocr"]["move_date"] = {"value": "令和8年2月30日", "confidence": 0.97}
    return body


def keyed(task: dict[str, Any]) -> dict[str, Any]:
    """What the operator keys: the form as pre-filled (My Number masked: the stored one is kept)."""
    values = dict(task["form"]["values"])
    values["new_address"] = "熊本市中央区手取本町1-1"
    return values


def codes(problems: list[dict[str, Any]]) -> set[tuple[str, str]]:
    return {(p["field"], p["code"]) for p in problems}


ERRORS = {("move_date", "invalid_date"), ("members[0].my_number", "my_number_check_digit")}


async def history(server: LiveServer, office: Office, application_id: str) -> list[dict[str, Any]]:
    async with server.client(office.token("supervisor")) as supervisor:
        response = await supervisor.get(f"/applications/{application_id}")
    assert response.status_code == 200, response.text
    return response.json()["history"]  # type: ignore[no-any-return]


async def core_feed(
    server: LiveServer, office: Office, cursor: str | None = None
) -> dict[str, Any]:
    async with server.client(office.token("core")) as core:
        response = await core.get("/core/approved", params={"cursor": cursor} if cursor else {})
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_an_application_with_open_errors_never_reaches_the_core_system(
    server: LiveServer, office: Office
) -> None:
    application_id = await receive(server, office, faulty_move_in())
    a, b, c = [await token(server, office, "operator", n) for n in "ABC"]
    second_reviewer = await token(server, office, "reviewer", "R2")
    async with server.client(a) as keyer:
        entry = await claim(keyer)
        assert entry is not None
        # The form shows each problem with its level.
        assert codes([p for p in entry["form"]["problems"] if p["level"] == "error"]) >= ERRORS
        # Entry answers with the problems and refuses to send them on silently; nothing changes.
        refused = await submit(keyer, entry, values=keyed(entry))
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "problems_found"
        assert codes(refused.json()["errors"]) == ERRORS
        assert {e["level"] for e in refused.json()["errors"]} == {"error"}
        assert (
            await keyer.post(
                f"/work/{entry['id']}/heartbeat", json={"lease_token": entry["lease_token"]}
            )
        ).status_code == 200
        # 問題ありで送信: accepted, answered with the problems, recorded in the history.
        sent = await submit(keyer, entry, values=keyed(entry), submit_with_problems=True)
        assert sent.status_code == 200, sent.text
        assert sent.json()["application_status"] == "verify"
        assert codes(sent.json()["problems"]) >= ERRORS
    async with server.client(b) as checker:
        verify = await claim(checker)
        assert verify is not None and {"move_date", "members[0].my_number"} <= set(
            verify["field_keys"]
        )
        answers = blind_answers(verify, faulty_move_in()["fields"])
        refused = await submit(checker, verify, values=answers)
        assert refused.status_code == 422 and codes(refused.json()["errors"]) == ERRORS
        matched = await submit(checker, verify, values=answers, submit_with_problems=True)
        assert matched.json()["application_status"] == "review", matched.text
    steps = {h["action"]: h["detail"] for h in await history(server, office, application_id)}
    assert set(steps["entry.keyed"]["submitted_with_problems"]) == {f"{f}:{c}" for f, c in ERRORS}
    assert set(steps["verify.matched"]["submitted_with_problems"]) == {
        f"{f}:{c}" for f, c in ERRORS
    }

    async with server.client(office.token("reviewer")) as reviewer:
        review = await claim(reviewer)
        assert review is not None
        assert codes(review["form"]["problems"]) >= ERRORS
        # Approval is refused while errors are open, even with every warning acknowledged.
        refused = await submit(
            reviewer, review, decision="approve", acknowledge=warnings_of(review)
        )
        assert refused.status_code == 409, refused.text
        assert refused.json()["code"] == "open_problems"
        assert codes(refused.json()["errors"]) == ERRORS
        assert (await core_feed(server, office))["items"] == []
        # The reviewer corrects: the changed fields go to a blind verify by someone else.
        corrected = await submit(
            reviewer,
            review,
            decision="correct",
            reason="原本で確認",
            values={"move_date": "令和8年11月16日", "members[0].my_number": GOOD_MY_NUMBER},
        )
        assert corrected.status_code == 200, corrected.text
        assert corrected.json()["application_status"] == "verify"
        assert not [p for p in corrected.json()["problems"] if p["level"] == "error"]
        assert await claim(reviewer) is None
    async with server.client(a) as keyer, server.client(b) as checker, server.client(c) as third:
        assert await claim(keyer) is None and await claim(checker) is None  # they handled it
        verify = await claim(third)
        assert verify is not None and set(verify["field_keys"]) == {
            "move_date",
            "members[0].my_number",
        }
        assert set(verify["form"]) == {"ocr"}  # blind
        matched = await submit(
            third, verify, values={"move_date": "R8.11.16", "members[0].my_number": GOOD_MY_NUMBER}
        )
        assert matched.json()["application_status"] == "review", matched.text
    async with server.client(office.token("reviewer")) as reviewer:
        assert await claim(reviewer) is None  # who corrected does not review their correction
    async with server.client(second_reviewer) as reviewer:
        review = await claim(reviewer)
        assert review is not None and review["application_id"] == application_id
        approved = await submit(
            reviewer, review, decision="approve", acknowledge=warnings_of(review)
        )
        assert approved.json()["application_status"] == "approved", approved.text
    feed = await core_feed(server, office)
    assert [item["application_id"] for item in feed["items"]] == [application_id]
    assert feed["items"][0]["values"]["move_date"]["iso"] == "2026-11-16"
    assert feed["items"][0]["values"]["members"][0]["my_number"] == GOOD_MY_NUMBER
    steps = {h["action"]: h["detail"] for h in await history(server, office, application_id)}
    assert set(steps["review.correct"]["corrected"]) == {"move_date", "members[0].my_number"}
    assert steps["review.correct"]["reason"] == "原本で確認"


async def test_warnings_must_each_be_acknowledged_and_the_acknowledgement_is_recorded(
    server: LiveServer, office: Office
) -> None:
    application_id = await receive(server, office, move_in())
    a, b = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    async with server.client(a) as keyer, server.client(b) as checker:
        entry = await claim(keyer)
        assert entry is not None
        # Warnings only (𠮷 outside JIS): no flag needed.
        assert (await submit(keyer, entry, values=keyed(entry))).status_code == 200
        verify = await claim(checker)
        assert verify is not None
        assert (await submit(checker, verify, values=blind_answers(verify))).status_code == 200
    async with server.client(office.token("reviewer")) as reviewer:
        review = await claim(reviewer)
        assert review is not None
        warnings = warnings_of(review)
        assert len(warnings) >= 2 and {w["code"] for w in warnings} == {"needs_identification"}
        silent = await submit(reviewer, review, decision="approve")
        assert silent.status_code == 422 and silent.json()["code"] == "warnings_not_acknowledged"
        assert codes(silent.json()["errors"]) == codes(warnings)
        partial = await submit(reviewer, review, decision="approve", acknowledge=warnings[:1])
        assert partial.status_code == 422 and codes(partial.json()["errors"]) == codes(warnings[1:])
        assert (await core_feed(server, office))["items"] == []
        approved = await submit(reviewer, review, decision="approve", acknowledge=warnings)
        assert approved.status_code == 200 and approved.json()["application_status"] == "approved"
    steps = {h["action"]: h for h in await history(server, office, application_id)}
    assert set(steps["review.approve"]["detail"]["acknowledged"]) == {
        f"{w['field']}:{w['code']}" for w in warnings
    }
    assert (
        steps["review.approve"]["actor_role"] == "reviewer" and steps["review.approve"]["actor_id"]
    )


async def test_a_correction_that_changes_nothing_is_refused(
    server: LiveServer, office: Office
) -> None:
    await receive(server, office, status_report())
    a, b = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    fields = status_report()["fields"]
    async with server.client(a) as keyer, server.client(b) as checker:
        entry = await claim(keyer)
        assert entry is not None
        await submit(
            keyer,
            entry,
            values=entry["form"]["values"] | {"claimant_my_number": fields["claimant_my_number"]},
        )
        verify = await claim(checker)
        assert verify is not None
        assert (await submit(checker, verify, values=blind_answers(verify, fields))).json()[
            "application_status"
        ] == "review"
    async with server.client(office.token("reviewer")) as reviewer:
        review = await claim(reviewer)
        assert review is not None
        masked = review["form"]["values"]["claimant_my_number"]
        assert masked.startswith("*")
        no_reason = await submit(
            reviewer, review, decision="correct", values={"claimant_phone": "096-111-1111"}
        )
        assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["field"] == "reason"
        unchanged = await submit(
            reviewer,
            review,
            decision="correct",
            reason="確認",
            values={"claimant_my_number": masked, "claimant_name": fields["claimant_name"]},
        )
        assert unchanged.status_code == 422 and unchanged.json()["errors"][0]["code"] == "unchanged"
        phone = await submit(
            reviewer,
            review,
            decision="correct",
            reason="電話番号の誤り",
            values={"claimant_my_number": masked, "claimant_phone": "096-111-1111"},
        )
        assert phone.status_code == 200, phone.text
    async with server.client(office.token("supervisor")) as supervisor:
        stored = (await supervisor.get(f"/applications/{review['application_id']}")).json()
    # Only the phone changed: the My Number sent back masked kept the stored one.
    assert stored["status"] == "verify" and stored["values"]["claimant_phone"] == "096-111-1111"
    assert stored["values"]["claimant_my_number"] == masked
    assert next(h for h in stored["history"] if h["action"] == "review.correct")["detail"][
        "corrected"
    ] == ["claimant_phone"]


async def test_settle_refuses_an_empty_required_field(server: LiveServer, office: Office) -> None:
    await receive(server, office, status_report())
    ops = [await token(server, office, "operator", n) for n in "ABC"]
    async with server.client(ops[0]) as a, server.client(ops[1]) as b, server.client(ops[2]) as c:
        entry = await claim(a)
        assert entry is not None
        fields = status_report()["fields"]
        sent = await submit(
            a,
            entry,
            values=entry["form"]["values"] | {"claimant_my_number": fields["claimant_my_number"]},
        )
        assert sent.status_code == 200, sent.text
        verify = await claim(b)
        assert verify is not None
        answers = blind_answers(verify, fields) | {"claimant_birth_date": "平成2年5月6日"}
        assert (await submit(b, verify, values=answers)).json()["application_status"] == "settle"
        settle = await claim(c)
        assert settle is not None and settle["field_keys"] == ["claimant_birth_date"]
        for empty in ("", None):
            refused = await submit(
                c, settle, values={"claimant_birth_date": empty}, submit_with_problems=True
            )
            assert refused.status_code == 422, refused.text
            assert codes(refused.json()["errors"]) == {("claimant_birth_date", "required")}
        settled = await submit(c, settle, values={"claimant_birth_date": "平成2年5月5日"})
        assert settled.status_code == 200 and settled.json()["application_status"] == "review"


async def test_a_blind_verifier_hears_only_of_the_fields_they_keyed(
    server: LiveServer, office: Office
) -> None:
    await receive(server, office, move_in())
    a, b = (
        await token(server, office, "operator", "A"),
        await token(server, office, "operator", "B"),
    )
    async with server.client(a) as keyer, server.client(b) as checker:
        entry = await claim(keyer)
        assert entry is not None
        await submit(keyer, entry, values=keyed(entry))
        verify = await claim(checker)
        assert verify is not None
        answers = blind_answers(verify) | {"members[0].my_number": BAD_MY_NUMBER}
        refused = await submit(checker, verify, values=answers)
        assert refused.status_code == 422
        assert codes(refused.json()["errors"]) == {
            ("members[0].my_number", "my_number_check_digit")
        }
        sent = await submit(checker, verify, values=answers, submit_with_problems=True)
        assert sent.status_code == 200 and sent.json()["application_status"] == "settle"
        # Not the first keying's warnings on other fields (filer_name, household_head_name …).
        assert {p["field"] for p in sent.json()["problems"]} <= set(verify["field_keys"])
        assert ("members[0].my_number", "my_number_check_digit") in codes(sent.json()["problems"])
