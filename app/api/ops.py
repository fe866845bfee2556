"""Health, readiness and metrics for the city's operations team."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest
from sqlalchemy import text

from app.api.errors import problem
from app.resources import Resources
from app.storage.migrations import current_revision, head_revision

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Database reachable and migrated to head", responses={503: {}})
async def readyz(request: Request) -> JSONResponse:
    resources: Resources = request.app.state.resources
    try:
        async with resources.engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
            revision = await connection.run_sync(current_revision)
    except Exception as error:
        return problem(503, "database_unavailable", f"database not reachable ({type(error).__name__})")
    head = head_revision()
    if revision != head:
        return problem(503, "migrations_pending", f"schema at {revision}, head is {head}")
    return JSONResponse({"status": "ready", "revision": revision})


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    resources: Resources = request.app.state.resources
    registry = CollectorRegistry()
    Gauge("madoguchi_display_connections", "Lobby display websockets on this process",
          registry=registry).set(resources.hub.connection_count())
    listener = getattr(request.app.state, "listener", None)
    if listener is not None:
        Gauge("madoguchi_listener_reconnects_total", "Times the LISTEN connection came back",
              registry=registry).set(listener.reconnects)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
