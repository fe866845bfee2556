"""窓口統計: the day's lobby figures per office, category and counter, as JSON or CSV."""

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from app.api.deps import Caller, UowDep
from app.domain.estimates import IN_USE, MODEL_LABELS, MODELS, REPORT_COLUMNS
from app.domain.lobby_stats import COLUMNS
from app.domain.roles import Role
from app.exports.formats import Writer, item_line
from app.exports.sheets import xlsx
from app.services import lobby_stats

router = APIRouter(tags=["statistics"])
Supervisor = Caller(Role.SUPERVISOR)
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class StatsRow(BaseModel):
    day: str
    office_id: str
    category: str = Field(description="The category's prefix")
    counter: str = Field(description="The counter's label; `*`: the category over all counters")
    tickets: int
    served: int
    no_shows: int
    cancelled: int
    transfers: int = Field(description="Staff transfers to another category or counter")
    next_stops: int = Field(description="Planned moves on to a plan's next stop")
    wait_median_s: int | None = Field(description="Issue (or check-in) to the last call")
    wait_p90_s: int | None
    wait_max_s: int | None
    service_median_s: int | None = Field(description="Start to finish of served tickets")
    service_p90_s: int | None
    service_max_s: int | None
    appointments_kept: int
    appointments_missed: int
    estimates: int = Field(description="Tickets called whose shown wait could be checked")
    estimate_mae_s: int | None = Field(description="Mean absolute error of the shown waits")
    estimate_bias_s: int | None = Field(description="Mean of real minus shown wait")
    estimate_within_5min: float | None = Field(description="Share within ±5 minutes (0–1)")
    estimate_within_10min: float | None = Field(description="Share within ±10 minutes (0–1)")


class LobbyStats(BaseModel):
    day: date
    rows: list[StatsRow]


def download(name: str, sheet: str, columns: Any, rows: Sequence[BaseModel]) -> Response:
    """A table as an attachment: XLSX (one sheet) or CSV (UTF-8 with BOM, through the one CSV
    writer and its spreadsheet-safe cells), chosen by the file name's extension."""
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    if name.endswith(".xlsx"):
        body = xlsx(sheet, columns, [row.model_dump() for row in rows])
        return Response(body, media_type=XLSX_TYPE, headers=headers)
    writer = Writer("csv", "utf-8-sig", columns)
    body = writer.start() + writer.chunk(
        [item_line({"values": row.model_dump(mode="json")}) for row in rows]
    )
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.get(
    "/lobby-stats",
    response_model=LobbyStats,
    summary="窓口統計: a day's tickets, waits, service times, no-shows, transfers and "
    "appointments per office, category and counter (JSON; CSV or XLSX with format=csv or xlsx)",
    responses={200: {"content": {"text/csv": {}, XLSX_TYPE: {}}}, 404: {}, 422: {}},
)
async def daily(
    uow: UowDep,
    principal: Supervisor,
    day: Annotated[date | None, Query(description="The business day (today by default)")] = None,
    office: Annotated[str | None, Query(max_length=64)] = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",  # noqa: A002
) -> Response | LobbyStats:
    day, found = await lobby_stats.daily(uow, principal, day=day, office_id=office)
    rows = [StatsRow(**row) for row in found]
    if format != "json":
        return download(f"lobby-stats-{day}.{format}", "窓口統計", COLUMNS, rows)
    return LobbyStats(day=day, rows=rows)


class EstimateRow(BaseModel):
    day: str
    office_id: str
    category: str = Field(description="The category's prefix at issue; `*`: all categories")
    model: str = Field(description="The wait model (app/domain/estimates.py MODELS)")
    in_use: bool = Field(description="The model residents were shown")
    estimates: int = Field(description="Tickets called whose estimates could be checked")
    estimate_mae_s: int | None = Field(description="Mean absolute error")
    estimate_bias_s: int | None = Field(description="Mean of real minus estimated wait")
    estimate_within_5min: float | None = Field(description="Share within ±5 minutes (0–1)")
    estimate_within_10min: float | None = Field(description="Share within ±10 minutes (0–1)")


class EstimateHour(BaseModel):
    model: str
    hour: int = Field(description="Hour of issue, office time (0–23)")
    estimates: int
    estimate_mae_s: int | None
    estimate_bias_s: int | None


class EstimateModel(BaseModel):
    name: str
    label: str
    in_use: bool


class EstimateReport(BaseModel):
    day: date
    models: list[EstimateModel]
    rows: list[EstimateRow]
    hours: list[EstimateHour]


@router.get(
    "/lobby-stats/estimates",
    response_model=EstimateReport,
    summary="待ち時間予測の精度: each wait model's MAE, bias and shares within ±5/±10 minutes "
    "per office and category, and MAE per hour (JSON; CSV or XLSX with format=csv or xlsx)",
    responses={200: {"content": {"text/csv": {}, XLSX_TYPE: {}}}, 404: {}, 422: {}},
)
async def estimate_report(
    uow: UowDep,
    principal: Supervisor,
    day: Annotated[date | None, Query(description="The business day (today by default)")] = None,
    office: Annotated[str | None, Query(max_length=64)] = None,
    format: Annotated[Literal["json", "csv", "xlsx"], Query()] = "json",  # noqa: A002
) -> Response | EstimateReport:
    day, found, hours = await lobby_stats.estimates(uow, principal, day=day, office_id=office)
    rows = [EstimateRow(**row) for row in found]
    if format != "json":
        return download(f"lobby-estimates-{day}.{format}", "待ち時間予測", REPORT_COLUMNS, rows)
    return EstimateReport(
        day=day,
        models=[
            EstimateModel(name=name, label=MODEL_LABELS[name], in_use=name == IN_USE)
            for name in MODELS
        ],
        rows=rows,
        hours=[EstimateHour(**hour) for hour in hours],
    )
