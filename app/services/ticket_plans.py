"""A ticket's plan of stops (住民異動 → 国保 → 児童手当): checked at issue, changed by staff, named
for the screens; and the locked lookup every ticket command starts from."""

from app.domain.errors import (
    InvalidInput,
    NotFound,
)
from app.domain.roles import Principal
from app.domain.tickets import (
    TicketAction,
    TicketStatus,
    add_stop,
    next_status,
    skip_next_stop,
)
from app.storage import tenancy, ticket_stops
from app.storage import tickets as ticket_store
from app.storage.tables import Ticket
from app.storage.uow import UnitOfWork

# A plan of stops (住民異動 → 国保 → 児童手当): at most this many categories after the first.
MAX_STOPS = 5


async def locked_ticket(uow: UnitOfWork, principal: Principal, ticket_id: str) -> Ticket:
    ticket = await ticket_store.lock_ticket(uow.session, ticket_id, principal.municipality_code)
    if ticket is None or not principal.may_use_office(ticket.office_id):
        raise NotFound("番号札が見つかりません (no such ticket)", ticket_id=ticket_id)
    return ticket


async def check_plan(
    uow: UnitOfWork, principal: Principal, office_id: str, then: list[str]
) -> list[str]:
    """The further stops of a plan, each an active category of the office (else 422)."""
    if len(then) > MAX_STOPS:
        raise InvalidInput.field(
            "then",
            "too_many_stops",
            f"次の窓口は {MAX_STOPS} か所までです (at most {MAX_STOPS} further stops)",
        )
    for index, category_id in enumerate(then):
        category = await tenancy.find_category(
            uow.session, category_id, principal.municipality_code
        )
        if category is None or category.office_id != office_id or not category.is_active:
            raise InvalidInput.field(
                f"then[{index}]",
                "unknown_category",
                "受付区分が見つかりません (no such category here)",
            )
    return then


async def stop_names(uow: UnitOfWork, category_ids: list[str]) -> list[tuple[str, str]]:
    """The names (ja, en) of a ticket's current category and its further stops, in order."""
    found = await ticket_stops.categories_by_id(uow.session, category_ids)
    return [(found[c].name_ja, found[c].name_en) for c in category_ids if c in found]


async def change_plan(
    uow: UnitOfWork,
    principal: Principal,
    *,
    ticket_id: str,
    action: TicketAction,
    category_id: str | None = None,
    at: int | None = None,
) -> Ticket:
    """Skip a ticket's next stop, or add ``category_id`` to its plan (at ``at``, else last).

    Only the plan changes: status, number, place and counter stay; the change is logged."""
    ticket = await locked_ticket(uow, principal, ticket_id)
    status = TicketStatus(ticket.status)
    next_status(status, action)  # a finished, cancelled or absent ticket has no plan to change
    before = list(ticket.stops or [])
    if action is TicketAction.SKIP_STOP:
        after = skip_next_stop(before)
    else:
        category = await tenancy.find_category(
            uow.session, category_id or "", principal.municipality_code
        )
        if category is None or category.office_id != ticket.office_id or not category.is_active:
            raise InvalidInput.field(
                "category", "unknown_category", "受付区分が見つかりません (no such category here)"
            )
        after = add_stop(before, category.id, ticket.category_id, at=at, most=MAX_STOPS)
    ticket.stops = after or None
    await uow.flush()
    uow.log(
        entity="ticket",
        entity_id=ticket.id,
        action=action,
        municipality_code=ticket.municipality_code,
        from_status=status,
        to_status=status,
        data={"stops_before": before, "stops_after": after},
    )
    return ticket
