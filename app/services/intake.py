"""Every intake stream (counter/OCR, online, mail, bulk OCR) becomes one kind of application."""

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import orjson

from app.domain.applications import (
    ApplicationStatus,
    TaskKind,
    TaskStatus,
    has_my_number,
    urgency_of,
)
from app.domain.audit import AuditKeys, LogName
from app.domain.catalogue import Procedure, load_catalogue
from app.domain.clock import business_day
from app.domain.deadlines import Calendar, due_date
from app.domain.errors import Conflict, InvalidInput
from app.domain.fields import require_strict_types, validate_fields
from app.domain.household import household_key
from app.domain.prompts import child_allowance_prompts
from app.domain.roles import Principal
from app.domain.visibility import is_protected
from app.services import attachments
from app.storage import intake as intake_store
from app.storage.db import new_id
from app.storage.tables import Application, Task, Ticket
from app.storage.uow import UnitOfWork

UNREADABLE = "●"


@dataclass(frozen=True)
class Envelope:
    """A validated intake envelope (the HTTP and file layers build it)."""

    procedure: str
    channel: str
    received_at: datetime
    external_ref: str | None
    ticket: str | None
    applicant: dict[str, Any]
    fields: dict[str, Any]
    ocr: dict[str, dict[str, Any]] | None
    attachments: list[dict[str, Any]]
    support_measure: bool


def merge_ocr(fields: dict[str, Any], ocr: dict[str, dict[str, Any]] | None) -> dict[str, Any]:
    """Form values: what was sent as fields, else the OCR reading (unreadable ones stay blank)."""
    from app.domain.applications import get_path, set_path

    merged = {k: v for k, v in fields.items()}
    for path, read in (ocr or {}).items():
        if read.get("unreadable") or read.get("value") in (None, ""):
            continue
        if get_path(merged, path) in (None, ""):
            try:
                set_path(merged, path, read["value"])
            except (TypeError, ValueError, KeyError, AttributeError):
                continue
    return merged


def proposals_for(
    procedure: Procedure, values: dict[str, Any], received_on: date
) -> list[dict[str, Any]]:
    """Cross-procedure prompts (DOMAIN.md §7.23); the rules live in app.domain.prompts."""
    return child_allowance_prompts(procedure, values, Calendar())


async def find_by_references(
    uow: UnitOfWork, principal: Principal, refs: list[str]
) -> dict[str, tuple[str, str]]:
    """external_ref → (application id, content fingerprint), for refs this sender already sent."""
    if not refs:
        return {}
    found = await intake_store.contents_by_reference(
        uow.session, principal.municipality_code, principal.token_id, refs, _CONTENT_KEYS
    )
    return {ref: (id_, fingerprint(content)) for ref, (id_, content) in found.items()}


# What a form says, as stored: two envelopes with the same reference are the same form (a
# harmless resend) only if all of this is equal. received_at is not compared: a sender retrying
# after a lost answer may stamp the form again.
_CONTENT_KEYS = (
    "procedure",
    "channel",
    "ticket_id",
    "applicant",
    "fields",
    "ocr",
    "attachments",
    "is_protected",
)


def fingerprint(content: Mapping[str, Any]) -> str:
    """A digest of what a form says (an application row, or a stored application's columns)."""
    canonical = {key: content[key] for key in _CONTENT_KEYS}
    try:  # compared only with digests made here, never stored: any one canonical text will do
        data = orjson.dumps(canonical, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        text = json.dumps(canonical, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        data = text.encode()
    return hashlib.sha256(data).hexdigest()


def application_content(application: Application) -> dict[str, Any]:
    return {key: getattr(application, key) for key in _CONTENT_KEYS}


class ReferenceConflict(Conflict):
    """The sender already sent a different form under this external_ref: they decide what it is."""

    code = "external_ref_conflict"
    title = "同じ参照番号で内容が異なります / Same reference, different content"

    def __init__(self, application_id: str) -> None:
        super().__init__(
            "この参照番号 (external_ref) で別の内容の申請が受付済みです "
            "(an application with this external_ref and different content is already stored)",
            application_id=application_id,
        )


async def find_by_reference(
    uow: UnitOfWork, principal: Principal, external_ref: str
) -> Application | None:
    return await intake_store.find_by_reference(
        uow.session, principal.municipality_code, principal.token_id, external_ref
    )


async def receive(
    uow: UnitOfWork, principal: Principal, envelope: Envelope
) -> tuple[Application, bool]:
    """Store a form with its field problems and open its entry task; (application, created).

    Field problems never reject a paper form: the resident has handed it in. A second form with
    the same external_ref from the same sender and the same content is the same form (resends
    are harmless); with other content it is a ReferenceConflict naming the stored one.
    """
    ticket = await _linked_ticket(uow, principal, envelope.ticket)
    application = build_application(
        principal, envelope, uow.now(), ticket, Path(uow.settings.attachment_dir)
    )
    if envelope.external_ref:
        existing = await find_by_reference(uow, principal, envelope.external_ref)
        if existing is not None:
            if fingerprint(application_content(existing)) != fingerprint(
                application_content(application)
            ):
                raise ReferenceConflict(existing.id)
            return existing, False
    await store(uow, [application])
    if ticket is not None:
        ticket.application_id = application.id
        ticket.progress = "received"
    return application, True


def build_application(
    principal: Principal,
    envelope: Envelope,
    now: datetime,
    ticket: Ticket | None = None,
    attachment_root: Path | None = None,
) -> Application:
    """The application a form becomes: values normalised, problems listed, due date and order
    set."""
    return Application(**application_row(principal, envelope, now, ticket, attachment_root))


def application_row(
    principal: Principal,
    envelope: Envelope,
    now: datetime,
    ticket: Ticket | None = None,
    attachment_root: Path | None = None,
) -> dict[str, Any]:
    """The application's column values (bulk intake inserts these without building objects)."""
    procedure = load_catalogue().get(envelope.procedure)
    require_strict_types(procedure, envelope.fields, "fields.")
    received_on = business_day(envelope.received_at)
    merged = merge_ocr(envelope.fields, envelope.ocr)
    values, problems = validate_fields(procedure, merged, business_day(now))
    if attachment_root is not None and envelope.attachments:
        hashes = [a.get("sha256", "") for a in envelope.attachments]
        problems = [
            *problems,
            *[
                {
                    "field": f"attachments[{i}]",
                    "code": "attachment_missing",
                    "message": "添付ファイルが保管されていません (attachment not in the store)",
                }
                for i in attachments.missing(attachment_root, principal.municipality_code, hashes)
            ],
        ]
    due_on = due_date(procedure, values, received_on, Calendar())
    return dict(
        id=new_id(),
        municipality_code=principal.municipality_code,
        procedure=procedure.code,
        channel=envelope.channel,
        status=ApplicationStatus.ENTRY,
        received_at=envelope.received_at,
        due_on=due_on,
        external_ref=envelope.external_ref,
        sender_id=principal.token_id,
        ticket_id=ticket.id if ticket else None,
        applicant=envelope.applicant,
        fields=envelope.fields,
        ocr=envelope.ocr,
        attachments=envelope.attachments,
        values=values,
        problems=[dict(p) for p in problems],
        proposals=proposals_for(procedure, values, received_on),
        household_key=household_key(envelope.applicant, values),
        is_protected=is_protected(procedure, values, envelope.support_measure),
        has_my_number=has_my_number(procedure, values),
        urgency=urgency_of(due_on, envelope.received_at, resident_waiting=ticket is not None),
        handled_by=[],
        created_at=now,
        updated_at=now,
    )


def entry_task_row(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Bulk intake: the open entry task of a new application row."""
    return {
        "id": new_id(),
        "municipality_code": row["municipality_code"],
        "application_id": row["id"],
        "kind": TaskKind.ENTRY.value,
        "status": TaskStatus.OPEN.value,
        "procedure": row["procedure"],
        "household_key": row["household_key"],
        "urgency": row["urgency"],
        "queue": "central",
        "city_only": row["is_protected"],
        "field_keys": [],
        "created_at": now,
    }


def receive_event_row(
    row: dict[str, Any], principal: Principal, now: datetime, keys: AuditKeys
) -> dict[str, Any]:
    """Bulk intake: the signed event-log row of a new application row (its MAC made here, with
    the service's key: the sealer chains no row without one)."""
    return keys.sign(
        LogName.EVENT,
        {
            "municipality_code": row["municipality_code"],
            "at": now,
            "actor_id": principal.token_id,
            "actor_role": principal.role,
            "entity": "application",
            "entity_id": row["id"],
            "action": "receive",
            "from_status": None,
            "to_status": str(row["status"]),
            "data": {
                "procedure": row["procedure"],
                "channel": row["channel"],
                "problems": len(row["problems"]),
            },
        },
    )


def form_records(
    row: dict[str, Any], principal: Principal, now: datetime, keys: AuditKeys, dialect: str
) -> intake_store.FormRecords:
    """Bulk intake: a new application row with its entry task and signed event-log row, as the
    ``dialect``'s driver takes them (pure: the bulk worker process calls it)."""
    return intake_store.form_records(
        dialect,
        row,
        entry_task_row(row, now),
        receive_event_row(row, principal, now, keys),
    )


async def insert_forms(uow: UnitOfWork, forms: list[intake_store.FormRecords]) -> None:
    """Bulk intake: new forms (application, entry task, event-log row each), in this
    transaction, together."""
    await intake_store.insert_forms(uow.session, forms)


async def store(uow: UnitOfWork, applications: list[Application]) -> None:
    """Insert applications, then their entry tasks and log rows, each kind in one batch."""
    now = uow.now()
    await intake_store.add_applications(uow.session, applications)
    tasks = []
    for application in applications:
        tasks.append(new_task(application, TaskKind.ENTRY, now))
        uow.log(
            entity="application",
            entity_id=application.id,
            action="receive",
            municipality_code=application.municipality_code,
            to_status=application.status,
            data={
                "procedure": application.procedure,
                "channel": application.channel,
                "problems": len(application.problems),
            },
        )
    await intake_store.add_tasks(uow.session, tasks)


def new_task(application: Application, kind: TaskKind, now: datetime, **extra: Any) -> Task:
    return Task(
        municipality_code=application.municipality_code,
        application_id=application.id,
        kind=kind,
        status=TaskStatus.OPEN,
        procedure=application.procedure,
        household_key=application.household_key,
        urgency=application.urgency,
        city_only=bool(extra.pop("city_only", False)) or application.is_protected,
        field_keys=extra.pop("field_keys", []),
        created_at=now,
        **extra,
    )


async def _linked_ticket(
    uow: UnitOfWork, principal: Principal, ticket_id: str | None
) -> Ticket | None:
    if ticket_id is None:
        return None
    ticket = await intake_store.get_ticket(uow.session, ticket_id)
    if ticket is None or ticket.municipality_code != principal.municipality_code:
        raise InvalidInput.field(
            "ticket", "unknown_ticket", "番号札が見つかりません (no such ticket)"
        )
    return ticket
