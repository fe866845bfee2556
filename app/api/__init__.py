"""The HTTP and websocket edge."""

from fastapi import APIRouter, Depends

from app.api import (
    access_reports,
    admin,
    announcements,
    applications,
    appointments,
    attachments,
    auth,
    core,
    decisions,
    display,
    display_admin,
    follow_ups,
    lobby,
    lobby_stats,
    move_in_reservations,
    qr,
    supervision,
    vendor,
    vendor_contracts,
    whatif,
    work,
)
from app.api.params import refuse_nul

api_router = APIRouter(dependencies=[Depends(refuse_nul)])
# The work queue first: a request's route is found by walking the routers in this order, and
# claims and submits are most of the requests. No other router has paths under /work.
api_router.include_router(supervision.router)  # before work: /work/me, /work/operators
api_router.include_router(work.router)
api_router.include_router(auth.router)
api_router.include_router(lobby.router)
api_router.include_router(appointments.router)
api_router.include_router(move_in_reservations.router)
api_router.include_router(display.router)
api_router.include_router(announcements.router)
api_router.include_router(qr.router)
api_router.include_router(applications.router)
api_router.include_router(decisions.router)
api_router.include_router(follow_ups.router)
api_router.include_router(attachments.router)
api_router.include_router(access_reports.router)
api_router.include_router(lobby_stats.router)
api_router.include_router(whatif.router)
api_router.include_router(core.router)
api_router.include_router(admin.router)
api_router.include_router(display_admin.router)
api_router.include_router(vendor.router)
api_router.include_router(vendor_contracts.router)
