"""Calls said aloud: a call carries the audio of its announcement, Japanese first then the
ticket's language, and the file is served to the office's displays only, cached for ever."""

import wave
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.support import LiveServer, Office


async def issue(server: LiveServer, office: Office, language: str) -> dict[str, Any]:
    async with server.client(office.token("kiosk")) as kiosk:
        response = await kiosk.post(
            f"/offices/{office.id}/tickets",
            json={"category": office.category("A"), "language": language},
        )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def call(server: LiveServer, office: Office, ticket: dict[str, Any], label: str) -> None:
    async with server.client(office.token("counter")) as counter:
        called = await counter.post(
            f"/counters/{office.counter(label)}/call", json={"ticket": ticket["id"]}
        )
    assert called.status_code == 200, called.text


async def called_entry(server: LiveServer, office: Office, number: str) -> dict[str, Any]:
    async with server.client(office.token("display")) as display:
        snap = (await display.get(f"/offices/{office.id}/lobby")).json()
    return dict(next(c for c in snap["called"] if c["number"] == number))


async def test_a_call_is_announced_in_japanese_then_the_tickets_language(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    ticket = await issue(server, office, "en")
    await call(server, office, ticket, "3")
    entry = await called_entry(server, office, ticket["number"])
    n = int(ticket["number"].split("-")[1])
    said = [(a["language"], a["text"]) for a in entry["announcements"]]
    assert said == [
        ("ja", f"エー の {n}番の方、3番窓口へお越しください"),
        ("en", f"Number A {n}, please come to counter 3"),
    ]
    # Numbers and counters only: the URL names no person (its query is the number, the
    # counter and the language).
    for a in entry["announcements"]:
        query = parse_qs(urlsplit(a["url"]).query)
        assert set(query) == {"lang", "number", "counter"}

    async with server.client(office.token("display")) as display:
        for a in entry["announcements"]:
            audio = await display.get(a["url"].removeprefix("/api/v1"))
            assert audio.status_code == 200, audio.text
            assert audio.headers["content-type"] == "audio/wav"
            assert "immutable" in audio.headers["cache-control"]
            with wave.open(BytesIO(audio.content)) as wav:
                assert wav.getnframes() / wav.getframerate() > 1.5
        # A tampered digest, or words this office would not say, are not found.
        url = entry["announcements"][1]["url"].removeprefix("/api/v1")
        tampered = url.replace("/announcements/", "/announcements/0", 1)
        tampered = tampered.replace(tampered.split("/")[-1].split(".")[0], "0" * 32)
        assert (await display.get(tampered)).status_code == 404
        assert (await display.get(url.replace("lang=en", "lang=es"))).status_code == 404
    async with server.client() as anonymous:
        assert (await anonymous.get(url)).status_code == 401
    # Another municipality's display: not found, even with the file on disk.
    async with server.client(other_office.token("display")) as display:
        assert (await display.get(url)).status_code == 404


async def test_an_office_limited_to_japanese_and_english(
    server: LiveServer, office: Office
) -> None:
    async with server.client(office.token("admin")) as admin:
        set_ = await admin.put(
            f"/admin/offices/{office.id}/announce-languages", json={"languages": ["en"]}
        )
        assert set_.status_code == 200, set_.text
        assert set_.json()["announce_languages"] == ["ja", "en"]
        bad = await admin.put(
            f"/admin/offices/{office.id}/announce-languages", json={"languages": ["xx"]}
        )
        assert bad.status_code == 422
    chinese = await issue(server, office, "zh")
    await call(server, office, chinese, "2")
    entry = await called_entry(server, office, chinese["number"])
    assert [a["language"] for a in entry["announcements"]] == ["ja", "en"]
