"""Calls said aloud: which announcements a call carries, and the audio behind their URLs."""

import json
from collections.abc import Mapping, Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlencode

from app.domain.announcements import (
    LANGUAGES,
    Announcement,
    announcements_for,
    parse_office_languages,
    sound_check_announcements,
    split_number,
)
from app.domain.errors import NotFound
from app.domain.roles import Principal
from app.realtime.messages import AnnouncementRef
from app.storage import directory, tenancy, ticket_lists
from app.storage.db import Session
from app.storage.tables import Counter, Ticket
from app.storage.uow import UnitOfWork

CATALOGUES = Path(__file__).resolve().parents[2] / "clients" / "web" / "common" / "i18n"


@lru_cache(maxsize=4)
def catalogues(directory: Path = CATALOGUES) -> Mapping[str, Mapping[str, str]]:
    """The kiosk's message catalogues, read once per process."""
    return {
        code: json.loads((directory / f"{code}.json").read_text(encoding="utf-8"))
        for code in LANGUAGES
    }


def audio_url(office_id: str, counter_id: str, number: str, announcement: Announcement) -> str:
    """Where a display fetches the audio: the digest names the file, the query says how to make
    it when it is not yet rendered. The same words always have the same URL."""
    query = urlencode({"lang": announcement.language, "number": number, "counter": counter_id})
    return (
        f"/api/v1/offices/{quote(office_id, safe='')}/announcements/"
        f"{announcement.digest}.wav?{query}"
    )


def sound_check_url(office_id: str, announcement: Announcement) -> str:
    """Where a display fetches the test phrase's audio (the same words, the same URL)."""
    query = urlencode({"lang": announcement.language})
    return (
        f"/api/v1/offices/{quote(office_id, safe='')}/announcements/test/"
        f"{announcement.digest}.wav?{query}"
    )


def announcement_refs(
    *,
    office_id: str,
    counter_id: str,
    counter_label: str,
    number: str,
    ticket_language: str,
    office_languages: Sequence[str] | None,
) -> list[AnnouncementRef]:
    """What a call event and a snapshot entry carry: Japanese first, then the ticket's language
    when it differs (within the office's languages)."""
    if split_number(number) is None:
        return []
    return [
        AnnouncementRef(
            language=a.language,
            text=a.text,
            url=audio_url(office_id, counter_id, number, a),
        )
        for a in announcements_for(
            number, counter_label, ticket_language, catalogues(), office_languages
        )
    ]


def office_languages(stored: str) -> list[str] | None:
    return parse_office_languages(stored)


async def likely_announcements(session: Session, day: date, per_office: int) -> list[Announcement]:
    """The announcements the next calls will most likely need: for each office, its first
    waiting tickets (calling order) at each open counter that serves their category, in the
    office's languages. Pre-rendering them makes a call audible without waiting for speech."""
    wanted: dict[str, Announcement] = {}
    for office in await directory.all_offices(session):
        waiting = await ticket_lists.list_waiting(session, office.id, day, limit=per_office)
        if not waiting:
            continue
        languages = office_languages(office.announce_languages)
        counters = [c for c in await tenancy.list_counters(session, office.id) if c.is_active]
        serves = {c.id: set(await tenancy.counter_category_ids(session, c.id)) for c in counters}
        for ticket in waiting:
            if split_number(ticket.number) is None:
                continue
            for counter in counters:
                if ticket.category_id not in serves[counter.id]:
                    continue
                for announcement in announcements_for(
                    ticket.number, counter.label, ticket.language, catalogues(), languages
                ):
                    wanted.setdefault(announcement.digest, announcement)
    return list(wanted.values())


async def announcement_of(
    uow: UnitOfWork,
    principal: Principal,
    *,
    office_id: str,
    counter_id: str,
    number: str,
    language: str,
    digest: str,
) -> Announcement:
    """The announcement a URL names, rebuilt from the office's own counter: a digest that does
    not match what the server would say now is not found (nothing arbitrary is ever spoken)."""
    counter = await tenancy.find_counter(uow.session, counter_id, principal.municipality_code)
    if (
        counter is None
        or not principal.may_use_office(office_id)
        or counter.office_id != office_id
        or language not in LANGUAGES
        or split_number(number) is None
    ):
        raise NotFound("お知らせ音声が見つかりません (no such announcement)", digest=digest)
    for announcement in announcements_for(number, counter.label, language, catalogues()):
        if announcement.language == language and announcement.digest == digest:
            return announcement
    raise NotFound("お知らせ音声が見つかりません (no such announcement)", digest=digest)


async def sound_check_of(
    uow: UnitOfWork, principal: Principal, *, office_id: str, language: str, digest: str
) -> Announcement:
    """The test phrase a URL names, in one of the office's test languages; anything else is not
    found."""
    office = await tenancy.get_office(uow.session, office_id)
    if (
        office is None
        or office.municipality_code != principal.municipality_code
        or not principal.may_use_office(office_id)
    ):
        raise NotFound("窓口が見つかりません (no such office)", office_id=office_id)
    said = sound_check_announcements(catalogues(), office_languages(office.announce_languages))
    for announcement in said:
        if announcement.language == language and announcement.digest == digest:
            return announcement
    raise NotFound("お知らせ音声が見つかりません (no such announcement)", digest=digest)


SPOKEN_EVENTS = frozenset({"ticket.called", "ticket.recalled", "ticket.resumed"})


async def for_call(uow: UnitOfWork, ticket: Ticket, counter: Counter) -> list[object]:
    """What the displays say for this call (numbers and counters only), as event data."""
    office = await tenancy.get_office(uow.session, ticket.office_id)
    refs = announcement_refs(
        office_id=ticket.office_id,
        counter_id=counter.id,
        counter_label=counter.label,
        number=ticket.number,
        ticket_language=ticket.language,
        office_languages=office_languages(office.announce_languages if office else ""),
    )
    return [ref.model_dump(mode="json") for ref in refs]
