"""What a municipality has configured, listed for its administrators and counter terminals:
offices, categories, counters (with the categories they call) and API tokens (never secrets)."""

from typing import Any

from app.services.uow import UnitOfWork
from app.storage import directory as directory_store
from app.storage import tenancy


async def list_offices(uow: UnitOfWork, municipality_code: str) -> list[dict[str, Any]]:
    return [
        o.model_dump() for o in await directory_store.list_offices(uow.session, municipality_code)
    ]


async def list_categories(uow: UnitOfWork, office_id: str) -> list[dict[str, Any]]:
    """The office's active ticket categories by prefix."""
    return [c.model_dump() for c in await tenancy.list_categories(uow.session, office_id)]


async def list_counters(uow: UnitOfWork, office_id: str) -> list[dict[str, Any]]:
    """The office's counters by label, each with ``category_ids``."""
    return [
        {**c.model_dump(), "category_ids": await tenancy.counter_category_ids(uow.session, c.id)}
        for c in await tenancy.list_counters(uow.session, office_id)
    ]


async def counter_category_ids(uow: UnitOfWork, counter_id: str) -> list[str]:
    return await tenancy.counter_category_ids(uow.session, counter_id)


async def list_tokens(uow: UnitOfWork, municipality_code: str) -> list[dict[str, Any]]:
    """Every token of the municipality, oldest first (hashes included: the caller picks fields)."""
    return [
        t.model_dump() for t in await directory_store.list_tokens(uow.session, municipality_code)
    ]


async def office_names(uow: UnitOfWork, office_id: str) -> tuple[str, str]:
    """An existing office's names in Japanese and English."""
    office = await directory_store.get_office(uow.session, office_id)
    assert office is not None
    return office.name_ja, office.name_en


async def municipality_exists(uow: UnitOfWork, code: str) -> bool:
    return await directory_store.get_municipality(uow.session, code) is not None
