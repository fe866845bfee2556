"""The staffing what-if for supervisors: pooled vs separate desks, month by month (issue 23)."""

from typing import Annotated, Literal

from fastapi import APIRouter, Body
from pydantic import BaseModel, Field

from app.api.deps import Caller, UowDep
from app.domain.roles import Role
from app.services import whatif_console

router = APIRouter(tags=["statistics"])
Supervisor = Caller(Role.SUPERVISOR)


class WhatIfRequest(BaseModel):
    target: float = Field(
        0.99, gt=0, le=1, description="Share of applications to decide within their due date"
    )
    seed: int = Field(
        1, ge=0, le=whatif_console.MAX_SEED, description="The same seed, the same figures"
    )
    source: Literal["log", "profile"] = Field(
        "profile",
        description="`profile`: the default seasonal profile scaled to `population`; `log`: "
        "volumes, counter share and service times fitted from this municipality's event log "
        "(the last year), the profile where the log has too few samples",
    )
    population: int | None = Field(
        None, ge=1_000, le=10_000_000, description="The city's population (default 700,000)"
    )


class MonthRow(BaseModel):
    month: int
    received: int
    pooled_operators: int
    pooled_reviewers: int
    pooled_within_due: float
    separate_operators: int
    separate_reviewers: int
    separate_within_due: float
    people_saved: int


class FitRow(BaseModel):
    procedure: str
    item: str = Field(description="`volume` or a step: entry, verify, settle, review")
    source: Literal["fitted", "default"]
    samples: int
    value: float = Field(description="Applications a year (volume) or mean minutes (step)")
    spread: float | None = Field(description="Counter share (volume) or cv (step)")


class WhatIfResult(BaseModel):
    input_key: str = Field(description="SHA-256 of the input: the same key, the same figures")
    cached: bool
    seed: int
    target: float
    source: str
    population: int
    profile: str
    year: int
    cases: int
    pooled_within_due: float
    seconds: float = Field(description="How long the run took")
    months: list[MonthRow]
    fit: list[FitRow]
    plots: dict[str, str] = Field(description="`depth` and `staff`: PNG, base64")


@router.post(
    "/whatif",
    response_model=WhatIfResult,
    summary="人員試算: the smallest staff per month to decide a target share within due dates, "
    "one pooled desk beside one desk per procedure family, with plots",
    responses={429: {}, 503: {}},
)
async def whatif(
    uow: UowDep,
    principal: Supervisor,
    body: Annotated[WhatIfRequest, Body()],
) -> WhatIfResult:
    result = await whatif_console.run(
        uow,
        principal,
        target=body.target,
        seed=body.seed,
        source=body.source,
        population=body.population,
    )
    return WhatIfResult.model_validate(result)
