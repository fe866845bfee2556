"""notify: send the near-turn e-mails that are due, and forget the addresses of ended days.

One run: clear the addresses of tickets whose day has ended; read the messages owed now (each
kind at most once per ticket, under the per-ticket cap of attempts, none before its retry
time); send each through the city's relay outside any transaction; record every attempt. A
failure waits ``notify.backoff_s`` doubled per failure in a row before the next try.
"""

import logging
from email.message import EmailMessage

import aiosmtplib

from app.jobs.core import Job, JobContext, Report
from app.services import notices
from app.services.uow import UnitOfWork
from app.settings import SmtpSettings

log = logging.getLogger(__name__)


async def send(smtp: SmtpSettings, to: str, subject: str, body: str) -> None:
    """One message through the relay; raises on any refusal or network error."""
    assert smtp.host is not None
    message = EmailMessage()
    message["From"] = smtp.sender
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    await aiosmtplib.send(
        message,
        hostname=smtp.host,
        port=smtp.port,
        start_tls=smtp.starttls,
        use_tls=False,
        username=smtp.username,
        password=smtp.password.get_secret_value() if smtp.password else None,
        timeout=smtp.timeout_s,
    )


async def run(context: JobContext) -> Report:
    settings = context.settings
    async with context.sessionmaker() as session:
        uow = UnitOfWork(session, clock=context.clock, settings=settings)
        forgotten = await notices.forget_ended(uow)
        owed = await notices.due(uow) if settings.notify.smtp.host else []
        await uow.commit()
    sent = failed = 0
    for item in owed:
        if context.stop.is_set():
            break
        try:
            await send(settings.notify.smtp, item.email, item.message.subject, item.message.body)
            ok = True
        except (aiosmtplib.SMTPException, OSError) as error:
            # The ticket id and the error, never the address.
            log.warning("notice %s for ticket %s failed: %s", item.kind, item.ticket_id, error)
            ok = False
        async with context.sessionmaker() as session:
            uow = UnitOfWork(session, clock=context.clock, settings=settings)
            await notices.record(uow, item, sent=ok)
            await uow.commit()
        sent += ok
        failed += not ok
    return Report(
        f"通知 {sent} 件送信、{failed} 件失敗、アドレス {forgotten} 件削除 "
        f"(sent {sent} notice(s), {failed} failed, forgot {forgotten} address(es))",
        sent + failed + forgotten,
    )


JOB = Job(
    name="notify",
    description="Send near-turn and called e-mails; forget addresses once the day has ended",
    interval_s=lambda settings: settings.notify.every_s,
    setting="MADOGUCHI_NOTIFY__EVERY_S",
    run_once=run,
    run_at_start=False,
    log_changes=False,
)
