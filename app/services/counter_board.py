"""What a counter terminal shows: the ticket at this counter, the office's queues, waiting,
held and absent tickets."""

from dataclasses import dataclass
from typing import Any

from app.domain.clock import business_day
from app.realtime.messages import QueueState
from app.services import lobby as lobby_service
from app.services.uow import UnitOfWork
from app.storage import tenancy, ticket_lists


@dataclass(frozen=True)
class Board:
    category_ids: list[str]
    current: Any | None
    queues: list[QueueState]
    waiting: list[Any]
    # Held and no-show tickets: resumed or recalled from the counter.
    parked: list[Any]


async def counter_board(uow: UnitOfWork, counter: Any) -> Board:
    """Today's board of ``counter``: the categories it calls, its ticket (if any), the queue
    figures of its office, the waiting tickets and the held or absent ones (at most 200 of
    each)."""
    day = business_day(uow.now())
    categories = await tenancy.counter_category_ids(uow.session, counter.id)
    current = next(
        (
            t
            for t in await ticket_lists.list_at_counters(
                uow.session, counter.office_id, day, limit=200
            )
            if t.counter_id == counter.id
        ),
        None,
    )
    waiting = await ticket_lists.list_waiting(uow.session, counter.office_id, day, limit=200)
    parked = await ticket_lists.list_parked(uow.session, counter.office_id, day, limit=200)
    queues = await lobby_service.queue_states(
        uow.session, counter.office_id, day, uow.settings, uow.now()
    )
    return Board(
        category_ids=categories, current=current, queues=queues, waiting=waiting, parked=parked
    )
