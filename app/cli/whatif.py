"""`madoguchi whatif`: the staffing what-if of a seasonal profile, pooled vs separate desks."""

from pathlib import Path
from typing import Annotated

import typer


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
) -> None:
    """The smallest staff per month that finishes TARGET of applications within their legal
    due dates, for one pooled desk and for one desk per procedure family, side by side."""
    from app.simulation.profile import load_profile
    from app.simulation.report import details, table
    from app.simulation.whatif import compare

    try:
        loaded = load_profile(profile)
    except (OSError, ValueError) as error:
        raise typer.BadParameter(str(error), param_hint="--profile") from None
    if population is not None:
        loaded = loaded.scaled(population)
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
