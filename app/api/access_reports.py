"""Access reports for supervisors (DOMAIN.md §7.12), as JSON or a spreadsheet-safe CSV."""

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from fastapi.responses import Response
from pydantic import AwareDatetime, BaseModel, Field

from app.api.deps import Caller, UowDep
from app.domain.access_reports import ReportKind
from app.domain.roles import Role
from app.exports.formats import Writer, item_line
from app.services import access_reports as reports

router = APIRouter(tags=["supervision"])
Supervisor = Caller(Role.SUPERVISOR)


class ReportRow(BaseModel):
    kind: str = Field(description="`night`, `failed_sign_in`, `bulk_view` or `export`")
    at: datetime = Field(description="When (a bulk view: its first view)")
    until: datetime | None = Field(description="A bulk view: its last view")
    person_id: str | None = Field(description="The person (or device, or system) who acted")
    person_name: str | None
    role: str | None
    terminal: str | None = Field(
        description="The console session or token used; a failed sign-in has none"
    )
    target: str = Field(
        description="`entity:id`; a bulk view: how many records; a failed "
        "sign-in: the staff number typed"
    )
    function: str = Field(description="view, work, export, vendor_download, report, sign_in…")
    records: int | None
    my_number_shown: bool | None
    reason: str | None = Field(
        description="A bulk view: views, records and the limit; a failed sign-in: why it failed"
    )


class AccessReport(BaseModel):
    kind: ReportKind
    from_: datetime = Field(alias="from")
    to: datetime
    rows: list[ReportRow]
    truncated: bool = Field(description="More rows than `limit`: narrow the period")


@router.get(
    "/access-reports",
    response_model=AccessReport,
    response_model_by_alias=True,
    summary="Access reports: night/holiday access, failed sign-ins, bulk views and exports "
    "(JSON, or CSV with format=csv); reading one is access-logged",
    responses={200: {"content": {"text/csv": {}}}, 422: {}},
)
async def access_report(
    uow: UowDep,
    principal: Supervisor,
    kind: Annotated[ReportKind, Query(description="night, failed_sign_in or bulk")],
    from_: Annotated[
        AwareDatetime, Query(alias="from", description="Start (inclusive), with offset")
    ],
    to: Annotated[AwareDatetime, Query(description="End (exclusive), with offset")],
    format: Annotated[Literal["json", "csv"], Query()] = "json",  # noqa: A002
    limit: Annotated[int, Query(ge=1, le=10_000)] = 1000,
) -> Response | AccessReport:
    report = await reports.access_report(uow, principal, kind, from_, to, limit=limit)
    rows = [ReportRow(**row) for row in report.rows]
    if format == "csv":
        writer = Writer("csv", "utf-8-sig", reports.COLUMNS)
        body = writer.start() + writer.chunk(
            [item_line({"values": row.model_dump(mode="json")}) for row in rows]
        )
        name = f"access-report-{kind}-{from_:%Y%m%d}.csv"
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )
    return AccessReport(
        **{"kind": kind, "from": from_, "to": to, "rows": rows, "truncated": report.truncated}
    )
