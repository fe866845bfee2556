"""`madoguchi access-report`: the supervisors' access reports (DOMAIN.md §7.12) on a terminal."""

import json
import sys
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any

import typer

from app.domain.access_reports import ReportKind
from app.domain.clock import TOKYO


def _moment(text: str, *, end: bool) -> datetime:
    """An ISO date or date-time; without an offset it is Japan time. A date as ``--to`` counts
    its whole day (the report then ends at the next midnight)."""
    try:
        day = date.fromisoformat(text)
    except ValueError:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise typer.BadParameter(f"not an ISO date or date-time: {text}") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=TOKYO)
    return datetime.combine(day + timedelta(days=1 if end else 0), time(), TOKYO)


def access_report(
    kind: Annotated[ReportKind, typer.Argument(help="night, failed_sign_in or bulk")],
    municipality: Annotated[str, typer.Option(help="全国地方公共団体コード")],
    from_: Annotated[
        str, typer.Option("--from", help="Start: ISO date or date-time (JST without an offset)")
    ],
    to: Annotated[str, typer.Option("--to", help="End, exclusive; a date counts its whole day")],
    fmt: Annotated[str, typer.Option("--format", help="json (one line per row) or csv")] = "json",
    limit: Annotated[int, typer.Option(min=1, max=100_000)] = 10_000,
) -> None:
    """Print an access report; reading it is written to the access log like the HTTP route."""
    from app.cli.base import run as _run
    from app.domain.roles import Principal, Role
    from app.exports.formats import Writer, item_line
    from app.services import access_reports

    if fmt not in ("json", "csv"):
        raise typer.BadParameter("json or csv", param_hint="--format")
    start, end = _moment(from_, end=False), _moment(to, end=True)
    system = Principal(
        token_id="cli", municipality_code=municipality, role=Role.SUPERVISOR, name="madoguchi CLI"
    )

    async def work(uow: Any) -> access_reports.Report:
        return await access_reports.access_report(uow, system, kind, start, end, limit=limit)

    report = _run(work)
    rows = [
        {k: v.isoformat() if isinstance(v, datetime) else v for k, v in row.items()}
        for row in report.rows
    ]
    if fmt == "csv":
        writer = Writer("csv", "utf-8-sig", access_reports.COLUMNS)
        sys.stdout.buffer.write(
            writer.start() + writer.chunk([item_line({"values": row}) for row in rows])
        )
        sys.stdout.buffer.flush()
    else:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    if report.truncated:
        typer.echo(f"truncated at {limit} rows: narrow the period", err=True)


def stats(
    day: Annotated[str, typer.Option("--day", help="The business day, YYYY-MM-DD")],
    municipality: Annotated[str, typer.Option(help="全国地方公共団体コード")],
    office: Annotated[str | None, typer.Option(help="One office's id (default: all)")] = None,
    fmt: Annotated[
        str, typer.Option("--format", help="csv, json (one line per row) or xlsx (binary)")
    ] = "csv",
    estimates: Annotated[
        bool,
        typer.Option(
            "--estimates",
            help="The estimate report instead: each wait model's MAE, bias and shares within "
            "±5/±10 minutes per office and category (`*`: all)",
        ),
    ] = False,
) -> None:
    """窓口統計: the day's tickets, waits (median, p90, max), service times, no-shows,
    transfers and appointments kept/missed per office, category and counter (`*`: all); with
    --estimates, how far off each wait model's estimates were."""
    from app.cli.base import run as _run
    from app.domain.estimates import REPORT_COLUMNS
    from app.domain.lobby_stats import COLUMNS
    from app.domain.roles import Principal, Role
    from app.exports.formats import Writer, item_line
    from app.services import lobby_stats

    if fmt not in ("json", "csv", "xlsx"):
        raise typer.BadParameter("json, csv or xlsx", param_hint="--format")
    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        raise typer.BadParameter(f"not a date: {day}", param_hint="--day") from None
    system = Principal(
        token_id="cli", municipality_code=municipality, role=Role.SUPERVISOR, name="madoguchi CLI"
    )

    async def work(uow: Any) -> list[dict[str, Any]]:
        if estimates:
            _day, found, _hours = await lobby_stats.estimates(
                uow, system, day=wanted, office_id=office
            )
            return found
        _day, rows = await lobby_stats.daily(uow, system, day=wanted, office_id=office)
        return rows

    rows = _run(work)
    columns, title = (REPORT_COLUMNS, "待ち時間予測") if estimates else (COLUMNS, "窓口統計")
    if fmt == "xlsx":
        from app.exports.sheets import xlsx

        sys.stdout.buffer.write(xlsx(title, columns, rows))
        sys.stdout.buffer.flush()
    elif fmt == "csv":
        writer = Writer("csv", "utf-8-sig", columns)
        sys.stdout.buffer.write(
            writer.start() + writer.chunk([item_line({"values": row}) for row in rows])
        )
        sys.stdout.buffer.flush()
    else:
        for row in rows:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
