"""What every request body obeys: no keys it does not define, no NUL characters anywhere."""

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError

from app.domain.text import NUL_MESSAGE, may_hold_nul, nul_locations


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        if not may_hold_nul(data):
            return data
        errors = [
            InitErrorDetails(
                type=PydanticCustomError("nul_character", NUL_MESSAGE), loc=loc, input=""
            )
            for loc in nul_locations(data)
        ]
        if errors:
            raise ValidationError.from_exception_data(cls.__name__, errors)
        return data
