"""Errors that mean 'a business rule said no'. They know nothing about HTTP."""

from typing import ClassVar


class DomainError(Exception):
    code: ClassVar[str] = "domain_error"
    title: ClassVar[str] = "処理できません / Request refused"

    def __init__(self, message: str, **context: object) -> None:
        super().__init__(message)
        self.message = message
        self.context = context


class NotFound(DomainError):
    code = "not_found"
    title = "見つかりません / Not found"


class NotAuthenticated(DomainError):
    code = "not_authenticated"
    title = "認証が必要です / Authentication required"


class NotAllowed(DomainError):
    code = "not_allowed"
    title = "権限がありません / Not allowed"


class InvalidTransition(DomainError):
    code = "invalid_transition"
    title = "この状態ではできない操作です / Invalid transition"

    def __init__(self, *, entity: str, current: str, action: str) -> None:
        super().__init__(
            f"{entity} の状態 {current} では {action} できません "
            f"(cannot {action} a {entity} that is {current})",
            entity=entity,
            current=current,
            action=action,
        )


class Conflict(DomainError):
    code = "conflict"
    title = "競合しました / Conflict"


class CounterPaused(Conflict):
    code = "counter_paused"
    title = "この窓口は一時停止中です / Counter paused"


class TooSoon(Conflict):
    code = "too_soon"
    title = "まだできません / Too soon"


class NoNextStop(Conflict):
    code = "no_next_stop"
    title = "次の窓口がありません / No next stop"


class SlotFull(Conflict):
    code = "slot_full"
    title = "この枠は満員です / Slot full"


class WindowClosed(Conflict):
    code = "window_closed"
    title = "取り消せる時間を過ぎました / Too late to undo"


class IdempotencyMismatch(Conflict):
    code = "idempotency_key_reused"
    title = "同じ Idempotency-Key で別の内容です / Idempotency key reused"


class StaleLease(Conflict):
    code = "stale_lease"
    title = "リースが無効です / Lease no longer held"


class InvalidInput(DomainError):
    """Bad input, with field-level reasons: [{field, code, message}]."""

    code = "invalid_input"
    title = "入力に誤りがあります / Invalid input"

    def __init__(self, message: str, errors: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.errors = errors

    @classmethod
    def field(cls, field: str, code: str, message: str) -> "InvalidInput":
        return cls(message, [{"field": field, "code": code, "message": message}])


class ProblemsFound(InvalidInput):
    """Keyed values with error-level problems, sent without ``submit_with_problems``."""

    code = "problems_found"
    title = "入力に問題があります / The keyed values have problems"


class WarningsNotAcknowledged(InvalidInput):
    """An approval that does not name every open warning in ``acknowledge``."""

    code = "warnings_not_acknowledged"
    title = "警告の確認が必要です / Warnings must be acknowledged"


class OpenProblems(Conflict):
    """Approval refused: the application still has error-level problems (DOMAIN.md §7.1)."""

    code = "open_problems"
    title = "未解決の問題があります / The application has open problems"

    def __init__(self, message: str, errors: list[dict[str, str]]) -> None:
        super().__init__(message)
        self.errors = errors


class VendorStaffDirection(NotAllowed):
    """City staff may not direct the vendor's operators (偽装請負, DOMAIN.md §3.3)."""

    code = "vendor_staff_direction"
    title = "委託先従業員への指示はできません / Vendor staff take direction from their manager"


class RateLimited(DomainError):
    """Too many requests; ``retry_after_s`` is when the client may try again (Retry-After)."""

    code = "rate_limited"
    title = "リクエストが多すぎます / Too many requests"

    def __init__(self, message: str, *, retry_after_s: int = 1, **context: object) -> None:
        super().__init__(message, **context)
        self.retry_after_s = max(1, int(retry_after_s))


class Unavailable(DomainError):
    code = "unavailable"
    title = "一時的に利用できません / Temporarily unavailable"
