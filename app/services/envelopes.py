"""An application as a sender hands it in: the envelope of POST /applications, and of each line
of POST /applications/bulk (the HTTP contract, read by the bulk intake as well)."""

from typing import Any, Literal

from pydantic import AwareDatetime, Field, field_validator

from app.domain.bodies import Body
from app.domain.catalogue import load_catalogue
from app.services import intake

Channel = Literal["counter", "ocr", "online", "mail", "bulk_ocr"]


class OcrReading(Body):
    value: str | None = Field(None, max_length=2000)
    confidence: float | None = Field(None, ge=0, le=1)
    unreadable: bool = False
    verify: bool | None = Field(
        None, description="The engine is not to be trusted on this field: key it twice blind"
    )
    image: str | None = Field(
        None, max_length=500, description="Reference to the field's image crop"
    )


class Attachment(Body):
    name: str = Field(min_length=1, max_length=300)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    media_type: str = Field(max_length=100)
    size: int | None = Field(None, ge=0)


class Applicant(Body):
    family_name: str = Field(
        min_length=1, max_length=100, description="As written: never normalised"
    )
    given_name: str | None = Field(None, max_length=100)
    family_name_kana: str | None = Field(None, max_length=100)
    given_name_kana: str | None = Field(None, max_length=100)
    birth_date: str | None = Field(None, max_length=40)
    address: str | None = Field(None, max_length=300)
    phone: str | None = Field(None, max_length=30)
    household_ref: str | None = Field(None, max_length=100)


class SubmitApplication(Body):
    procedure: str = Field(max_length=64)
    channel: Channel
    received_at: AwareDatetime
    external_ref: str | None = Field(None, min_length=1, max_length=200)
    ticket: str | None = Field(None, max_length=64)
    applicant: Applicant
    fields: dict[str, Any] = Field(default_factory=dict)
    ocr: dict[str, OcrReading] | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=50)
    support_measure: bool = Field(False, description="支援措置 (DV protection): city staff only")

    @field_validator("procedure")
    @classmethod
    def _known(cls, code: str) -> str:
        if load_catalogue().find(code) is None:
            raise ValueError("unknown procedure code (未登録の手続です)")
        return code

    def envelope(self) -> intake.Envelope:
        return intake.Envelope(
            procedure=self.procedure,
            channel=self.channel,
            received_at=self.received_at,
            external_ref=self.external_ref,
            ticket=self.ticket,
            applicant=self.applicant.model_dump(exclude_none=True),
            fields=self.fields,
            ocr={k: v.model_dump(exclude_none=True) for k, v in self.ocr.items()}
            if self.ocr
            else None,
            attachments=[a.model_dump(exclude_none=True) for a in self.attachments],
            support_measure=self.support_measure,
        )
