"""The lobby displays' administration: the test announcement and the quiet hours.

Both reach the displays as messages outside the lobby's event sequence (display.test,
display.settings): never stored as lobby events, so a test is never a call (no number, no
history, no statistics) and a display that reconnects does not hear it again. On PostgreSQL they
go out with NOTIFY on commit, so displays connected to any process get them; on SQLite (one
process) to this process's hub after commit.
"""

import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from app.domain import quiet_hours
from app.domain.announcements import sound_check_announcements
from app.domain.errors import NotFound, RateLimited
from app.domain.roles import Principal
from app.realtime.messages import AnnouncementRef, DisplaySettings, DisplayTest, QuietHours
from app.services.announcements import catalogues, office_languages, sound_check_url
from app.storage import display_admin as store
from app.storage.tables import Office
from app.storage.uow import UnitOfWork

# (office_id, message JSON, display token id or None for every display) → displays reached.
Deliver = Callable[[str, str, str | None], int]

# One test announcement per office within this time, however often the button is pressed.
TEST_EVERY = timedelta(seconds=15)


def quiet_hours_of(stored: str) -> list[QuietHours]:
    return [
        QuietHours(start=quiet_hours.clock(q.start), end=quiet_hours.clock(q.end))
        for q in quiet_hours.parse_stored(stored)
    ]


async def office_of(uow: UnitOfWork, principal: Principal, office_id: str) -> Office:
    """The caller's office (another municipality's, or another office for an office-bound
    token, is not found)."""
    office = await uow.get(Office, office_id)
    if (
        office is None
        or office.municipality_code != principal.municipality_code
        or not principal.may_use_office(office_id)
    ):
        raise NotFound("窓口が見つかりません (no such office)", office_id=office_id)
    return office


async def displays(uow: UnitOfWork, principal: Principal, office_id: str) -> list[dict[str, Any]]:
    """The office's display tokens (id, name): the screens a test can be sent to one by one."""
    office = await office_of(uow, principal, office_id)
    return [
        {"id": t.id, "name": t.name}
        for t in await store.display_tokens(uow.session, office.id, uow.now())
    ]


async def _send(
    uow: UnitOfWork, deliver: Deliver, office_id: str, token_id: str | None, text: str
) -> None:
    """Sent when the transaction commits, to every process (this one's listener included)."""
    if uow.is_postgresql:
        payload = json.dumps({"office": office_id, "token": token_id, "message": text})
        await store.notify_control(uow.session, payload)
    else:

        def send_now() -> None:
            deliver(office_id, text, token_id)

        uow.after_commit(send_now)


async def set_quiet_hours(
    uow: UnitOfWork,
    principal: Principal,
    office_id: str,
    ranges: Sequence[tuple[str, str]],
    deliver: Deliver,
) -> Office:
    """Replace the office's quiet hours ([] for none); the displays apply them at once."""
    office = await office_of(uow, principal, office_id)
    checked = quiet_hours.validate(ranges)
    office.quiet_hours = quiet_hours.stored(checked)
    await uow.flush()
    uow.log(
        entity="office",
        entity_id=office.id,
        action="quiet_hours",
        municipality_code=office.municipality_code,
        data={"quiet_hours": office.quiet_hours},
    )
    message = DisplaySettings(at=uow.now(), quiet_hours=quiet_hours_of(office.quiet_hours))
    await _send(uow, deliver, office.id, None, message.model_dump_json())
    return office


async def send_test(
    uow: UnitOfWork,
    principal: Principal,
    office_id: str,
    display_id: str | None,
    deliver: Deliver,
) -> DisplayTest:
    """The test announcement to one display token's screens, or to every display of the office:
    the fixed test phrase, Japanese then the office's other languages. At most one per office
    every TEST_EVERY (a button pressed twenty times says it once)."""
    office = await office_of(uow, principal, office_id)
    if display_id is not None:
        known = {t.id for t in await store.display_tokens(uow.session, office.id, uow.now())}
        if display_id not in known:
            raise NotFound("表示端末が見つかりません (no such display)", display=display_id)
    if not await store.take_test_slot(uow.session, office.id, uow.now(), TEST_EVERY):
        raise RateLimited(
            "試験放送は送信済みです。しばらくお待ちください "
            "(a test was just sent; try again shortly)",
            retry_after_s=int(TEST_EVERY.total_seconds()),
        )
    said = sound_check_announcements(catalogues(), office_languages(office.announce_languages))
    message = DisplayTest(
        at=uow.now(),
        announcements=[
            AnnouncementRef(language=a.language, text=a.text, url=sound_check_url(office.id, a))
            for a in said
        ],
    )
    uow.log(
        entity="office",
        entity_id=office.id,
        action="test_announcement",
        municipality_code=office.municipality_code,
        data={"display": display_id, "languages": [a.language for a in said]},
    )
    await _send(uow, deliver, office.id, display_id, message.model_dump_json())
    return message
