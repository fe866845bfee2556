"""Operating the service: migrate, seed the demo, serve, send an intake file, back up SQLite,
purge what is past its retention."""

import json
import sys
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import typer

from app.cli.base import cli, run
from app.settings import Settings
from app.storage.migrations import upgrade


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
    """Create (or find) a demo municipality: an office with counters and categories, a vendor
    contract, staff of every role, sample applications and waiting tickets. Running it again
    creates nothing new and prints the same links, tokens and passwords."""
    settings = Settings()
    _refuse_demo_in_production(settings)
    upgrade(settings.database_url)
    result = _seed(settings, municipality)
    if as_json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
    else:
        _print_demo(result, settings)


def _refuse_demo_in_production(settings: Settings) -> None:
    if settings.environment == "production":
        typer.echo(
            "error: 本番環境ではデモを作成できません (cannot seed a demo in production: "
            "MADOGUCHI_ENVIRONMENT=production)",
            err=True,
        )
        raise typer.Exit(2)


def _seed(settings: Settings, municipality: str) -> dict[str, Any]:
    from app.services.demo import seed_demo as seed

    return run(lambda uow: seed(uow, municipality, samples=True), settings)


CONSOLE_ROLES = {
    "operator": "入力・照合 (city operator)",
    "operator_2": "入力・照合 (city operator)",
    "operator_vendor": "入力 (vendor operator)",
    "operator_vendor_2": "入力 (vendor operator)",
    "reviewer": "審査 (reviewer)",
    "supervisor": "監督 (supervisor)",
    "vendor_manager": "委託先管理責任者 (vendor manager)",
}


def _print_demo(result: dict[str, Any], settings: Settings) -> None:
    base = settings.public_base_url
    code = result["municipality"]
    office = result["offices"][0]
    tokens = result["tokens"]
    lines = [
        f"デモ団体 / demo municipality: {code}",
        f"API docs:        {base}/docs",
        f"Lobby display:   {base}/display/?office={office['id']}&token={tokens['display']}",
        f"Kiosk:           {base}/kiosk/?office={office['id']}&token={tokens['kiosk']}",
        f"Booking (来庁予約): {base}/book/?office={office['id']}",
    ]
    lines += [
        f"Counter {c['label']}:       {base}/counter/?counter={c['id']}&token={tokens['counter']}"
        for c in office["counters"]
    ]
    for ticket in result.get("tickets", [])[:1]:
        query = urlencode({"office": office["id"], "ticket": ticket["id"], "key": ticket["key"]})
        lines.append(f"Ticket {ticket['number']} status: {base}/status/?{query}")
    lines.append(f"Console:         {base}/console/  (団体コード municipality {code})")
    lines.append("  sign in as (staff number, password):")
    lines += [
        f"  {person['staff_id']:24} {person['password']:24} {CONSOLE_ROLES.get(key, key)}"
        for key, person in result.get("staff", {}).items()
    ]
    reservation = result.get("move_in_reservation")
    if reservation:
        lines.append(
            f"転入予約 / move-in reservation (kiosk, 転入予約の方): {reservation['number']}"
            f"  (last valid day {reservation['last_valid_day']})"
        )
    applications = result.get("applications", [])
    if applications:
        lines.append(f"Sample applications: {len(applications)} (demo-001 … in the work queue)")
    lines.append(
        "Vendor CLI (the demo contract's batches; a supervisor seals them in the console):"
    )
    lines.append(f"  madoguchi-vendor --url {base} --token {tokens['vendor']} list")
    lines.append("Tokens (demo only; the same on every run):")
    lines += [f"  {role:16} {secret}" for role, secret in tokens.items()]
    typer.echo("\n".join(lines))


@cli.command()
def serve(
    host: Annotated[str, typer.Option()] = "127.0.0.1",
    port: Annotated[int, typer.Option()] = 8000,
    workers: Annotated[int, typer.Option(help="Processes; PostgreSQL only for more than one")] = 1,
    demo: Annotated[
        bool, typer.Option("--demo", help="Seed the demo office and print its links")
    ] = False,
) -> None:
    """Migrate, then serve the API, the websockets and the pages."""
    import os

    import uvicorn

    from app.logs import log_config
    from app.realtime.inbound import server_options

    settings = Settings()
    if settings.is_sqlite and workers > 1:
        typer.echo(
            "error: SQLite serves one process; set MADOGUCHI_DATABASE_URL to PostgreSQL", err=True
        )
        raise typer.Exit(2)
    if "MADOGUCHI_PUBLIC_BASE_URL" not in os.environ:
        os.environ["MADOGUCHI_PUBLIC_BASE_URL"] = f"http://{host}:{port}"
        settings = Settings()
    if demo:
        _refuse_demo_in_production(settings)
    upgrade(settings.database_url)
    if demo:
        _print_demo(_seed(settings, "431001"), settings)
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


@cli.command()
def intake(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="NDJSON: one application per line")
    ],
    url: Annotated[
        str, typer.Option(envvar="MADOGUCHI_URL", help="The service")
    ] = "http://127.0.0.1:8000",
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

    from app.storage.engines import sqlite_file

    settings = Settings()
    database = sqlite_file(settings.database_url)
    if database is None:
        typer.echo(
            "error: backup copies SQLite databases; for PostgreSQL use pg_dump (see README)",
            err=True,
        )
        raise typer.Exit(2)
    if destination.exists():
        typer.echo(f"error: {destination} exists; choose a new file", err=True)
        raise typer.Exit(2)
    source = sqlite3.connect(database, timeout=30)
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


@cli.command("retention")
def retention_purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only list what would be purged")
    ] = False,
    municipality: Annotated[
        str | None, typer.Option(help="Only this municipality's applications")
    ] = None,
) -> None:
    """Purge the personal data of finished applications whose retention period has ended.

    Prints one JSON line per application (id, procedure, expiry date, kinds of data) and a
    summary; with --dry-run nothing changes.
    """
    from app.domain.errors import NotFound
    from app.services import retention
    from app.services.directory import municipality_exists

    settings = Settings()

    async def work(uow: Any) -> retention.PurgeReport:
        if municipality is not None and not await municipality_exists(uow, municipality):
            raise NotFound("団体が見つかりません (no such municipality)", municipality=municipality)
        return await retention.purge(
            uow, settings.retention.periods(), municipality_code=municipality, dry_run=dry_run
        )

    report = run(work, settings)
    for item in report.applications:
        sys.stdout.write(json.dumps(item.as_json(), ensure_ascii=False) + "\n")
    count = len(report.applications)
    if dry_run:
        typer.echo(
            f"削除予定 {count} 件 (would purge {count} application(s)); nothing changed", err=True
        )
    else:
        typer.echo(
            f"削除 {count} 件 (purged {count} application(s)); files deleted "
            f"{report.files_deleted}, kept {report.files_kept} (still listed elsewhere)",
            err=True,
        )
