"""notify: send the near-turn notices that are due, and forget the addresses of ended days.

One run: clear the addresses and numbers of tickets whose day has ended; read the messages owed
now (each kind at most once per ticket, under the per-ticket cap of attempts, none before its
retry time); send each through the city's relay (e-mail) or the office's LINE/SMS gateway
webhook outside any transaction; record every attempt. A failure waits ``notify.backoff_s``
doubled per failure in a row before the next try; a gateway's 4xx (not 408/429) is a refusal
for good, recorded, never retried.
"""

import logging
import time
from email.message import EmailMessage

import aiosmtplib
import httpx

from app.domain import gateway
from app.jobs.core import Job, JobContext, Report
from app.services import forgetting, notices
from app.services.notices import Due
from app.services.uow import UnitOfWork
from app.settings import GatewaySettings, NotifySettings, SmtpSettings

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


async def post(client: httpx.AsyncClient, hook: GatewaySettings, item: Due) -> int | None:
    """One notice to the office's gateway, signed; its HTTP status, None when none came."""
    body = item.payload().body()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        gateway.SIGNATURE_HEADER: gateway.signature(
            hook.secret.get_secret_value(), int(time.time()), body
        ),
    }
    try:
        answer = await client.post(hook.url, content=body, headers=headers, timeout=hook.timeout_s)
    except httpx.HTTPError as error:
        log.warning("gateway notice %s for ticket %s: %r", item.kind, item.ticket_id, error)
        return None
    return answer.status_code


async def deliver(
    client: httpx.AsyncClient, notify: NotifySettings, item: Due
) -> tuple[gateway.Outcome, int | None]:
    """Sends ``item`` by e-mail or through the gateway; what came of it and the gateway's HTTP
    status. Logs name the ticket, never the address or the number."""
    if item.channel == "email":
        try:
            await send(notify.smtp, item.to, item.message.subject, item.message.body)
            return gateway.Outcome.DELIVERED, None
        except (aiosmtplib.SMTPException, OSError) as error:
            log.warning("notice %s for ticket %s failed: %s", item.kind, item.ticket_id, error)
            return gateway.Outcome.RETRY, None
    hook = notify.gateway_for(item.office_id)
    if hook is None or not (hook.url.startswith("https://") or notify.allow_http_gateway):
        return gateway.Outcome.RETRY, None
    status = await post(client, hook, item)
    found = gateway.outcome(status)
    if found is not gateway.Outcome.DELIVERED:
        log.warning("gateway notice %s for ticket %s: %s", item.kind, item.ticket_id, status)
    return found, status


async def _send_owed(context: JobContext, owed: list[Due]) -> tuple[int, int]:
    """Sends what is owed, recording each; (sent, failed). Only then a client: building its TLS
    context costs more CPU than a run with nothing to send."""
    settings = context.settings
    sent = failed = 0
    async with httpx.AsyncClient(follow_redirects=False) as client:
        for item in owed:
            if context.stop.is_set():
                break
            found, status = await deliver(client, settings.notify, item)
            ok = found is gateway.Outcome.DELIVERED
            refused = f"HTTP {status}" if found is gateway.Outcome.REFUSED else None
            async with context.sessionmaker() as session:
                uow = UnitOfWork(session, clock=context.clock, settings=settings)
                await notices.record(uow, item, sent=ok, refused=refused)
                await uow.commit()
            sent += ok
            failed += not ok
    return sent, failed


async def run(context: JobContext) -> Report:
    settings = context.settings
    notify = settings.notify
    async with context.sessionmaker() as session:
        uow = UnitOfWork(session, clock=context.clock, settings=settings)
        forgotten = await forgetting.forget_ended(uow)
        owed = await notices.due(uow) if notify.smtp.host or notify.gateways else []
        await uow.commit()
    sent, failed = await _send_owed(context, owed) if owed else (0, 0)
    return Report(
        f"通知 {sent} 件送信、{failed} 件失敗、アドレス {forgotten.notices} 件・予約連絡先 "
        f"{forgotten.booking_contacts} 件・期限切れ転入予約 {forgotten.reservations} 件削除 "
        f"(sent {sent} notice(s), {failed} failed; forgot {forgotten.notices} address(es), "
        f"{forgotten.booking_contacts} booking contact(s), {forgotten.reservations} lapsed "
        "move-in reservation(s))",
        sent + failed + forgotten.total,
    )


JOB = Job(
    name="notify",
    description="Send near-turn and called notices (e-mail, LINE/SMS gateway); forget addresses "
    "and numbers once the day has ended",
    interval_s=lambda settings: settings.notify.every_s,
    setting="MADOGUCHI_NOTIFY__EVERY_S",
    run_once=run,
    run_at_start=False,
    log_changes=False,
)
