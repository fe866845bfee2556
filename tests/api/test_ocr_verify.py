"""An OCR reading marked ``verify`` (its engine is not trusted on it) is keyed twice blind
whatever its confidence; a malformed mark is refused and nothing is stored."""

from typing import Any

from app.storage.tables import Application
from tests.api.test_intake import count
from tests.api.test_work_queue import claim, entry_values, receive, submit, token
from tests.factories import move_in
from tests.support import LiveServer, Office


def sure_but_flagged() -> dict[str, Any]:
    body = move_in()
    body["ocr"]["filer_name"] = {"value": "髙橋 𠮷子", "confidence": 0.99, "verify": True}
    body["ocr"]["filing_date"] = {"value": "令和8年11月20日", "confidence": 0.99}
    return body


async def test_a_reading_marked_verify_is_keyed_twice(server: LiveServer, office: Office) -> None:
    await receive(server, office, sure_but_flagged())
    keyer = await token(server, office, "operator", "A")
    checker = await token(server, office, "operator", "B")
    async with server.client(keyer) as a, server.client(checker) as b:
        entry = await claim(a)
        assert entry is not None
        assert entry["form"]["ocr"]["filer_name"]["verify"] is True
        assert (await submit(a, entry, values=entry_values(entry))).status_code == 200
        verify = await claim(b)
        assert verify is not None and verify["kind"] == "verify"
        assert "filer_name" in verify["field_keys"]  # 0.99, yet keyed twice
        assert "filing_date" not in verify["field_keys"]  # 0.99 and trusted: once
        assert set(verify["form"]["ocr"]["filer_name"]) <= {"image"}  # still blind


async def test_a_malformed_verify_mark_stores_nothing(server: LiveServer, office: Office) -> None:
    body = sure_but_flagged()
    body["ocr"]["filer_name"]["verify"] = "perhaps"
    async with server.client(office.token("intake")) as intake:
        response = await intake.post("/applications", json=body)
        assert response.status_code == 422
        assert response.headers["content-type"].startswith("application/problem+json")
        fields = [e["field"] for e in response.json()["errors"]]
        assert any("verify" in f for f in fields), fields
    assert await count(server, Application) == 0
