"""The lobby: kiosks issue tickets, counters call and serve them, residents follow their number."""

import json
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Header, Query, Request, Response, status
from fastapi.responses import JSONResponse

from app.api.deps import Caller, ResourcesDep, SettingsDep, UowDep
from app.api.idempotency import idempotent
from app.api.schemas import (
    AddStop,
    CallTicket,
    CounterBoard,
    CounterOut,
    FollowUpDepartment,
    IssuedTicketOut,
    IssueTicket,
    NoticeRequest,
    PaperTicketOut,
    ParkedTicket,
    PublicTicketOut,
    ResumeTicket,
    StopOut,
    TicketOut,
    TransferTicket,
    WaitingTicket,
)
from app.domain.roles import Role
from app.domain.tickets import TicketAction, TicketStatus, allowed_actions
from app.realtime.messages import LobbySnapshot
from app.services import directory, notices, receipts, ticket_plans
from app.services import follow_ups as follow_up_service
from app.services import tickets as ticket_service
from app.services.counter_board import counter_board as board_of
from app.services.tickets import TicketView

router = APIRouter(tags=["lobby"])

Kiosk = Caller(Role.KIOSK, Role.COUNTER)
CounterStaff = Caller(Role.COUNTER)
LobbyReader = Caller(Role.DISPLAY, Role.COUNTER, Role.KIOSK)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]


# The office a status link was issued for: a link naming another office finds no ticket.
OfficeParam = Annotated[
    str | None,
    Query(
        alias="office",
        max_length=64,
        description="The ticket's office, as in its status link (links issued "
        "before it was added carry none and still work)",
    ),
]


def status_url(base_url: str, office_id: str, ticket_id: str, key: str) -> str:
    """The resident's status page of a ticket: its office, id and key (what the QR code opens)."""
    return f"{base_url}/status/?{urlencode({'office': office_id, 'ticket': ticket_id, 'key': key})}"


def ticket_out(view: TicketView) -> TicketOut:
    return TicketOut(**_ticket_fields(view))


def issued_ticket_out(view: TicketView, base_url: str) -> IssuedTicketOut:
    """A new ticket as the kiosk prints it: with its status page link and key."""
    ticket = view.ticket
    return IssuedTicketOut(
        **_ticket_fields(view),
        public_key=ticket.public_key,
        status_url=status_url(base_url, ticket.office_id, ticket.id, ticket.public_key),
    )


def _ticket_fields(view: TicketView) -> dict[str, Any]:
    ticket = view.ticket
    waiting = ticket.status == TicketStatus.WAITING
    return dict(
        id=ticket.id,
        number=ticket.number,
        status=ticket.status,
        category_id=ticket.category_id,
        office_id=ticket.office_id,
        is_priority=ticket.is_priority,
        language=ticket.language,
        issued_at=ticket.issued_at,
        called_at=ticket.called_at,
        counter_id=ticket.counter_id,
        counter_label=view.counter.label if view.counter else None,
        call_count=ticket.call_count,
        recall_count=ticket.recall_count,
        next_stops=list(ticket.stops or []),
        position=view.ahead + 1 if waiting else None,
        ahead=view.ahead,
        estimate_min=view.estimate_min,
        allowed_actions=sorted(
            allowed_actions(TicketStatus(ticket.status), len(ticket.stops or []))
        ),
    )


@router.post(
    "/offices/{office_id}/tickets",
    status_code=status.HTTP_201_CREATED,
    response_model=IssuedTicketOut,
    summary="Issue a numbered ticket (kiosk) 発券",
    responses={404: {}, 409: {}, 422: {}, 429: {}},
)
async def issue_ticket(
    office_id: str,
    body: IssueTicket,
    uow: UowDep,
    principal: Kiosk,
    settings: SettingsDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    # Per token, kiosk or counter alike: a stuck screen or a looping script cannot empty the day.
    request.app.state.kiosk_limiter.check(request, key=principal.token_id)
    # A wrong address or number is refused before a number is taken; a channel the office has
    # no gateway for, once the office is known to the caller (its transaction rolls back).
    how = (
        notices.contact(body.email, body.phone, body.line)
        if body.email or body.phone or body.line
        else None
    )

    async def run() -> tuple[int, dict[str, object]]:
        view = await ticket_service.issue_ticket(
            uow,
            principal,
            office_id=office_id,
            category_id=body.category,
            is_priority=body.is_priority,
            language=body.language,
            then=body.then,
        )
        if how is not None:
            await notices.ask_at_issue(uow, view.ticket, how)
        out = issued_ticket_out(view, settings.public_base_url)
        issued.append(view)
        return 201, out.model_dump(mode="json")

    issued: list[TicketView] = []
    response = await idempotent(uow, principal, idempotency_key, f"issue:{office_id}", body, run)
    if not issued or office_id not in settings.receipt.printers:
        return response  # no printer here, or a replay (printed the first time)
    # The ticket is committed first: the printer can fail or hang, the ticket stands.
    await uow.commit()
    view = issued[0]
    payload = json.loads(response.body)
    paper = await receipts.print_ticket(
        uow,
        settings.receipt,
        view.ticket,
        status_url=str(payload["status_url"]),
        estimate_min=view.estimate_min,
    )
    if paper is not None:
        payload["paper"] = PaperTicketOut(printed=paper.printed, notice=paper.notice).model_dump()
    return JSONResponse(payload, status_code=response.status_code)


@router.get(
    "/tickets/{ticket_id}/public",
    response_model=PublicTicketOut,
    summary="A resident's view of their ticket (no personal data)",
    responses={404: {}, 429: {}},
)
async def public_ticket(
    ticket_id: str,
    uow: UowDep,
    request: Request,
    key: Annotated[str, Query(max_length=64)],
    office_id: OfficeParam = None,
) -> PublicTicketOut:
    request.app.state.public_limiter.check(request)
    view = await ticket_service.public_status(
        uow, ticket_id=ticket_id, key=key, office_id=office_id
    )
    ticket = view.ticket
    office_name_ja, office_name_en = await directory.office_names(uow, ticket.office_id)
    stops = await ticket_plans.stop_names(uow, [ticket.category_id, *(ticket.stops or [])])
    return PublicTicketOut(
        stop=StopOut(name_ja=stops[0][0], name_en=stops[0][1]) if stops else None,
        next_stops=[StopOut(name_ja=ja, name_en=en) for ja, en in stops[1:]],
        number=ticket.number,
        status=ticket.status,
        position=view.ahead + 1 if ticket.status == TicketStatus.WAITING else None,
        ahead=view.ahead,
        estimate_min=view.estimate_min,
        counter_label=view.counter.label if view.counter else None,
        office_name_ja=office_name_ja,
        office_name_en=office_name_en,
        progress=ticket.progress,
        language=ticket.language,
        near=await notices.is_near(uow, view),
        gateway=notices.gateway_channel(uow, ticket.office_id),
    )


@router.post(
    "/tickets/{ticket_id}/public/notify",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Be told by e-mail, SMS or LINE when the turn is near and when called (the "
    "ticket's key)",
    responses={404: {}, 409: {}, 422: {}, 429: {}},
)
async def ask_notice(
    ticket_id: str, body: NoticeRequest, uow: UowDep, request: Request
) -> Response:
    request.app.state.public_limiter.check(request)
    how = notices.contact(body.email, body.phone, body.line)
    await notices.ask(uow, ticket_id=ticket_id, key=body.key, how=how, office_id=body.office)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/counters/{counter_id}/call-next",
    response_model=TicketOut,
    summary="Call the next resident to this counter 呼出",
    responses={204: {"description": "Nobody waits"}, 404: {}, 403: {}},
)
async def call_next(counter_id: str, uow: UowDep, principal: CounterStaff) -> TicketOut | Response:
    ticket = await ticket_service.call_next(uow, principal, counter_id=counter_id)
    if ticket is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return ticket_out(await ticket_service.view(uow, ticket))


@router.post(
    "/counters/{counter_id}/call",
    response_model=TicketOut,
    summary="Call a given waiting number to this counter 指定呼出",
    responses={404: {}, 403: {}, 409: {}, 422: {}},
)
async def call_ticket(
    counter_id: str, body: CallTicket, uow: UowDep, principal: CounterStaff
) -> TicketOut:
    ticket = await ticket_service.call_ticket(
        uow, principal, counter_id=counter_id, ticket_ref=body.ticket
    )
    return ticket_out(await ticket_service.view(uow, ticket))


def _pause_route(paused: bool, path: str, summary: str) -> None:
    async def endpoint(counter_id: str, uow: UowDep, principal: CounterStaff) -> CounterOut:
        counter = await ticket_service.set_paused(
            uow, principal, counter_id=counter_id, paused=paused
        )
        board = await board_of(uow, counter)
        return CounterOut(**counter.model_dump(), category_ids=board.category_ids)

    endpoint.__name__ = f"counter_{path}"
    router.add_api_route(
        f"/counters/{{counter_id}}/{path}",
        endpoint,
        methods=["POST"],
        response_model=CounterOut,
        summary=summary,
        responses={404: {}, 403: {}},
    )


_pause_route(True, "pause", "Pause the counter (calls nobody) 一時停止")
_pause_route(False, "resume", "Resume the paused counter 再開")


def _action_route(action: TicketAction, path: str, summary: str) -> None:
    async def endpoint(ticket_id: str, uow: UowDep, principal: CounterStaff) -> TicketOut:
        ticket = await ticket_service.act(uow, principal, ticket_id=ticket_id, action=action)
        return ticket_out(await ticket_service.view(uow, ticket))

    endpoint.__name__ = f"ticket_{action.value}"
    router.add_api_route(
        f"/tickets/{{ticket_id}}/{path}",
        endpoint,
        methods=["POST"],
        response_model=TicketOut,
        summary=summary,
        responses={404: {}, 409: {}},
    )


_action_route(TicketAction.RECALL, "recall", "Call the ticket again 再呼出")
_action_route(TicketAction.START, "start", "Start serving 受付開始")
_action_route(TicketAction.FINISH, "finish", "Finish serving 完了")
_action_route(TicketAction.NO_SHOW, "no-show", "Resident did not come 不在")
_action_route(TicketAction.CANCEL, "cancel", "Cancel the ticket 取消")
_action_route(TicketAction.HOLD, "hold", "Park the ticket off the counter 保留")
_action_route(TicketAction.UNDO_CALL, "undo-call", "Take back a mistaken call 呼出取消")


@router.post(
    "/tickets/{ticket_id}/resume",
    response_model=TicketOut,
    summary="Call a held ticket again to this counter 保留解除",
    responses={404: {}, 403: {}, 409: {}, 422: {}},
)
async def resume_ticket(
    ticket_id: str, body: ResumeTicket, uow: UowDep, principal: CounterStaff
) -> TicketOut:
    ticket = await ticket_service.resume(
        uow, principal, ticket_id=ticket_id, counter_id=body.counter
    )
    return ticket_out(await ticket_service.view(uow, ticket))


# Staff who may change a ticket's plan of stops: its counter, and the floor's supervisor.
PlanStaff = Caller(Role.COUNTER, Role.SUPERVISOR)


@router.post(
    "/tickets/{ticket_id}/skip-stop",
    response_model=TicketOut,
    summary="Drop the ticket's next stop from its plan 次の窓口を省略",
    responses={404: {}, 409: {}},
)
async def skip_stop(ticket_id: str, uow: UowDep, principal: PlanStaff) -> TicketOut:
    ticket = await ticket_plans.change_plan(
        uow, principal, ticket_id=ticket_id, action=TicketAction.SKIP_STOP
    )
    return ticket_out(await ticket_service.view(uow, ticket))


@router.post(
    "/tickets/{ticket_id}/stops",
    response_model=TicketOut,
    summary="Add a stop to the ticket's plan 窓口を追加",
    responses={404: {}, 409: {}, 422: {}},
)
async def add_stop(ticket_id: str, body: AddStop, uow: UowDep, principal: PlanStaff) -> TicketOut:
    ticket = await ticket_plans.change_plan(
        uow,
        principal,
        ticket_id=ticket_id,
        action=TicketAction.ADD_STOP,
        category_id=body.category,
        at=body.at,
    )
    return ticket_out(await ticket_service.view(uow, ticket))


@router.post(
    "/tickets/{ticket_id}/transfer",
    response_model=TicketOut,
    summary="Send the resident to another category or counter 回送",
    responses={404: {}, 409: {}, 422: {}},
)
async def transfer_ticket(
    ticket_id: str, body: TransferTicket, uow: UowDep, principal: CounterStaff
) -> TicketOut:
    ticket = await ticket_service.transfer(
        uow, principal, ticket_id=ticket_id, category_id=body.category, counter_id=body.counter
    )
    return ticket_out(await ticket_service.view(uow, ticket))


@router.get(
    "/offices/{office_id}/lobby",
    response_model=LobbySnapshot,
    summary="Lobby snapshot: called numbers, waiting counts, estimates",
    responses={404: {}},
)
async def lobby_snapshot(
    office_id: str, uow: UowDep, principal: LobbyReader, resources: ResourcesDep
) -> LobbySnapshot:
    await ticket_service.get_office(uow, principal, office_id)
    # Allowed: this request's own transaction ends here (on SQLite it holds the write lock), and
    # the snapshot is the displays' read: seq and tickets from one moment, in a session of its own.
    await uow.commit()
    return await resources.feed.snapshot(office_id)


@router.get(
    "/counters/{counter_id}",
    response_model=CounterBoard,
    summary="A counter terminal's board: its ticket and the waiting lists",
    responses={404: {}},
)
async def counter_board(counter_id: str, uow: UowDep, principal: CounterStaff) -> CounterBoard:
    counter = await ticket_service.get_counter(uow, principal, counter_id)
    board = await board_of(uow, counter)
    current = board.current
    departments = await follow_up_service.departments_of_move(
        uow, counter.municipality_code, current.application_id if current else None
    )
    return CounterBoard(
        counter=CounterOut(**counter.model_dump(), category_ids=board.category_ids),
        follow_up_departments=[FollowUpDepartment(**vars(d)) for d in departments],
        current=ticket_out(await ticket_service.view(uow, current)) if current else None,
        queues=board.queues,
        waiting=[
            WaitingTicket(
                id=t.id,
                number=t.number,
                category_id=t.category_id,
                is_priority=t.is_priority,
                issued_at=t.issued_at,
                target_counter_id=t.target_counter_id,
            )
            for t in board.waiting
        ],
        parked=[
            ParkedTicket(
                id=t.id,
                number=t.number,
                category_id=t.category_id,
                status=t.status,
                counter_id=t.counter_id,
                recall_count=t.recall_count,
            )
            for t in board.parked
        ],
    )
