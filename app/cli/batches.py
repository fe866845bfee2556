"""Vendor batches: seal now, list, recall."""

import json
import sys
from typing import Annotated, Any

import typer

from app.cli.base import batches_cli, run
from app.domain.roles import Role


@batches_cli.command("seal")
def batches_seal(
    contract: Annotated[
        str | None, typer.Option(help="One contract; default: every active contract")
    ] = None,
    municipality: Annotated[
        str | None, typer.Option(help="Only this municipality's contracts")
    ] = None,
) -> None:
    """Seal vendor batches now (the schedule does the same); prints one JSON line per contract."""
    from app.domain.errors import NotFound
    from app.services import batches

    async def work(uow: Any) -> list[dict[str, Any]]:
        contracts = [
            c
            for c in await batches.list_contracts(uow, municipality)
            if (contract is None and c.is_active) or c.id == contract
        ]
        if contract is not None and not contracts:
            raise NotFound(
                "委託契約が見つかりません (no such vendor contract)", contract_id=contract
            )
        reports = [await batches.seal(uow, c) for c in contracts]
        return [
            {
                "contract": r.contract_id,
                "batches": [
                    {"id": b.id, "procedure": b.procedure, "items": b.item_count} for b in r.batches
                ],
                "held_back": r.held_back,
            }
            for r in reports
        ]

    for line in run(work):
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")


@batches_cli.command("list")
def batches_list(
    municipality: Annotated[str, typer.Option()],
    contract: Annotated[str | None, typer.Option()] = None,
    state: Annotated[
        str | None, typer.Option(help="ready, leased, acknowledged or recalled")
    ] = None,
) -> None:
    """List vendor batches, oldest first, one JSON line each."""
    from app.domain.batches import BatchState
    from app.services import batches

    async def work(uow: Any) -> list[dict[str, Any]]:
        states = [BatchState(state)] if state else None
        rows = await batches.list_batches(
            uow, municipality, contract_id=contract, states=states, after=None, limit=10_000
        )
        return [
            {
                "id": b.id,
                "contract": b.contract_id,
                "procedure": b.procedure,
                "state": batches.state_of(b, uow.now()),
                "items": b.item_count,
                "results": b.results_count,
                "sealed_at": b.sealed_at.isoformat(),
            }
            for b in rows
        ]

    for line in run(work):
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")


@batches_cli.command("recall")
def batches_recall(
    municipality: Annotated[str, typer.Option()], batch: Annotated[str, typer.Argument()]
) -> None:
    """Take a batch back from the vendor: its unanswered items return to the internal queue."""
    from app.domain.roles import Principal
    from app.services import batches

    system = Principal(
        token_id="cli", municipality_code=municipality, role=Role.ADMIN, name="madoguchi CLI"
    )
    recalled = run(lambda uow: batches.recall(uow, system, batch))
    typer.echo(
        f"recalled {recalled.id}: {recalled.returned_count} items back in the queue", err=True
    )
