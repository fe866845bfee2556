"""The lobby displays' administration: quiet hours (validated, in the display's snapshot) and the
test announcement (the fixed phrase, never a call, once however often pressed), for the city's
supervisors and administrators only, in their own municipality."""

import wave
from datetime import UTC, datetime
from io import BytesIO

from app.domain.quiet_hours import QuietRange, is_quiet, parse_stored
from tests.support import LiveServer, Office


async def test_quiet_hours_are_validated_kept_and_sent_in_the_snapshot(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    path = f"/admin/offices/{office.id}/quiet-hours"
    async with server.client(office.token("supervisor")) as supervisor:
        saved = await supervisor.put(
            path,
            json={
                "ranges": [{"start": "15:30", "end": "16:00"}, {"start": "12:00", "end": "13:00"}]
            },
        )
        assert saved.status_code == 200, saved.text
        assert saved.json()["quiet_hours"] == [
            {"start": "12:00", "end": "13:00"},
            {"start": "15:30", "end": "16:00"},
        ]
        # Overlapping, backwards and malformed ranges: every fault by field, nothing stored.
        bad = await supervisor.put(
            path,
            json={
                "ranges": [
                    {"start": "09:00", "end": "10:00"},
                    {"start": "09:30", "end": "11:00"},
                    {"start": "14:00", "end": "13:00"},
                    {"start": "25:00", "end": "26:00"},
                ]
            },
        )
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        reasons = {(e["field"], e["code"]) for e in bad.json()["errors"]}
        assert reasons == {
            ("ranges[1]", "overlapping"),
            ("ranges[2].end", "end_not_after_start"),
            ("ranges[3].start", "invalid_time"),
            ("ranges[3].end", "invalid_time"),
        }
        listed = (await supervisor.get(f"/admin/offices/{office.id}/displays")).json()
        assert [q["start"] for q in listed["quiet_hours"]] == ["12:00", "15:30"]
        # Another municipality's office: not found.
        foreign = await supervisor.put(
            f"/admin/offices/{other_office.id}/quiet-hours", json={"ranges": []}
        )
        assert foreign.status_code == 404
    # Vendor-employed staff and the lobby's own devices: refused.
    for role in ("operator_vendor", "vendor_manager", "display", "counter", "operator"):
        async with server.client(office.token(role)) as someone:
            refused = await someone.put(path, json={"ranges": []})
            assert refused.status_code == 403, role
    async with server.client(office.token("display")) as display:
        snap = (await display.get(f"/offices/{office.id}/lobby")).json()
    assert snap["office"]["quiet_hours"] == [
        {"start": "12:00", "end": "13:00"},
        {"start": "15:30", "end": "16:00"},
    ]
    async with server.client(office.token("admin")) as admin:
        cleared = await admin.put(path, json={"ranges": []})
        assert cleared.json()["quiet_hours"] == []


def test_quiet_hours_are_read_in_japan_time() -> None:
    lunch = parse_stored("12:00-13:00,bad,24:00-25:00")
    assert lunch == [QuietRange(180 * 4, 780)]
    assert is_quiet(lunch, datetime(2026, 12, 4, 3, 0, tzinfo=UTC))  # 12:00 JST
    assert is_quiet(lunch, datetime(2026, 12, 4, 3, 59, tzinfo=UTC))
    assert not is_quiet(lunch, datetime(2026, 12, 4, 4, 0, tzinfo=UTC))  # 13:00 JST: over
    assert not is_quiet(lunch, datetime(2026, 12, 4, 12, 30, tzinfo=UTC))  # 21:30 JST


async def test_the_test_announcement_is_the_test_phrase_once_and_never_a_call(
    server: LiveServer, office: Office, other_office: Office
) -> None:
    path = f"/admin/offices/{office.id}/test-announcement"
    async with server.client(office.token("display")) as display:
        before = (await display.get(f"/offices/{office.id}/lobby")).json()
    async with server.client(office.token("admin")) as admin:
        listed = (await admin.get(f"/admin/offices/{office.id}/displays")).json()
        assert listed["displays"], "the demo office has a display"
        unknown = await admin.post(path, json={"display": "no-such-display"})
        assert unknown.status_code == 404
        foreign = await admin.post(
            f"/admin/offices/{other_office.id}/test-announcement", json={"display": None}
        )
        assert foreign.status_code == 404
        sent = await admin.post(path, json={"display": listed["displays"][0]["id"]})
        assert sent.status_code == 202, sent.text
        said = sent.json()["announcements"]
        assert [(a["language"], a["text"]) for a in said] == [
            ("ja", "これは呼び出し放送の試験です。"),
            ("en", "This is a test of the call announcements."),
        ]
        # Pressed again at once (twenty times): refused, nothing more is sent.
        for _ in range(20):
            again = await admin.post(path, json={"display": None})
            assert again.status_code == 429
        assert int(again.headers["retry-after"]) > 0
    async with server.client(office.token("supervisor")) as supervisor:
        assert (await supervisor.post(path, json={"display": None})).status_code == 429
    for role in ("operator_vendor", "vendor_manager", "display", "counter", "reviewer"):
        async with server.client(office.token(role)) as someone:
            assert (await someone.post(path, json={"display": None})).status_code == 403, role

    async with server.client(office.token("display")) as display:
        # English is rendered by espeak-ng, a system program (.ci/run installs it).
        for a in said:
            audio = await display.get(a["url"].removeprefix("/api/v1"))
            assert audio.status_code == 200, audio.text
            with wave.open(BytesIO(audio.content)) as wav:
                assert wav.getnframes() / wav.getframerate() > 1.0
        # Words the office would not test, or a made-up digest: not found.
        url = said[1]["url"].removeprefix("/api/v1")
        assert (await display.get(url.replace("lang=en", "lang=es"))).status_code == 404
        assert (
            await display.get(url.replace(url.split("/")[-1][:32], "0" * 32))
        ).status_code == 404
        # Never a call: the lobby's sequence and its calls are as they were.
        after = (await display.get(f"/offices/{office.id}/lobby")).json()
        assert (after["seq"], after["called"]) == (before["seq"], before["called"])
    async with server.client(other_office.token("display")) as display:
        assert (await display.get(url)).status_code == 404
