"""`madoguchi whatif`: the staffing what-if of a seasonal profile, pooled vs separate desks."""

from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

import typer

from app.domain.clock import TOKYO


def whatif(
    profile: Annotated[
        Path | None,
        typer.Option(help="Seasonal profile (JSON); the shipped city of 700,000 without it"),
    ] = None,
    target: Annotated[
        float, typer.Option(min=0.5, max=1.0, help="Share to finish within the due date")
    ] = 0.99,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed, the same figures")] = 1,
    population: Annotated[
        int | None, typer.Option(min=1_000, help="Scale the profile to this population")
    ] = None,
    vendor_share: Annotated[
        float, typer.Option(min=0.0, max=1.0, help="Share of the operators a vendor employs")
    ] = 0.0,
    plots: Annotated[Path | None, typer.Option(help="Folder for depth.png and staff.png")] = None,
    plan: Annotated[
        Path | None,
        typer.Option(
            help="Staffing plan (JSON: default and ISO weeks) to evaluate on one pooled desk "
            "instead of searching the smallest"
        ),
    ] = None,
    fit_from: Annotated[
        str | None,
        typer.Option(
            help="全国地方公共団体コード: take service minutes from this municipality's event log"
        ),
    ] = None,
    since: Annotated[
        str | None,
        typer.Option(help="With --fit-from or --from-log: the log from this ISO date on"),
    ] = None,
    from_log: Annotated[
        bool,
        typer.Option(
            "--from-log",
            help="Fit volumes, counter share and service times from --municipality's event log "
            "(the last year by default)",
        ),
    ] = False,
    municipality: Annotated[
        str | None, typer.Option(help="全国地方公共団体コード (with --from-log)")
    ] = None,
    least: Annotated[
        int, typer.Option(min=2, help="With --from-log: fewest samples to fit rather than default")
    ] = 30,
) -> None:
    """The smallest staff per month that finishes TARGET of applications within their legal
    due dates, for one pooled desk and for one desk per procedure family, side by side."""
    from app.simulation.profile import load_plan, load_profile
    from app.simulation.report import desk_table, details, table
    from app.simulation.whatif import compare

    try:
        loaded = load_profile(profile)
    except (OSError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--profile") from None
    if population is not None:
        loaded = loaded.scaled(population)
    if fit_from is not None:
        loaded = loaded.with_minutes(_fitted(fit_from, since))
    if from_log:
        if municipality is None:
            raise typer.BadParameter("--from-log needs it", param_hint="--municipality")
        loaded = _from_log(loaded, municipality, _since(since), least)
    if plan is not None:
        from app.simulation.model import Days, arrivals
        from app.simulation.whatif import evaluate

        try:
            staffing = load_plan(plan)
        except (OSError, ValueError) as error:
            raise typer.BadParameter(str(error), param_hint="--plan") from None
        days = Days(loaded.year)
        desk = evaluate(loaded, days, arrivals(loaded, days, seed), staffing)
        typer.echo(f"{loaded.name}: 人口 {loaded.population:,}, seed {seed}, 計画 (plan) {plan}\n")
        typer.echo(desk_table(desk))
        typer.echo(f"\n年間 期限内 (within due dates over the year): {desk.share:.1%}")
        return
    result = compare(loaded, target=target, seed=seed, vendor_share=vendor_share)
    typer.echo(
        f"{loaded.name}: 人口 {loaded.population:,} (population), {loaded.year}年, "
        f"目標 {target:.1%} 期限内 (target within due dates), seed {seed}\n"
    )
    typer.echo(table(result))
    typer.echo("\n集約の内訳 (pooled desk, per month)\n")
    typer.echo(details(result))
    if plots is not None:
        from app.simulation.plots import write_plots

        for path in write_plots(result, plots):
            typer.echo(f"wrote {path}")


def _fitted(municipality: str, since: str | None) -> dict[str, dict[Any, float]]:
    """Median minutes per procedure and step from the database's event log, printed."""
    from app.cli.base import run as _run
    from app.services.whatif import fitted_minutes

    start = _since(since) or datetime.now(TOKYO) - timedelta(days=365)

    async def work(uow: Any) -> dict[str, dict[Any, float]]:
        return await fitted_minutes(uow, municipality, start)

    fitted = _run(work)
    for procedure, minutes in fitted.items():
        steps = ", ".join(f"{kind} {value:g}" for kind, value in minutes.items())
        typer.echo(f"事象ログからの処理時間 (fitted minutes) {procedure}: {steps}")
    if not fitted:
        typer.echo(
            "事象ログに十分な記録がありません (too few tasks in the event log): defaults kept"
        )
    return fitted


def _since(since: str | None) -> datetime | None:
    try:
        return datetime.fromisoformat(since).replace(tzinfo=TOKYO) if since else None
    except ValueError:
        raise typer.BadParameter(f"not an ISO date: {since}", param_hint="--since") from None


def _from_log(base: Any, municipality: str, since: datetime | None, least: int) -> Any:
    """The profile fitted from the municipality's event log; what was fitted, printed."""
    from app.cli.base import run as _run
    from app.services.whatif import log_fit
    from app.simulation.fitting import fit_table

    async def work(uow: Any) -> Any:
        return await log_fit(uow, municipality, base, since=since, least=least)

    fit = _run(work)
    typer.echo(fit_table(fit) + "\n")
    return fit.profile
