"""Prompts made when an application is approved (DOMAIN.md §7.23); the rules are in app.domain."""

from app.domain.catalogue import load_catalogue
from app.domain.deadlines import Calendar
from app.domain.prompts import CHANGE_NOTICES, change_notice_prompts, movers
from app.storage import claimants
from app.storage.tables import Application
from app.storage.uow import UnitOfWork


async def on_approval(uow: UnitOfWork, application: Application) -> None:
    """A 転入/転居 of a recipient known to the office adds its 氏名・住所変更届 to the proposals.

    Judged at approval, on the values as approved; a reopened application approved again gets
    them afresh.
    """
    procedure = load_catalogue().get(application.procedure)
    moved = movers(procedure, application.values)
    if not moved:
        return
    claims = await claimants.approved_claims_of(
        uow.session, application.municipality_code, sorted(CHANGE_NOTICES), moved
    )
    kept = [p for p in application.proposals or [] if "claim_id" not in p]
    application.proposals = kept + change_notice_prompts(
        procedure, application.values, claims, Calendar()
    )
