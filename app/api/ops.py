"""Health, readiness and metrics for the city's operations team."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Gauge, generate_latest

from app.api.errors import problem
from app.domain.clock import business_day
from app.resources import Resources
from app.services import ops

# Anonymous, outside /api: limited per client address like the pages (app/api/edge.py).
router = APIRouter(tags=["operations"], responses={429: {}})


@router.get("/healthz", summary="The process is up")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Database reachable and migrated to head", responses={503: {}})
async def readyz(request: Request) -> JSONResponse:
    resources: Resources = request.app.state.resources
    try:
        revision, head = await ops.schema_state(resources.engine)
    except Exception as error:
        return problem(
            503, "database_unavailable", f"database not reachable ({type(error).__name__})"
        )
    if revision != head:
        return problem(503, "migrations_pending", f"schema at {revision}, head is {head}")
    return JSONResponse({"status": "ready", "revision": revision})


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
)
async def metrics(request: Request) -> Response:
    resources: Resources = request.app.state.resources
    registry = CollectorRegistry()
    Gauge(
        "madoguchi_display_connections",
        "Lobby display websockets on this process",
        registry=registry,
    ).set(resources.hub.connection_count())
    listener = getattr(request.app.state, "listener", None)
    if listener is not None:
        Gauge(
            "madoguchi_listener_reconnects_total",
            "Times the LISTEN connection came back",
            registry=registry,
        ).set(listener.reconnects)
    jobs = getattr(request.app.state, "jobs", None)
    if jobs is not None:
        jobs.add_metrics(registry)
    up = Gauge(
        "madoguchi_metrics_database_up",
        "Whether this scrape could read the queue figures",
        registry=registry,
    )
    try:
        await _queue_metrics(resources, registry)
        up.set(1)
    except Exception:
        up.set(0)
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)


async def _queue_metrics(resources: Resources, registry: CollectorRegistry) -> None:
    """Queue and lobby figures of every municipality, read fresh on each scrape (two queries)."""
    now = resources.clock.now()
    today = business_day(now)
    step = ("municipality", "procedure", "kind")
    depth = Gauge(
        "madoguchi_queue_depth",
        "Open and leased tasks per procedure and step",
        step,
        registry=registry,
    )
    leased = Gauge(
        "madoguchi_queue_leased", "Tasks someone holds a lease on", step, registry=registry
    )
    oldest = Gauge(
        "madoguchi_queue_oldest_age_seconds",
        "Age of the oldest open or leased task",
        step,
        registry=registry,
    )
    due_today = Gauge(
        "madoguchi_queue_due_today", "Tasks whose application is due today", step, registry=registry
    )
    overdue = Gauge(
        "madoguchi_queue_overdue",
        "Tasks whose application is past its due day",
        step,
        registry=registry,
    )
    place = ("municipality", "office", "category")
    waiting = Gauge(
        "madoguchi_tickets_waiting",
        "Tickets waiting to be called today, per category",
        place,
        registry=registry,
    )
    wait = Gauge(
        "madoguchi_ticket_wait_oldest_seconds",
        "How long the longest-waiting ticket has waited",
        place,
        registry=registry,
    )
    tasks, tickets = await ops.queue_figures(resources.sessionmaker, today)
    for code, procedure, kind, count, held, first, due, late in tasks:
        labels = (code, procedure, kind)
        depth.labels(*labels).set(count)
        leased.labels(*labels).set(held or 0)
        oldest.labels(*labels).set(max(0.0, (now - first).total_seconds()) if first else 0)
        due_today.labels(*labels).set(due or 0)
        overdue.labels(*labels).set(late or 0)
    for code, office, prefix, count, first in tickets:
        waiting.labels(code, office, prefix).set(count)
        wait.labels(code, office, prefix).set(
            max(0.0, (now - first).total_seconds()) if first else 0
        )
