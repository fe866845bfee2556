"""世帯主 (rule 9) through HTTP: two heads are named on the application; the reviewer sees the
household."""

import copy

from tests.api.test_work_queue import (
    blind_answers,
    claim,
    entry_values,
    receive,
    submit,
    token,
    warnings_of,
)
from tests.factories import move_in
from tests.support import LiveServer, Office


async def test_a_move_in_with_two_heads_names_the_household(
    server: LiveServer, office: Office
) -> None:
    body = move_in()
    body["fields"] = copy.deepcopy(body["fields"])
    body["fields"]["members"][1]["relationship"] = "世帯主"
    application_id = await receive(server, office, body)
    async with server.client(office.token("operator")) as operator:
        detail = (await operator.get(f"/applications/{application_id}")).json()
    [problem] = [p for p in detail["problems"] if p["code"] == "two_household_heads"]
    assert problem["field"] == "members[1].relationship"
    assert "熊本市中央区手取本町１－１" in problem["message"] and "髙橋 朗" in problem["message"]
    assert detail["resulting_household"]["members"] == ["髙橋 𠮷子", "髙橋 朗"]


async def test_the_reviewer_sees_the_resulting_household(
    server: LiveServer, office: Office
) -> None:
    await receive(server, office, move_in())
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
        assert entry is not None and "resulting_household" not in entry["form"]
        assert (await submit(a, entry, values=entry_values(entry))).status_code == 200
        verify = await claim(b)
        assert verify is not None
        keyed = blind_answers(verify) | {"members[0].birth_date": "S60.4.1"}
        assert (await submit(b, verify, values=keyed)).json()["application_status"] == "review"
        review = await claim(r)
        assert review is not None and review["kind"] == "review"
        assert review["form"]["resulting_household"] == {
            "household": "熊本市中央区手取本町1-1",
            "members": ["髙橋 𠮷子", "髙橋 朗"],
            "head": "髙橋 𠮷子",
            "head_among_members": True,
        }
        approved = await submit(r, review, decision="approve", acknowledge=warnings_of(review))
        assert approved.json()["application_status"] == "approved"
