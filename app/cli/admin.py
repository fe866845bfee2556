"""A municipality's configuration: municipality, offices, categories, counters, vendor contracts."""

from typing import Annotated, Any

import typer

from app.cli.base import admin_cli, run


@admin_cli.command("municipality")
def admin_municipality(
    code: Annotated[str, typer.Option()],
    name_ja: Annotated[str, typer.Option()],
    name_en: Annotated[str, typer.Option()],
) -> None:
    """Register a municipality (the code's check digit is verified)."""
    from app.services.admin import create_municipality

    run(lambda uow: create_municipality(uow, code=code, name_ja=name_ja, name_en=name_en))
    typer.echo(code)


@admin_cli.command("office")
def admin_office(
    municipality: Annotated[str, typer.Option()],
    name_ja: Annotated[str, typer.Option()],
    name_en: Annotated[str, typer.Option()],
) -> None:
    """Create an office; prints its id."""
    from app.services.admin import create_office

    office = run(lambda uow: create_office(uow, municipality, name_ja=name_ja, name_en=name_en))
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
        return await admin.create_category(
            uow, found, prefix=prefix, name_ja=name_ja, name_en=name_en
        )

    typer.echo(run(work).id)


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
            uow,
            found,
            label=label,
            name_ja=f"{label}番窓口",
            name_en=f"Counter {label}",
            category_ids=category,
        )

    typer.echo(run(work).id)


@admin_cli.command("vendor-contract")
def admin_vendor_contract(
    municipality: Annotated[str, typer.Option()],
    vendor_name: Annotated[str, typer.Option()],
    procedure: Annotated[list[str], typer.Option(help="Procedure code; repeatable")],
    field: Annotated[
        list[str],
        typer.Option(help="Allowed field, e.g. claimant_name or children[].name; repeatable"),
    ],
    encoding: Annotated[
        list[str] | None, typer.Option(help="utf-8, utf-8-sig or cp932; repeatable")
    ] = None,
    include_my_number: Annotated[
        bool, typer.Option(help="Only under a 個人番号利用事務 contract")
    ] = False,
    legal_basis: Annotated[str | None, typer.Option()] = None,
    batch_size: Annotated[int, typer.Option()] = 500,
    seal_every_s: Annotated[int, typer.Option()] = 3600,
    lease_s: Annotated[int, typer.Option()] = 1800,
) -> None:
    """Create a vendor contract (entry work of the given procedures); prints its id."""
    from app.services.batches import create_contract

    contract = run(
        lambda uow: create_contract(
            uow,
            municipality,
            vendor_name=vendor_name,
            procedures=procedure,
            steps=["entry"],
            field_allow_list=field,
            include_my_number=include_my_number,
            legal_basis=legal_basis,
            encodings=encoding or ["utf-8"],
            batch_size=batch_size,
            seal_every_s=seal_every_s,
            lease_s=lease_s,
        )
    )
    typer.echo(contract.id)
