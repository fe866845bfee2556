"""What the work screens show besides the task itself."""

from typing import Any

from app.domain.errors import NotAllowed
from app.domain.visibility import Viewer
from app.services.records import ApplicationRecord, TaskRecord
from app.services.uow import UnitOfWork
from app.storage import work_views as work_views_store


async def verify_values(uow: UnitOfWork, application_id: str) -> dict[str, Any]:
    """What the verify step keyed (path → value), for settling; empty before any verify."""
    verify = await work_views_store.latest_verify(uow.session, application_id)
    return ((verify.result or {}).get("verify_values") or {}) if verify else {}


async def vendor_queue(
    uow: UnitOfWork, municipality_code: str, viewer: Viewer, limit: int
) -> list[tuple[TaskRecord, ApplicationRecord]]:
    """Returned vendor-keyed work of the viewer's contract, for the vendor's 管理責任者."""
    if viewer.contract is None:
        raise NotAllowed("委託契約がないため閲覧できません (no vendor contract: nothing to see)")
    return list(
        await work_views_store.list_vendor_manager_tasks(
            uow.session, municipality_code, sorted(viewer.contract.procedures), limit
        )
    )
