"""Service settings: read once from MADOGUCHI_* variables, then passed around as values."""

import functools
from datetime import time
from typing import Literal

from pydantic import AwareDatetime, BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.domain import retention
from app.domain.audit import AuditKeys
from app.domain.errors import InvalidInput
from app.domain.retention import ACCESS_LOG_YEARS
from app.domain.shape import SAFE_INTEGER, ShapeLimits

# Used when no audit key is configured (development and tests only; production refuses to start).
# It is in the source code, so a MAC made with it proves nothing: configure a real key.
DEVELOPMENT_AUDIT_KEY_ID = "dev"
DEVELOPMENT_AUDIT_KEY = "madoguchi development audit key - not a secret"


class DisplaySettings(BaseModel):
    heartbeat_s: float = 15.0
    queue_size: int = 64
    # A display whose socket has not drained for this long is closed with 1013.
    send_timeout_s: float = 10.0
    recent_calls: int = 12
    history_events: int = 5000
    # How often the lobby-prune job drops what is older than history_events (0: never).
    prune_every_s: float = 300.0
    # How often each process checks the channel rows for events it may have missed.
    watchdog_s: float = 5.0
    # Hostile or broken displays (README, Reliability). Largest frame a display may send; the
    # server refuses a bigger one (close 1009) before reading it.
    max_message_bytes: int = 64 * 1024
    # Messages a display may send: this many a second on average, this many at once (1008).
    messages_per_s: float = 2.0
    message_burst: int = 10
    # How often each process re-checks the tokens of its displays (revoked or expired: 4401)
    # and cuts any display with more than max_buffered_bytes unread (1013).
    guard_s: float = 1.0
    max_buffered_bytes: int = 1024 * 1024
    # The kernel's send buffer per display socket (0: the system's autotuning, megabytes).
    socket_send_buffer_bytes: int = 64 * 1024
    # A gap is replayed this many events per database read; at most replay_readers reads for
    # displays (connecting: token and snapshot; replaying: a page) run at once per process.
    replay_page: int = 200
    replay_readers: int = 4
    # Kept in memory per office for reconnecting displays: the last window_events events as
    # encoded frames (a resume within them reads no database), and the encoded snapshot, shared
    # until the next event or for snapshot_cache_s at most (it carries the time and estimates).
    window_events: int = 5000
    snapshot_cache_s: float = 2.0
    # Per client address and process, checked before the upgrade (429 with Retry-After): at
    # most this many lobby websockets open at once, and new ones at connects_per_s on average
    # with bursts of connect_burst. A lobby behind one NAT address shares them (README). 0: off.
    connections_per_address: int = 50
    connects_per_s: float = 2.0
    connect_burst: int = 60
    # Every this many seconds the process freezes what is alive (gc.freeze): the collector's
    # scans skip connected displays, and a full collection runs once the frozen objects have
    # doubled (app/realtime/collector.py). 0: CPython's own policy.
    gc_freeze_s: float = 60.0
    # ... or once the process's own memory has grown by this many MB since the last full
    # collection (what closed connections leave in cycles; at most once a freeze). 0: never.
    gc_full_after_mb: int = Field(default=32, ge=0)


class LobbySettings(BaseModel):
    timezone: str = "Asia/Tokyo"
    default_service_s: int = 300
    service_sample: int = 20
    # A call can be taken back (undo-call) for this long after it was made.
    undo_call_s: float = 30.0
    # A no-show is refused until the ticket has been called for this long.
    no_show_grace_s: float = 60.0
    # The waits lobby events carry are replayed from the whole lobby at every event while fewer
    # residents than this wait in the office; at or above it, at most once per interval per
    # office and process, events in between carrying the last replay's (app/services/
    # lobby_waits.py).
    replay_every_event_below: int = Field(default=500, ge=0)
    replay_interval_s: float = Field(default=1.0, ge=0, le=60)


class ClockSettings(BaseModel):
    """A day replayed faster than real time (clients/bench/estimates.py): the server's clock
    starts at ``start`` and runs ``scale`` times faster. Refused in production."""

    start: AwareDatetime | None = None
    scale: float = Field(default=1.0, gt=0, le=1000)


class ReceiptPrinter(BaseModel):
    """An office's network receipt printer (ESC/POS over raw TCP, usually port 9100)."""

    host: str = Field(min_length=1, max_length=253)
    port: int = Field(default=9100, ge=1, le=65535)
    # 58 mm paper prints 384 dots a line, 80 mm paper 576.
    paper_mm: Literal[58, 80] = 80


class ReceiptSettings(BaseModel):
    # Office id -> its printer; an office without one prints through the browser only.
    printers: dict[str, ReceiptPrinter] = {}
    # Connecting and sending a ticket must finish within this; else the kiosk is told paper
    # failed (the ticket stands).
    timeout_s: float = Field(default=3.0, gt=0)
    # A folder holding NotoSansCJK-Regular.ttc and NotoSansCJK-Bold.ttc (else fontconfig and
    # Debian's fonts-noto-cjk paths are searched).
    font_dir: str | None = None


class AppointmentSettings(BaseModel):
    # A checked-in appointment is on time from early_s before its slot to grace_s after it;
    # on time it goes before walk-ins, but no waiting ticket is passed by more than max_passes
    # appointments (app/domain/tickets.py next_to_call).
    early_s: float = Field(default=600.0, ge=0)
    grace_s: float = Field(default=600.0, ge=0)
    max_passes: int = Field(default=2, ge=0)
    # How far ahead residents may book (days).
    book_days_ahead: int = Field(default=60, ge=1)


class SmtpSettings(BaseModel):
    """The city's mail relay for near-turn notices (README, Near-turn notifications)."""

    host: str | None = None  # None: no e-mail is sent (addresses are still refused, see api)
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = "madoguchi@localhost"
    starttls: bool = False
    username: str | None = None
    password: SecretStr | None = None
    timeout_s: float = Field(default=10.0, gt=0)


class GatewaySettings(BaseModel):
    """An office's LINE/SMS gateway webhook (README, Near-turn notifications)."""

    url: str = Field(min_length=8, max_length=2000)
    secret: SecretStr  # the HMAC-SHA256 key of the signature header
    channel: Literal["sms", "line"] = "sms"
    timeout_s: float = Field(default=10.0, gt=0)


class NearRule(BaseModel):
    near_ahead: int = Field(default=3, ge=0)
    near_minutes: int = Field(default=10, ge=0)


class NotifySettings(BaseModel):
    # A waiting ticket is "near" when at most near_ahead tickets are ahead of it or its
    # estimate is below near_minutes; per-office overrides by office id.
    near_ahead: int = Field(default=3, ge=0)
    near_minutes: int = Field(default=10, ge=0)
    offices: dict[str, NearRule] = {}
    # How often the notify job looks for notices due (0: off).
    every_s: float = Field(default=5.0, ge=0)
    # Attempts per ticket, sent or failed, whatever the kind (a broken relay cannot loop).
    max_attempts: int = Field(default=4, ge=1)
    # After a failed attempt the next waits backoff_s * 2 ** (failures - 1) seconds.
    backoff_s: float = Field(default=5.0, ge=0)
    smtp: SmtpSettings = SmtpSettings()
    # LINE/SMS gateway webhooks by office id; https only unless allow_http_gateway (local/tests).
    gateways: dict[str, GatewaySettings] = {}
    allow_http_gateway: bool = False

    @model_validator(mode="after")
    def _gateways_are_https(self) -> "NotifySettings":
        for office_id, gateway in self.gateways.items():
            if not gateway.url.startswith("https://") and not (
                self.allow_http_gateway and gateway.url.startswith("http://")
            ):
                raise ValueError(
                    f"MADOGUCHI_NOTIFY__GATEWAYS: the gateway of office {office_id} must be an "
                    "https:// URL (MADOGUCHI_NOTIFY__ALLOW_HTTP_GATEWAY=true allows http:// "
                    "for local tests)"
                )
        return self

    def gateway_for(self, office_id: str) -> GatewaySettings | None:
        return self.gateways.get(office_id)

    def rule_for(self, office_id: str) -> NearRule:
        return self.offices.get(
            office_id, NearRule(near_ahead=self.near_ahead, near_minutes=self.near_minutes)
        )


class QueueSettings(BaseModel):
    lease_s: int = 300
    # How often the expire-leases job returns tasks whose lease ran out to the queue (0: off;
    # claims still take such tasks, but the queue's figures show them held until then).
    expire_every_s: float = 30.0
    # OCR readings below this confidence are keyed blind a second time (DOMAIN.md §6).
    confidence_threshold: float = 0.9


class VendorSettings(BaseModel):
    # Seal each active contract's batches on its own schedule (VendorContract.seal_every_s).
    schedule: bool = True
    schedule_tick_s: float = 60.0
    # Rows read or written per statement when sealing and streaming: memory stays flat.
    chunk_rows: int = 1000


class AuditSettings(BaseModel):
    # How often the server chains new event and access log rows (tamper evidence); 0 turns the
    # background sealer off (then `madoguchi audit seal` does it).
    seal_every_s: float = 1.0
    # Rows per sealing transaction and per verification read: memory stays flat, locks short.
    batch_rows: int = 1000
    # The MAC key of every event and access log row (MADOGUCHI_AUDIT__KEY, at least 32 characters
    # of a random secret) and its id stored with each row (MADOGUCHI_AUDIT__KEY_ID). Never in the
    # database. After a rotation keep the old keys in retired_keys ({"id": "secret"}, as JSON).
    key: SecretStr | None = None
    key_id: str = "k1"
    retired_keys: dict[str, SecretStr] = {}

    @functools.cached_property
    def keys(self) -> AuditKeys:
        """The keyring: the configured key, or the development key when none is set."""
        current, secret = (
            (self.key_id, self.key.get_secret_value())
            if self.key is not None
            else (DEVELOPMENT_AUDIT_KEY_ID, DEVELOPMENT_AUDIT_KEY)
        )
        secrets = {k: v.get_secret_value().encode() for k, v in self.retired_keys.items()}
        secrets[current] = secret.encode()
        return AuditKeys(current=current, secrets=secrets)


class RetentionSettings(BaseModel):
    """How long personal data of finished applications is kept (README, Retention)."""

    # How often the server purges what has expired (86400: daily); 0 turns the job off (then
    # `madoguchi retention` does it).
    every_s: float = 0.0
    # Longer periods per record class ("resident", "child_rearing", "child_allowance"), in
    # years; a period shorter than the law's minimum is refused at startup.
    years: dict[str, int] = {}
    # Access logs: the city's period (not purged by the job, see README).
    access_log_years: int = ACCESS_LOG_YEARS

    @model_validator(mode="after")
    def _never_below_the_minimum(self) -> "RetentionSettings":
        try:
            retention.periods(self.years)
        except InvalidInput as error:
            raise ValueError(
                "; ".join(f"{e['field']}: {e['message']}" for e in error.errors)
            ) from None
        if self.access_log_years < 1:
            raise ValueError("retention.access_log_years: 1年未満にできません (at least 1 year)")
        if self.every_s < 0:
            raise ValueError("retention.every_s: 0以上 (0 or more)")
        return self

    def periods(self) -> dict[str, retention.Period]:
        return retention.periods(self.years)


class JsonShapeSettings(BaseModel):
    """The shape every JSON body, bulk line and websocket message must fit (app/domain/shape.py)."""

    max_depth: int = 32
    max_string_chars: int = 20_000
    max_members: int = 1_000
    max_items: int = 1_000
    max_abs_integer: int = SAFE_INTEGER

    def limits(self) -> ShapeLimits:
        return ShapeLimits(**self.model_dump())


class AuthSettings(BaseModel):
    """Staff sign-in to the consoles (README, How staff sign in)."""

    # A session ends this long after sign-in, or after this long without a request.
    session_ttl_s: int = 8 * 3600
    idle_timeout_s: int = 30 * 60
    # After this many failed sign-ins in a row the person is locked out for lockout_s.
    max_failures: int = 5
    lockout_s: int = 15 * 60
    cookie_name: str = "madoguchi_session"
    # "auto": Secure when the request came over https (or public_base_url is https).
    cookie_secure: str = "auto"
    # The city's SSO proxy: the header naming the person's SSO subject (e.g. X-Forwarded-User).
    # Trusted only with the shared secret in sso_secret_header, or from a trusted proxy address.
    sso_header: str | None = None
    sso_secret: str | None = None
    sso_secret_header: str = "X-Madoguchi-Proxy-Secret"
    sso_trusted_proxies: list[str] = []


class ChildAllowanceSettings(BaseModel):
    """児童手当 payments (README, Rules of the procedures)."""

    # The city's payment day in each even month (1–28); a closed day pays the open day before.
    payment_day: int = Field(default=10, ge=1, le=28)


class AccessReportSettings(BaseModel):
    """The access-log reports (DOMAIN.md §7.12): opening hours and what counts as a bulk query."""

    # The counters' opening hours (Asia/Tokyo); access outside them, or on a closed day, is
    # night/holiday access.
    opens_at: time = time(8, 30)
    closes_at: time = time(17, 15)
    # More than bulk_records personal records viewed by one person within bulk_window_min.
    bulk_records: int = Field(default=50, ge=1)
    bulk_window_min: int = Field(default=10, ge=1)


class SpeechSettings(BaseModel):
    """Calls said aloud (README "Calls said aloud"): where rendered audio is kept."""

    # Rendered announcements, one WAV per digest; safe to delete (rendered again on demand).
    cache_dir: str = "./var/announcements"
    # The espeak-ng program (every language but Japanese).
    espeak: str = "espeak-ng"
    # How often the announce-prerender job renders the calls likely next (0: never), and how
    # many waiting tickets of each office it looks at (the first in calling order).
    prerender_every_s: float = 30.0
    prerender_tickets: int = Field(default=20, ge=1, le=500)


class WhatIfSettings(BaseModel):
    """The console's staffing what-if (README "Staffing what-if"): its size and time caps."""

    # Applications a year one run may simulate (the shipped city of 700,000: about 102,000).
    max_cases: int = Field(default=120_000, ge=100)
    # Seconds of search after which a run stops (503).
    time_cap_s: float = Field(default=240.0, gt=0)


class ScanSettings(BaseModel):
    """The watched scan folder (README "Scanned paper forms"): off unless folder and
    every_s are set."""

    # Where the scanner drops its files; read ones go to done/, unreadable ones to failed/.
    folder: str = ""
    # Seconds between looks at the folder (0: the watched folder is off).
    every_s: float = Field(default=0.0, ge=0)
    # A file is read only once it has not changed for this many seconds (still being written).
    settle_s: float = Field(default=10.0, ge=0)
    # The intake token the pages are stored under, and the forms' template.
    token: str = ""
    template: str = "resident.move_in.v1"


class Settings(BaseSettings):
    """Read once at startup; everything else receives values, never os.environ."""

    model_config = SettingsConfigDict(
        env_prefix="MADOGUCHI_", env_nested_delimiter="__", extra="ignore"
    )

    database_url: str = "sqlite+aiosqlite:///./madoguchi.db"
    public_base_url: str = "http://127.0.0.1:8000"
    environment: str = "development"
    max_body_bytes: int = 10 * 1024 * 1024
    max_bulk_line_bytes: int = 256 * 1024
    # Processes beside the server that parse and check bulk intake lines while the server
    # stores the previous group (0: the server process does it itself).
    bulk_workers: int = 1
    json_shape: JsonShapeSettings = JsonShapeSettings()
    attachment_dir: str = "./var/attachments"
    # The resident's status page: requests per second per client address, and the burst.
    public_rate_per_s: float = 2.0
    public_burst: int = 30
    # Tickets per second per kiosk or counter token, and the burst (a stuck touch screen must
    # not empty the day).
    kiosk_rate_per_s: float = 5.0
    kiosk_burst: int = 50
    # Pages, their files, /docs, /openapi.json, /healthz, /readyz, /metrics: per client address.
    page_rate_per_s: float = 20.0
    page_burst: int = 200
    # The request line and headers must arrive within this many seconds of the connection (or
    # of the first byte of a later request on it); else the connection is closed (408).
    header_timeout_s: float = 10.0
    # A request body must arrive within this many seconds of its headers; else 408 and close.
    # 10 MiB (the largest body) takes under 10 s at 10 Mbit/s.
    body_timeout_s: float = 60.0
    # Seconds a token's identity is remembered by a process (0: look it up on every request).
    token_cache_s: float = 5.0
    display: DisplaySettings = DisplaySettings()
    lobby: LobbySettings = LobbySettings()
    receipt: ReceiptSettings = ReceiptSettings()

    appointments: AppointmentSettings = AppointmentSettings()
    notify: NotifySettings = NotifySettings()
    queue: QueueSettings = QueueSettings()
    vendor: VendorSettings = VendorSettings()
    audit: AuditSettings = AuditSettings()
    auth: AuthSettings = AuthSettings()
    retention: RetentionSettings = RetentionSettings()
    child_allowance: ChildAllowanceSettings = ChildAllowanceSettings()
    whatif: WhatIfSettings = WhatIfSettings()
    access_reports: AccessReportSettings = AccessReportSettings()
    speech: SpeechSettings = SpeechSettings()
    clock: ClockSettings = ClockSettings()
    scan: ScanSettings = ScanSettings()

    @model_validator(mode="after")
    def _production_has_an_audit_key(self) -> "Settings":
        # Every entry point (server, CLI, tests) reads settings here first.
        self.check_production()
        return self

    def check_production(self) -> None:
        """Refuse to run in production with what is only fit for development."""
        if self.environment == "production":
            if self.clock.start is not None or self.clock.scale != 1.0:
                raise ValueError("MADOGUCHI_CLOCK__* replays a day: not in production")
            if self.audit.key is None:
                raise ValueError(
                    "MADOGUCHI_AUDIT__KEY is required in production (the audit log MAC key)"
                )
            if len(self.audit.key.get_secret_value()) < 32:
                raise ValueError("MADOGUCHI_AUDIT__KEY must be at least 32 characters")

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
