"""Purging the personal data of finished applications whose retention period has ended.

The application row stays with its ids, procedure, channel, status, dates, urgency and problem
codes, so counts and statistics stay right; what identifies a person goes: applicant, form
fields and keyed values (My Numbers with them), OCR readings, attachments (a file is deleted
only when no other unpurged application lists it), what each task keyed, and the vendor's
copies. Each purge writes one event-log row naming the kinds of data purged, never the data;
sealed log rows are never touched, so `madoguchi audit verify` still passes.
"""

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from app.domain.retention import FINISHED, Period, RecordKind, expires_on
from app.services import attachments as attachment_store
from app.storage import retention as store
from app.storage.attachments import applications_listing
from app.storage.tables import Application
from app.storage.uow import UnitOfWork

PURGE_ACTION = "retention.purge"
PURGED_MESSAGE = "保存期間の経過により削除されました (purged after its retention period)"
# Applications read per statement while looking for expired ones: memory stays flat.
_PAGE = 500
_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class Expired:
    """One application whose personal data may go, and which kinds of it it holds."""

    application_id: str
    municipality_code: str
    procedure: str
    status: str
    expires_on: date
    kinds: tuple[RecordKind, ...]
    attachments: tuple[str, ...]

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.application_id,
            "municipality": self.municipality_code,
            "procedure": self.procedure,
            "status": self.status,
            "expires_on": self.expires_on.isoformat(),
            "kinds": [str(k) for k in self.kinds],
            "attachments": len(self.attachments),
        }


@dataclass
class PurgeReport:
    applications: list[Expired] = field(default_factory=list)
    files_deleted: int = 0
    files_kept: int = 0  # still listed by another application that has not expired


def _local_day(moment: datetime | None, zone: ZoneInfo) -> date | None:
    if moment is None:
        return None
    return moment.astimezone(zone).date() if moment.tzinfo else moment.date()


async def _kinds(uow: UnitOfWork, application: Application) -> tuple[RecordKind, ...]:
    kinds = []
    if application.applicant:
        kinds.append(RecordKind.APPLICANT)
    if (
        application.fields
        or application.values
        or application.proposals
        or application.return_reason
    ):
        kinds.append(RecordKind.FIELDS)
    if application.has_my_number:
        kinds.append(RecordKind.MY_NUMBERS)
    if application.ocr:
        kinds.append(RecordKind.OCR)
    if application.attachments:
        kinds.append(RecordKind.ATTACHMENTS)
    if await store.has_task_data(uow.session, application.id):
        kinds.append(RecordKind.TASK_RESULTS)
    if await store.has_vendor_payload(uow.session, application.id):
        kinds.append(RecordKind.VENDOR_PAYLOADS)
    return tuple(kinds)


async def find_expired(
    uow: UnitOfWork,
    periods: dict[str, Period],
    *,
    municipality_code: str | None = None,
    today: date | None = None,
) -> list[tuple[Application, Expired]]:
    """Finished, not yet purged applications whose retention ended on or before ``today``."""
    zone = ZoneInfo(uow.settings.lobby.timezone)
    today = today or uow.now().astimezone(zone).date()
    # Every period runs at least a year from receipt: older rows only are worth reading.
    received_before = uow.now() - timedelta(days=365)
    found: list[tuple[Application, Expired]] = []
    after = ""
    while True:
        page = await store.unpurged_page(
            uow.session,
            statuses=[str(s) for s in FINISHED],
            received_before=received_before,
            after=after,
            limit=_PAGE,
            purge_action=PURGE_ACTION,
            municipality_code=municipality_code,
        )
        for application in page:
            completed = application.decided_at or application.updated_at
            expiry = expires_on(
                application.procedure,
                application.status,
                _local_day(application.received_at, zone) or today,
                _local_day(completed, zone),
                periods,
            )
            if expiry is None or expiry > today:
                continue
            hashes = tuple(
                a["sha256"]
                for a in application.attachments or []
                if isinstance(a.get("sha256"), str) and _SHA256.fullmatch(a["sha256"])
            )
            found.append(
                (
                    application,
                    Expired(
                        application.id,
                        application.municipality_code,
                        application.procedure,
                        application.status,
                        expiry,
                        await _kinds(uow, application),
                        hashes,
                    ),
                )
            )
        if len(page) < _PAGE:
            return found
        after = page[-1].id


async def _still_listed(
    uow: UnitOfWork, municipality_code: str, sha256: str, purging: set[str]
) -> bool:
    listing = await applications_listing(uow.session, municipality_code, sha256)
    return any(id_ not in purging for id_ in listing)


def _problem_codes(problems: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    # Problem messages may quote what was keyed; their field, code and level are what statistics
    # count, and the message says why it is gone.
    keep = ("field", "code", "level")
    return [
        {**{k: p[k] for k in keep if k in p}, "message": PURGED_MESSAGE} for p in problems or []
    ]


async def purge(
    uow: UnitOfWork,
    periods: dict[str, Period],
    *,
    municipality_code: str | None = None,
    dry_run: bool = False,
    today: date | None = None,
) -> PurgeReport:
    """Purge (or with ``dry_run`` only list) what has expired. The caller commits; the files go
    after the commit, so a rolled-back purge deletes nothing."""
    report = PurgeReport()
    expired = await find_expired(uow, periods, municipality_code=municipality_code, today=today)
    report.applications = [e for _, e in expired]
    if dry_run:
        return report
    purging = {e.application_id for e in report.applications}
    files: set[tuple[str, str]] = set()
    for application, item in expired:
        application.applicant = {}
        application.fields = {}
        application.values = {}
        application.ocr = None
        application.attachments = []
        application.proposals = []
        application.problems = _problem_codes(application.problems)
        application.return_reason = None
        application.household_key = "purged"
        application.has_my_number = False
        await store.wipe_copies(uow.session, application.id)
        files.update((item.municipality_code, sha) for sha in item.attachments)
        uow.log(
            entity="application",
            entity_id=item.application_id,
            action=PURGE_ACTION,
            municipality_code=item.municipality_code,
            from_status=item.status,
            to_status=item.status,
            data={
                "procedure": item.procedure,
                "expired_on": item.expires_on.isoformat(),
                "kinds": [str(k) for k in item.kinds],
                "attachments": len(item.attachments),
            },
        )
    await uow.flush()
    doomed = []
    for code, sha in sorted(files):
        if await _still_listed(uow, code, sha, purging):
            report.files_kept += 1
        else:
            doomed.append((code, sha))
    root = Path(uow.settings.attachment_dir)

    def delete_files() -> None:
        for code, sha in doomed:
            path = attachment_store.file_path(root, code, sha)
            if path.is_file():
                path.unlink()
                report.files_deleted += 1

    uow.after_commit(delete_files)
    return report
