"""One application as its reader may see it, and its history."""

from typing import Any

from app.domain.errors import NotAllowed, NotFound
from app.domain.roles import Principal
from app.domain.visibility import Viewer, application_refusal
from app.services.records import ApplicationRecord
from app.services.uow import UnitOfWork
from app.services.visibility import viewer_for
from app.storage import application_views as application_views_store


async def get_application(
    uow: UnitOfWork, principal: Principal, application_id: str, viewer: Viewer | None = None
) -> ApplicationRecord:
    """The application, if it belongs to the caller's municipality and they may see it.

    A vendor-employed caller without a contract gets 403; an application outside their
    contract, or of a person under 支援措置, does not exist for them (404).
    """
    viewer = viewer or await viewer_for(uow, principal)
    if viewer.vendor_side and viewer.contract is None:
        raise NotAllowed("委託契約がないため閲覧できません (no vendor contract: nothing to see)")
    application = await application_views_store.find_application(uow.session, application_id)
    if application is None or application.municipality_code != principal.municipality_code:
        raise NotFound("申請が見つかりません (no such application)", application_id=application_id)
    why = application_refusal(
        viewer, procedure=application.procedure, protected=application.is_protected
    )
    if why:
        raise NotFound("申請が見つかりません (no such application)", application_id=application_id)
    return application


async def history(uow: UnitOfWork, application_id: str) -> list[dict[str, Any]]:
    """The application's events, oldest first: at, action, from_status, to_status, actor_role,
    actor_id and data."""
    return await application_views_store.history(uow.session, application_id)
