"""Calls said aloud: which announcements a call carries, and the audio behind their URLs."""

import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote, urlencode

from app.domain.announcements import (
    LANGUAGES,
    Announcement,
    announcements_for,
    parse_office_languages,
    split_number,
)
from app.domain.errors import NotFound
from app.domain.roles import Principal
from app.realtime.messages import AnnouncementRef
from app.storage import tenancy
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
