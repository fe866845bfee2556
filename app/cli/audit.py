"""The tamper-evident event and access logs: seal, verify."""

import asyncio
import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from app.cli.base import audit_cli, with_sessionmaker
from app.domain.clock import SystemClock
from app.settings import Settings


class AuditLog(StrEnum):
    EVENT = "event"
    ACCESS = "access"
    ALL = "all"


def _audit_logs(choice: AuditLog) -> list[Any]:
    from app.domain.audit import LogName

    return list(LogName) if choice is AuditLog.ALL else [LogName(choice.value)]


def _seal_lines(sealed: dict[Any, int]) -> list[str]:
    return [
        f"{log} {code}: sealed {count} (封印 {count} 件)" for (log, code), count in sealed.items()
    ]


@audit_cli.command("seal")
def audit_seal(
    municipality: Annotated[
        str | None, typer.Option(help="Only this municipality's chains")
    ] = None,
    log: Annotated[AuditLog, typer.Option(help="Which log")] = AuditLog.ALL,
) -> None:
    """Chain every log row committed so far (the server does this every second)."""
    from app.services import audit

    settings = Settings()
    settings.check_production()
    sealed = asyncio.run(
        with_sessionmaker(
            lambda maker: audit.seal(
                maker,
                SystemClock(),
                logs=_audit_logs(log),
                municipality_code=municipality,
                batch_rows=settings.audit.batch_rows,
                keys=settings.audit.keys,
            )
        )
    )
    for line in _seal_lines(sealed):
        typer.echo(line)


@audit_cli.command("verify")
def audit_verify(
    municipality: Annotated[
        str | None, typer.Option(help="Only this municipality's chains")
    ] = None,
    log: Annotated[AuditLog, typer.Option(help="Which log")] = AuditLog.ALL,
    seal_first: Annotated[bool, typer.Option("--seal", help="Seal unsealed rows first")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per chain")] = False,
) -> None:
    """Recompute every chain and every MAC; name the first broken entry of each and the rows the
    sealer refused. Exit 1 if any chain is broken or holds refused rows.

    Prints one line per chain (log, municipality): `OK <n> entries, head <hash>`, or where it
    breaks and how, or `REFUSED` with the ids of rows that carry no valid MAC (written outside
    the service), plus the rows not yet sealed. Keep the printed heads somewhere else too:
    a later run that shows a different history before them proves a rewrite.
    """
    from app.services import audit

    settings = Settings()
    settings.check_production()
    logs = _audit_logs(log)

    async def work(maker: Any) -> int:
        if municipality is not None and not await audit.known_municipality(maker, municipality):
            typer.echo(
                f"error: 団体が見つかりません (no such municipality): {municipality}", err=True
            )
            return 2
        if seal_first:
            sealed = await audit.seal(
                maker,
                SystemClock(),
                logs=logs,
                municipality_code=municipality,
                batch_rows=settings.audit.batch_rows,
                keys=settings.audit.keys,
            )
            for line in _seal_lines(sealed):
                typer.echo(line, err=True)
        broken = 0
        async for report in audit.verify(
            maker,
            logs=logs,
            municipality_code=municipality,
            chunk_rows=settings.audit.batch_rows,
            keys=settings.audit.keys,
        ):
            broken += not report.ok
            typer.echo(
                json.dumps(_report_json(report), ensure_ascii=False)
                if as_json
                else _report_line(report)
            )
        typer.echo(
            f"改ざんの疑い {broken} chain(s) broken" if broken else "改ざんなし all chains intact",
            err=True,
        )
        return 1 if broken else 0

    raise typer.Exit(asyncio.run(with_sessionmaker(work)))


def _report_line(report: Any) -> str:
    where = f"{report.log} {report.municipality_code}:"
    unsealed = f"{report.unsealed} not yet sealed (未封印 {report.unsealed} 件)"
    if report.broken is None:
        from app.domain.audit import GENESIS_HASH

        head = report.head.last_hash if report.head else GENESIS_HASH
        if report.rejected:
            ids = ", ".join(str(i) for i in report.rejected_ids)
            more = ", …" if report.rejected > len(report.rejected_ids) else ""
            return (
                f"{where} REFUSED {report.rejected} row(s) without a valid MAC, not chained "
                f"(鍵の署名がない記録 {report.rejected} 件): row ids {ids}{more}; "
                f"chain OK {report.entries} entries, head {head}; {unsealed}"
            )
        return f"{where} OK {report.entries} entries, head {head}; {unsealed}"
    b = report.broken
    row = b.row_id if b.row_id is not None else "-"
    return (
        f"{where} BROKEN at chain_seq {b.chain_seq}, row id {row}: {b.title_en} ({b.title_ja}); "
        f"{b.detail}; {unsealed}"
    )


def _report_json(report: Any) -> dict[str, Any]:
    b = report.broken
    return {
        "log": str(report.log),
        "municipality": report.municipality_code,
        "status": "broken" if b is not None else ("refused" if report.rejected else "ok"),
        "entries": report.entries,
        "head_seq": report.head.last_seq if report.head else 0,
        "head_hash": report.head.last_hash if report.head else None,
        "unsealed": report.unsealed,
        "refused": report.rejected,
        "refused_row_ids": list(report.rejected_ids),
        "unkeyed": report.unkeyed,
        "break": None
        if b is None
        else {
            "kind": str(b.kind),
            "chain_seq": b.chain_seq,
            "row_id": b.row_id,
            "title_ja": b.title_ja,
            "title_en": b.title_en,
            "detail": b.detail,
        },
    }
