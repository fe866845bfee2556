"""A seasonal profile: yearly volumes per procedure scaled to a population, and service times."""

import json
from datetime import date
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.domain.applications import TaskKind
from app.domain.catalogue import load_catalogue

DEFAULT_PROFILE = "city_700k.json"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Peak(_Model):
    """Days ("MM-DD" to "MM-DD", both included) whose daily volume is ``factor`` times the
    month's ordinary day (the month's total stays as ``months`` says)."""

    from_: str = Field(alias="from", pattern=r"^\d\d-\d\d$")
    to: str = Field(pattern=r"^\d\d-\d\d$")
    factor: float = Field(gt=0)

    def covers(self, day: date) -> bool:
        return self.from_ <= day.strftime("%m-%d") <= self.to


class ProcedureProfile(_Model):
    per_100k: float = Field(ge=0, description="applications a year per 100,000 residents")
    months: tuple[float, ...] = Field(min_length=12, max_length=12)
    peaks: tuple[Peak, ...] = ()
    counter_share: float = Field(default=0.5, ge=0, le=1)
    lag_days: tuple[int, int] = (0, 10)
    values: dict[str, str] = Field(default_factory=dict)
    minutes: dict[TaskKind, float]
    # Coefficient of variation of a step's service time where it differs from the profile's
    # ``service_time_cv`` (fitted from the event log: ``madoguchi whatif --from-log``).
    cv: dict[TaskKind, float] = Field(default_factory=dict)

    @field_validator("cv")
    @classmethod
    def _spread(cls, cv: dict[TaskKind, float]) -> dict[TaskKind, float]:
        if any(not 0 <= value <= 3 for value in cv.values()):
            raise ValueError("cv between 0 and 3 needed for every step given")
        return cv

    @field_validator("minutes")
    @classmethod
    def _every_step(cls, minutes: dict[TaskKind, float]) -> dict[TaskKind, float]:
        missing = [k for k in TaskKind if k not in minutes]
        if missing or any(m <= 0 for m in minutes.values()):
            raise ValueError(f"minutes > 0 needed for every step (missing: {missing})")
        return minutes


class Rates(_Model):
    mismatch: float = Field(default=0.06, ge=0, le=1)
    return_: float = Field(default=0.04, ge=0, lt=1, alias="return")
    reject: float = Field(default=0.005, ge=0, le=1)
    ocr_low_confidence: float = Field(default=0.3, ge=0, le=1)
    vendor_dispatch_days: float = Field(default=0.5, ge=0)


class Profile(_Model):
    name: str
    year: int = Field(ge=2020, le=2098)
    population: int = Field(gt=0)
    workday_minutes: int = Field(default=465, gt=0, le=24 * 60)
    service_time_cv: float = Field(default=0.5, ge=0, le=3)
    sources: tuple[str, ...] = ()
    rates: Rates = Rates()
    procedures: dict[str, ProcedureProfile]

    @field_validator("procedures")
    @classmethod
    def _known(cls, procedures: dict[str, ProcedureProfile]) -> dict[str, ProcedureProfile]:
        catalogue = load_catalogue()
        unknown = [code for code in procedures if catalogue.find(code) is None]
        if unknown:
            raise ValueError(f"unknown procedures: {unknown}")
        return procedures

    def scaled(self, population: int) -> "Profile":
        return self.model_copy(update={"population": population})

    def with_minutes(self, fitted: dict[str, dict[TaskKind, float]]) -> "Profile":
        """The profile with service minutes replaced where ``fitted`` has a figure."""
        procedures = {
            code: spec.model_copy(update={"minutes": {**spec.minutes, **fitted.get(code, {})}})
            for code, spec in self.procedures.items()
        }
        return self.model_copy(update={"procedures": procedures})


class WeekPlan(_Model):
    """Staff of one week: operators (keying, verify, settle) and city reviewers."""

    operators: int = Field(ge=0)
    reviewers: int = Field(ge=0)
    vendor_share: float = Field(default=0.0, ge=0, le=1)


class Plan(_Model):
    """A staffing plan: ``default`` for every week, ``weeks`` (ISO week number) where it differs."""

    default: WeekPlan
    weeks: dict[int, WeekPlan] = Field(default_factory=dict)

    def week(self, number: int) -> WeekPlan:
        return self.weeks.get(number, self.default)


def load_plan(path: str | Path) -> Plan:
    return Plan.model_validate(json.loads(Path(path).read_text(encoding="utf-8")))


def load_profile(path: str | Path | None = None) -> Profile:
    """A profile file; the shipped city of 700,000 without a path."""
    if path is None:
        text = resources.files("app.simulation").joinpath("profiles", DEFAULT_PROFILE).read_text()
    else:
        text = Path(path).read_text(encoding="utf-8")
    return Profile.model_validate(json.loads(text))
