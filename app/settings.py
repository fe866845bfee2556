"""Service settings: read once from MADOGUCHI_* variables, then passed around as values."""

from pydantic import BaseModel
from pydantic_settings import BaseSettings, SettingsConfigDict


class DisplaySettings(BaseModel):
    heartbeat_s: float = 15.0
    queue_size: int = 64
    # A display whose socket has not drained for this long is closed with 1013.
    send_timeout_s: float = 10.0
    recent_calls: int = 12
    history_events: int = 5000
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


class LobbySettings(BaseModel):
    timezone: str = "Asia/Tokyo"
    default_service_s: int = 300
    service_sample: int = 20


class QueueSettings(BaseModel):
    lease_s: int = 300
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
    attachment_dir: str = "./var/attachments"
    # The resident's status page: requests per second per client address, and the burst.
    public_rate_per_s: float = 2.0
    public_burst: int = 30
    # Tickets per second per kiosk, and the burst (a stuck touch screen must not empty the day).
    kiosk_rate_per_s: float = 5.0
    kiosk_burst: int = 50
    # Seconds a token's identity is remembered by a process (0: look it up on every request).
    token_cache_s: float = 5.0
    display: DisplaySettings = DisplaySettings()
    lobby: LobbySettings = LobbySettings()
    queue: QueueSettings = QueueSettings()
    vendor: VendorSettings = VendorSettings()
    audit: AuditSettings = AuditSettings()

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")
