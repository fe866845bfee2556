"""The `madoguchi` command: serve, migrate, seed-demo, token and administration commands."""

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer

from app.cli_reports import access_report
from app.domain.clock import SystemClock
from app.domain.errors import DomainError, InvalidInput
from app.domain.roles import Employer, Role
from app.jobs.cli import jobs_cli
from app.settings import Settings
from app.storage.db import create_engine, make_sessionmaker
from app.storage.migrations import upgrade

cli = typer.Typer(no_args_is_help=True, add_completion=False, help="Madoguchi 窓口 service")
token_cli = typer.Typer(no_args_is_help=True, help="API tokens")
admin_cli = typer.Typer(no_args_is_help=True, help="Municipalities, offices, counters, categories")
cli.add_typer(token_cli, name="token")
cli.add_typer(admin_cli, name="admin")
batches_cli = typer.Typer(no_args_is_help=True, help="Vendor batches: seal, list, recall")
cli.add_typer(batches_cli, name="batches")
audit_cli = typer.Typer(no_args_is_help=True, help="Tamper-evident event and access logs")
cli.add_typer(audit_cli, name="audit")
staff_cli = typer.Typer(no_args_is_help=True, help="Staff people who sign in to the consoles")
cli.add_typer(staff_cli, name="staff")
cli.add_typer(jobs_cli, name="jobs")
cli.command("access-report")(access_report)

T = TypeVar("T")


def _run(work: Callable[[Any], Awaitable[T]], settings: Settings | None = None) -> T:
    """Run one unit of work against the configured database and commit it."""
    from app.services.uow import UnitOfWork

    settings = settings or Settings()

    async def main() -> T:
        engine = create_engine(settings.database_url)
        try:
            async with make_sessionmaker(engine)() as session:
                uow = UnitOfWork(session, clock=SystemClock(), settings=settings)
                result = await work(uow)
                await uow.commit()
                return result
        finally:
            await engine.dispose()

    try:
        return asyncio.run(main())
    except DomainError as error:
        typer.echo(f"error: {error.message}", err=True)
        for item in getattr(error, "errors", []):
            typer.echo(f"  {item['field']}: {item['message']}", err=True)
        raise typer.Exit(2) from None


@cli.command()
def migrate() -> None:
    """Bring the database to the newest schema."""
    settings = Settings()
    upgrade(settings.database_url)
    typer.echo("database at head", err=True)


@cli.command("seed-demo")
def seed_demo(
    municipality: Annotated[str, typer.Option(help="全国地方公共団体コード")] = "431001",
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object")] = False,
) -> None:
    """Create a demo municipality with an office, counters, categories, a contract and tokens."""
    from app.services.demo import seed_demo as seed

    settings = Settings()
    upgrade(settings.database_url)
    result = _run(lambda uow: seed(uow, municipality), settings)
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    else:
        _print_demo(result, settings)


def _print_demo(result: dict[str, Any], settings: Settings) -> None:
    base = settings.public_base_url
    office = result["offices"][0]
    tokens = result["tokens"]
    lines = [
        f"デモ団体 / demo municipality: {result['municipality']}",
        f"API docs:        {base}/docs",
        f"Lobby display:   {base}/display/?office={office['id']}&token={tokens['display']}",
        f"Kiosk:           {base}/kiosk/?office={office['id']}&token={tokens['kiosk']}",
    ]
    lines += [
        f"Counter {c['label']}:       {base}/counter/?counter={c['id']}&token={tokens['counter']}"
        for c in office["counters"]
    ]
    lines.append(f"Console:         {base}/console/  (sign in as one of the staff below)")
    lines.append(f"Staff (municipality {result['municipality']}; passwords shown once):")
    lines += [f"  {key:16} {person['staff_id']:22} {person['password']}"
              for key, person in result.get("staff", {}).items()]
    lines.append("Tokens (shown once):")
    lines += [f"  {role:16} {secret}" for role, secret in tokens.items()]
    typer.echo("\n".join(lines))


@cli.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="Processes; PostgreSQL only for more than one")] = 1,
    demo: Annotated[bool, typer.Option("--demo", help="Seed the demo office and print its links")] = False,
) -> None:
    """Migrate, then serve the API, the websockets and the pages."""
    import os

    import uvicorn

    from app.logs import log_config
    from app.realtime.inbound import server_options

    settings = Settings()
    if settings.is_sqlite and workers > 1:
        typer.echo("error: SQLite serves one process; set MADOGUCHI_DATABASE_URL to PostgreSQL", err=True)
        raise typer.Exit(2)
    if "MADOGUCHI_PUBLIC_BASE_URL" not in os.environ:
        os.environ["MADOGUCHI_PUBLIC_BASE_URL"] = f"http://{host}:{port}"
        settings = Settings()
    upgrade(settings.database_url)
    if demo:
        from app.services.demo import seed_demo as seed

        _print_demo(_run(lambda uow: seed(uow, "431001"), settings), settings)
    uvicorn.run(
        "app.main:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # The lobby hub writes display frames straight to this protocol's transport
        # (app/realtime/direct.py); other implementations fall back to the slower ASGI send.
        # Frames over display.max_message_bytes are refused unread (1009).
        **server_options(settings.display.max_message_bytes),
        # uvicorn's httptools protocol with a deadline on the request head (slowloris).
        http="app.http_protocol:HttpProtocol",
        log_level="info",
        log_config=log_config("info"),
        proxy_headers=False,
    )


@token_cli.command("create")
def token_create(
    municipality: Annotated[str, typer.Option()],
    role: Annotated[Role | None, typer.Option(help="Required unless --staff gives it")] = None,
    name: Annotated[str | None, typer.Option(help="Required unless --staff gives it")] = None,
    office: Annotated[str | None, typer.Option()] = None,
    employer: Annotated[Employer | None, typer.Option()] = None,
    qualification: Annotated[list[str] | None, typer.Option(help="Procedure code; repeatable")] = None,
    contract: Annotated[
        str | None, typer.Option(help="Vendor contract id (vendor-side tokens only)")
    ] = None,
    staff: Annotated[str | None, typer.Option(help="Staff number of the person this token belongs to")] = None,
) -> None:
    """Create a token and print it, alone, on stdout (it is not shown again)."""
    from app.services import people
    from app.services.admin import create_token
    from app.services.batches import bind_token

    async def work(uow: Any) -> Any:
        person = await people.get_staff(uow, municipality, staff) if staff is not None else None
        token_role = role or (Role(person.role) if person else None)
        token_name = name or (person.name if person else None)
        if token_role is None or token_name is None:
            raise InvalidInput.field("role", "required", "--role と --name が必要です (--role and --name, or --staff)")
        issued = await create_token(
            uow, municipality, role=token_role, name=token_name, office_id=office,
            employer=employer or (Employer(person.employer) if person else None),
            qualifications=qualification or None,
        )
        if contract is not None:
            await bind_token(uow, issued.token, contract)
        if staff is not None:
            await people.link_token(uow, issued.token, municipality, staff)
        return issued

    sys.stdout.write(_run(work).secret + "\n")


@token_cli.command("revoke")
def token_revoke(
    municipality: Annotated[str, typer.Option()], token_id: Annotated[str, typer.Argument()]
) -> None:
    """Revoke a token by its id."""
    from app.services.admin import revoke_token

    _run(lambda uow: revoke_token(uow, municipality, token_id))
    typer.echo("revoked", err=True)


def _read_password(prompt: bool) -> str:
    """The password from standard input (one line), never from the command line."""
    if prompt and sys.stdin.isatty():
        import getpass

        first = getpass.getpass("パスワード / password: ")
        if getpass.getpass("もう一度 / again: ") != first:
            typer.echo("error: the passwords differ", err=True)
            raise typer.Exit(2)
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


@staff_cli.command("create")
def staff_create(
    municipality: Annotated[str, typer.Option()],
    staff_id: Annotated[str, typer.Option(help="The city's or vendor's staff number")],
    name: Annotated[str, typer.Option()],
    role: Annotated[Role, typer.Option()],
    employer: Annotated[Employer, typer.Option()],
    office: Annotated[str | None, typer.Option()] = None,
    contract: Annotated[str | None, typer.Option(help="Vendor contract id (vendor staff)")] = None,
    qualification: Annotated[list[str] | None, typer.Option(help="Procedure code; repeatable")] = None,
    sso_subject: Annotated[str | None, typer.Option(help="The user the city's SSO proxy names")] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
    no_password: Annotated[bool, typer.Option("--no-password", help="SSO sign-in only")] = False,
) -> None:
    """Register a person who signs in to the consoles; the password is read from stdin (or asked)."""
    from app.services import people

    password = None if no_password else _read_password(not password_stdin)
    person = _run(lambda uow: people.create_staff(
        uow, municipality, staff_id=staff_id, name=name, role=role, employer=employer, office_id=office,
        contract_id=contract, password=password, sso_subject=sso_subject, qualifications=qualification or None,
    ))
    typer.echo(person.id)


@staff_cli.command("passwd")
def staff_passwd(
    municipality: Annotated[str, typer.Option()],
    staff_id: Annotated[str, typer.Option()],
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from stdin")] = False,
) -> None:
    """Set a person's password (read from stdin or asked); their sessions end."""
    from app.services import people

    password = _read_password(not password_stdin)
    _run(lambda uow: people.set_password(uow, municipality, staff_id, password))
    typer.echo("password set", err=True)


@staff_cli.command("deactivate")
def staff_deactivate(
    municipality: Annotated[str, typer.Option()],
    staff_id: Annotated[str, typer.Option()],
) -> None:
    """The person can no longer sign in; sessions end, their tokens stop working."""
    from app.services import people

    _run(lambda uow: people.deactivate(uow, municipality, staff_id))
    typer.echo("deactivated", err=True)


@admin_cli.command("municipality")
def admin_municipality(
    code: Annotated[str, typer.Option()],
    name_ja: Annotated[str, typer.Option()],
    name_en: Annotated[str, typer.Option()],
) -> None:
    """Register a municipality (the code's check digit is verified)."""
    from app.services.admin import create_municipality

    _run(lambda uow: create_municipality(uow, code=code, name_ja=name_ja, name_en=name_en))
    typer.echo(code)


@admin_cli.command("office")
def admin_office(
    municipality: Annotated[str, typer.Option()],
    name_ja: Annotated[str, typer.Option()],
    name_en: Annotated[str, typer.Option()],
) -> None:
    """Create an office; prints its id."""
    from app.services.admin import create_office

    office = _run(lambda uow: create_office(uow, municipality, name_ja=name_ja, name_en=name_en))
    typer.echo(office.id)


@admin_cli.command("category")
def admin_category(
    municipality: Annotated[str, typer.Option()],
    office: Annotated[str, typer.Option()],
    prefix: Annotated[str, typer.Option()],
    name_ja: Annotated[str, typer.Option()],
    name_en: Annotated[str, typer.Option()],
) -> None:
    """Create a ticket category; prints its id."""
    from app.services import admin

    async def work(uow: Any) -> Any:
        found = await admin.get_office(uow, municipality, office)
        return await admin.create_category(uow, found, prefix=prefix, name_ja=name_ja, name_en=name_en)

    typer.echo(_run(work).id)


@admin_cli.command("counter")
def admin_counter(
    municipality: Annotated[str, typer.Option()],
    office: Annotated[str, typer.Option()],
    label: Annotated[str, typer.Option()],
    category: Annotated[list[str], typer.Option(help="Category id; repeatable")],
) -> None:
    """Create a counter serving the given categories; prints its id."""
    from app.services import admin

    async def work(uow: Any) -> Any:
        found = await admin.get_office(uow, municipality, office)
        return await admin.create_counter(
            uow, found, label=label, name_ja=f"{label}番窓口", name_en=f"Counter {label}",
            category_ids=category,
        )

    typer.echo(_run(work).id)


@cli.command()
def intake(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="NDJSON: one application per line")],
    url: Annotated[str, typer.Option(envvar="MADOGUCHI_URL", help="The service")] = "http://127.0.0.1:8000",
    token: Annotated[str, typer.Option(envvar="MADOGUCHI_TOKEN", help="An intake token")] = "",
    chunk_lines: Annotated[int, typer.Option(help="Lines per request")] = 2000,
    report: Annotated[Path | None, typer.Option(help="Write every result line here")] = None,
) -> None:
    """Send a mail-room or OCR file of applications, with a progress bar; bad lines are listed.

    The file goes in chunks, each a bulk request; a resend of the same file stores nothing twice
    (lines carry their external_ref), so an interrupted run is simply run again.
    """
    from app.intake_client import send_file

    if not token:
        typer.echo("error: give --token or MADOGUCHI_TOKEN (an intake token)", err=True)
        raise typer.Exit(2)
    totals = send_file(file, url=url, token=token, chunk_lines=chunk_lines, report=report)
    typer.echo(
        f"受付 created {totals['created']} · 重複 duplicate {totals['duplicate']} · "
        f"参照番号の競合 conflict {totals['conflict']} · 不備 rejected {totals['rejected']} · "
        f"未保存 failed {totals['failed']}",
        err=True,
    )
    raise typer.Exit(1 if totals["rejected"] or totals["conflict"] or totals["failed"] else 0)


@cli.command()
def backup(
    destination: Annotated[Path, typer.Argument(help="File to write the copy to")],
) -> None:
    """A consistent copy of the SQLite database, taken while the service runs.

    Uses SQLite's online backup, which copies a single consistent snapshot even while other
    connections write. For PostgreSQL use pg_dump or base backups (README, Backups).
    """
    import sqlite3

    from sqlalchemy.engine import make_url

    settings = Settings()
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite" or not url.database:
        typer.echo("error: backup copies SQLite databases; for PostgreSQL use pg_dump (see README)", err=True)
        raise typer.Exit(2)
    if destination.exists():
        typer.echo(f"error: {destination} exists; choose a new file", err=True)
        raise typer.Exit(2)
    source = sqlite3.connect(url.database, timeout=30)
    target = sqlite3.connect(destination)
    try:
        with target:
            source.backup(target, pages=1024)
        check = target.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        target.close()
        source.close()
    if check != "ok":
        typer.echo(f"error: the copy failed its integrity check: {check}", err=True)
        raise typer.Exit(1)
    typer.echo(str(destination))


@admin_cli.command("vendor-contract")
def admin_vendor_contract(
    municipality: Annotated[str, typer.Option()],
    vendor_name: Annotated[str, typer.Option()],
    procedure: Annotated[list[str], typer.Option(help="Procedure code; repeatable")],
    field: Annotated[list[str], typer.Option(help="Allowed field, e.g. claimant_name or children[].name; repeatable")],
    encoding: Annotated[list[str] | None, typer.Option(help="utf-8, utf-8-sig or cp932; repeatable")] = None,
    include_my_number: Annotated[bool, typer.Option(help="Only under a 個人番号利用事務 contract")] = False,
    legal_basis: Annotated[str | None, typer.Option()] = None,
    batch_size: Annotated[int, typer.Option()] = 500,
    seal_every_s: Annotated[int, typer.Option()] = 3600,
    lease_s: Annotated[int, typer.Option()] = 1800,
) -> None:
    """Create a vendor contract (entry work of the given procedures); prints its id."""
    from app.services.batches import create_contract

    contract = _run(lambda uow: create_contract(
        uow, municipality, vendor_name=vendor_name, procedures=procedure, steps=["entry"],
        field_allow_list=field, include_my_number=include_my_number, legal_basis=legal_basis,
        encodings=encoding or ["utf-8"], batch_size=batch_size, seal_every_s=seal_every_s, lease_s=lease_s,
    ))
    typer.echo(contract.id)


@batches_cli.command("seal")
def batches_seal(
    contract: Annotated[str | None, typer.Option(help="One contract; default: every active contract")] = None,
    municipality: Annotated[str | None, typer.Option(help="Only this municipality's contracts")] = None,
) -> None:
    """Seal vendor batches now (the schedule does the same); prints one JSON line per contract."""
    from app.domain.errors import NotFound
    from app.services import batches

    async def work(uow: Any) -> list[dict[str, Any]]:
        contracts = [c for c in await batches.list_contracts(uow, municipality)
                     if (contract is None and c.is_active) or c.id == contract]
        if contract is not None and not contracts:
            raise NotFound("委託契約が見つかりません (no such vendor contract)", contract_id=contract)
        reports = [await batches.seal(uow, c) for c in contracts]
        return [{"contract": r.contract_id,
                 "batches": [{"id": b.id, "procedure": b.procedure, "items": b.item_count} for b in r.batches],
                 "held_back": r.held_back} for r in reports]

    for line in _run(work):
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")


@batches_cli.command("list")
def batches_list(
    municipality: Annotated[str, typer.Option()],
    contract: Annotated[str | None, typer.Option()] = None,
    state: Annotated[str | None, typer.Option(help="ready, leased, acknowledged or recalled")] = None,
) -> None:
    """List vendor batches, oldest first, one JSON line each."""
    from app.domain.batches import BatchState
    from app.services import batches

    async def work(uow: Any) -> list[dict[str, Any]]:
        states = [BatchState(state)] if state else None
        rows = await batches.list_batches(uow, municipality, contract_id=contract, states=states, after=None,
                                          limit=10_000)
        return [{"id": b.id, "contract": b.contract_id, "procedure": b.procedure, "state": batches.state_of(b, uow.now()),
                 "items": b.item_count, "results": b.results_count, "sealed_at": b.sealed_at.isoformat()}
                for b in rows]

    for line in _run(work):
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")


@batches_cli.command("recall")
def batches_recall(
    municipality: Annotated[str, typer.Option()], batch: Annotated[str, typer.Argument()]
) -> None:
    """Take a batch back from the vendor: its unanswered items return to the internal queue."""
    from app.domain.roles import Principal
    from app.services import batches

    system = Principal(token_id="cli", municipality_code=municipality, role=Role.ADMIN, name="madoguchi CLI")
    recalled = _run(lambda uow: batches.recall(uow, system, batch))
    typer.echo(f"recalled {recalled.id}: {recalled.returned_count} items back in the queue", err=True)


@cli.command("retention")
def retention_purge(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only list what would be purged")] = False,
    municipality: Annotated[str | None, typer.Option(help="Only this municipality's applications")] = None,
) -> None:
    """Purge the personal data of finished applications whose retention period has ended.

    Prints one JSON line per application (id, procedure, expiry date, kinds of data) and a
    summary; with --dry-run nothing changes.
    """
    from app.domain.errors import NotFound
    from app.services import retention
    from app.storage.tables import Municipality

    settings = Settings()

    async def work(uow: Any) -> retention.PurgeReport:
        if municipality is not None and await uow.session.get(Municipality, municipality) is None:
            raise NotFound("団体が見つかりません (no such municipality)", municipality=municipality)
        return await retention.purge(uow, settings.retention.periods(), municipality_code=municipality,
                                     dry_run=dry_run)

    report = _run(work, settings)
    for item in report.applications:
        sys.stdout.write(json.dumps(item.as_json(), ensure_ascii=False) + "\n")
    count = len(report.applications)
    if dry_run:
        typer.echo(f"削除予定 {count} 件 (would purge {count} application(s)); nothing changed", err=True)
    else:
        typer.echo(f"削除 {count} 件 (purged {count} application(s)); files deleted "
                   f"{report.files_deleted}, kept {report.files_kept} (still listed elsewhere)", err=True)


class AuditLog(str, Enum):
    EVENT = "event"
    ACCESS = "access"
    ALL = "all"


def _audit_logs(choice: AuditLog) -> list[Any]:
    from app.domain.audit import LogName

    return list(LogName) if choice is AuditLog.ALL else [LogName(choice.value)]


async def _with_sessionmaker(work: Callable[[Any], Awaitable[T]]) -> T:
    engine = create_engine(Settings().database_url)
    try:
        return await work(make_sessionmaker(engine))
    finally:
        await engine.dispose()


def _seal_lines(sealed: dict[Any, int]) -> list[str]:
    return [f"{log} {code}: sealed {count} (封印 {count} 件)" for (log, code), count in sealed.items()]


@audit_cli.command("seal")
def audit_seal(
    municipality: Annotated[str | None, typer.Option(help="Only this municipality's chains")] = None,
    log: Annotated[AuditLog, typer.Option(help="Which log")] = AuditLog.ALL,
) -> None:
    """Chain every log row committed so far (the server does this every second)."""
    from app.services import audit

    settings = Settings()
    settings.check_production()
    sealed = asyncio.run(_with_sessionmaker(lambda maker: audit.seal(
        maker, SystemClock(), logs=_audit_logs(log), municipality_code=municipality,
        batch_rows=settings.audit.batch_rows, keys=settings.audit.keys,
    )))
    for line in _seal_lines(sealed):
        typer.echo(line)


@audit_cli.command("verify")
def audit_verify(
    municipality: Annotated[str | None, typer.Option(help="Only this municipality's chains")] = None,
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
            typer.echo(f"error: 団体が見つかりません (no such municipality): {municipality}", err=True)
            return 2
        if seal_first:
            sealed = await audit.seal(maker, SystemClock(), logs=logs, municipality_code=municipality,
                                      batch_rows=settings.audit.batch_rows, keys=settings.audit.keys)
            for line in _seal_lines(sealed):
                typer.echo(line, err=True)
        broken = 0
        async for report in audit.verify(maker, logs=logs, municipality_code=municipality,
                                         chunk_rows=settings.audit.batch_rows, keys=settings.audit.keys):
            broken += not report.ok
            typer.echo(json.dumps(_report_json(report), ensure_ascii=False) if as_json
                       else _report_line(report))
        typer.echo(f"改ざんの疑い {broken} chain(s) broken" if broken else "改ざんなし all chains intact",
                   err=True)
        return 1 if broken else 0

    raise typer.Exit(asyncio.run(_with_sessionmaker(work)))


def _report_line(report: Any) -> str:
    where = f"{report.log} {report.municipality_code}:"
    unsealed = f"{report.unsealed} not yet sealed (未封印 {report.unsealed} 件)"
    if report.broken is None:
        from app.domain.audit import GENESIS_HASH

        head = report.head.last_hash if report.head else GENESIS_HASH
        if report.rejected:
            ids = ", ".join(str(i) for i in report.rejected_ids)
            more = ", …" if report.rejected > len(report.rejected_ids) else ""
            return (f"{where} REFUSED {report.rejected} row(s) without a valid MAC, not chained "
                    f"(鍵の署名がない記録 {report.rejected} 件): row ids {ids}{more}; "
                    f"chain OK {report.entries} entries, head {head}; {unsealed}")
        return f"{where} OK {report.entries} entries, head {head}; {unsealed}"
    b = report.broken
    row = b.row_id if b.row_id is not None else "-"
    return (f"{where} BROKEN at chain_seq {b.chain_seq}, row id {row}: {b.title_en} ({b.title_ja}); "
            f"{b.detail}; {unsealed}")


def _report_json(report: Any) -> dict[str, Any]:
    b = report.broken
    return {
        "log": str(report.log), "municipality": report.municipality_code,
        "status": "broken" if b is not None else ("refused" if report.rejected else "ok"),
        "entries": report.entries,
        "head_seq": report.head.last_seq if report.head else 0,
        "head_hash": report.head.last_hash if report.head else None,
        "unsealed": report.unsealed,
        "refused": report.rejected, "refused_row_ids": list(report.rejected_ids),
        "unkeyed": report.unkeyed,
        "break": None if b is None else {
            "kind": str(b.kind), "chain_seq": b.chain_seq, "row_id": b.row_id,
            "title_ja": b.title_ja, "title_en": b.title_en, "detail": b.detail,
        },
    }


def main() -> None:
    cli()
