"""Announcement audio for the lobby displays: one WAV per content address, cached for ever."""

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse

from app.api.deps import Caller, ResourcesDep, UowDep
from app.domain.announcements import is_digest
from app.domain.errors import NotFound
from app.domain.roles import Role
from app.services import announcements

router = APIRouter(tags=["lobby"])

Listener = Caller(Role.DISPLAY, Role.COUNTER)
# The file under a digest never changes: a display (and any cache between) keeps it for a year.
IMMUTABLE = "private, max-age=31536000, immutable"


@router.get(
    "/offices/{office_id}/announcements/{digest}.wav",
    summary="A call said aloud (WAV): the URLs come in call events and snapshot entries",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}}, 404: {}},
)
async def announcement_audio(
    office_id: str,
    digest: str,
    uow: UowDep,
    principal: Listener,
    resources: ResourcesDep,
    lang: Annotated[str, Query(max_length=8)],
    number: Annotated[str, Query(max_length=16)],
    counter: Annotated[str, Query(max_length=64)],
) -> FileResponse:
    speech = resources.speech
    if speech is None or not is_digest(digest):
        raise NotFound("お知らせ音声が見つかりません (no such announcement)", digest=digest)
    if not principal.may_use_office(office_id):
        raise NotFound("窓口が見つかりません (no such office)", office_id=office_id)
    # The recipe is checked against the office's own counter even when the file is on disk:
    # a token of one office never fetches another's audio by digest.
    announcement = await announcements.announcement_of(
        uow,
        principal,
        office_id=office_id,
        counter_id=counter,
        number=number,
        language=lang,
        digest=digest,
    )
    await uow.commit()
    path = await speech.ensure(announcement)
    return FileResponse(
        path,
        media_type="audio/wav",
        headers={"Cache-Control": IMMUTABLE, "ETag": f'"{digest}"'},
    )


@router.get(
    "/offices/{office_id}/announcements/test/{digest}.wav",
    summary="The test announcement said aloud (WAV): the URLs come in display.test messages",
    response_class=FileResponse,
    responses={200: {"content": {"audio/wav": {}}}, 404: {}},
)
async def test_announcement_audio(
    office_id: str,
    digest: str,
    uow: UowDep,
    principal: Listener,
    resources: ResourcesDep,
    lang: Annotated[str, Query(max_length=8)],
) -> FileResponse:
    speech = resources.speech
    if speech is None or not is_digest(digest):
        raise NotFound("お知らせ音声が見つかりません (no such announcement)", digest=digest)
    announcement = await announcements.sound_check_of(
        uow, principal, office_id=office_id, language=lang, digest=digest
    )
    await uow.commit()
    path = await speech.ensure(announcement)
    return FileResponse(
        path,
        media_type="audio/wav",
        headers={"Cache-Control": IMMUTABLE, "ETag": f'"{digest}"'},
    )
