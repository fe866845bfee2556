"""Staff are people: who they are, how they sign in to the consoles, their sessions.

A person signs in with their staff number and password (argon2id) or through the city's SSO
proxy, and gets a session: a random secret in an HttpOnly cookie, stored here only as its hash,
ending at a fixed lifetime, after an idle spell, or when revoked (sign-out, deactivation). Tokens
of staff roles may name their person (api_token.staff_id): whichever of their tokens or sessions a
person uses, the four-eyes rule, household holds and the logs see the same person.

Failed sign-ins are written to the event log (action ``login_failed``, never the password) and
lock the person out for a while after too many in a row (DOMAIN.md §7.12).
"""

import asyncio
import hashlib
import hmac
import ipaddress
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.domain.catalogue import load_catalogue
from app.domain.errors import InvalidInput, NotAllowed, NotAuthenticated, NotFound, RateLimited
from app.domain.roles import Employer, Principal, Role, check_token_shape, is_person_role
from app.settings import AuthSettings
from app.storage import people as people_store
from app.storage.tables import ApiToken, Municipality, Office, Staff, StaffSession, VendorContract
from app.storage.uow import UnitOfWork

log = logging.getLogger(__name__)

PASSWORD_MIN = 12
PASSWORD_MAX = 1024
# argon2id with the RFC 9106 second recommended profile (t=3, 64 MiB, p=4): argon2-cffi's default.
_hasher = PasswordHasher()
# Verified against when the staff number is unknown, so a miss takes as long as a wrong password.
_DUMMY_HASH = _hasher.hash("madoguchi: no such person")
# Seconds between two writes of a session's last use (the idle timeout is no finer than this).
TOUCH_EVERY_S = 30

SIGN_IN_FAILED = "職員番号またはパスワードが違います (wrong staff number or password)"


def hash_secret(secret: str) -> str:
    # Session secrets carry 256 random bits: a fast hash is enough, nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def hash_password_blocking(password: str) -> str:
    """argon2id of a password; takes a tenth of a second of one core by design."""
    _check_password(password)
    return _hasher.hash(password)


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(hash_password_blocking, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    def verify() -> bool:
        try:
            return (
                _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
            )
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def _check_password(password: str) -> None:
    if len(password) < PASSWORD_MIN:
        raise InvalidInput.field(
            "password",
            "too_short",
            f"パスワードは{PASSWORD_MIN}文字以上にしてください "
            f"(at least {PASSWORD_MIN} characters)",
        )
    if len(password) > PASSWORD_MAX:
        raise InvalidInput.field(
            "password", "too_long", "パスワードが長すぎます (password too long)"
        )


# ---- the staff register -----------------------------------------------------------------------


def _invalid(field: str, code: str, message: str) -> InvalidInput:
    return InvalidInput.field(field, code, message)


async def create_staff(
    uow: UnitOfWork,
    municipality_code: str,
    *,
    staff_id: str,
    name: str,
    role: Role,
    employer: Employer,
    office_id: str | None = None,
    contract_id: str | None = None,
    password: str | None = None,
    sso_subject: str | None = None,
    qualifications: list[str] | None = None,
) -> Staff:
    """Register a person; the staff number is unique within the municipality."""
    if await uow.get(Municipality, municipality_code) is None:
        raise NotFound("団体が見つかりません (no such municipality)", code=municipality_code)
    if not staff_id.strip() or len(staff_id) > 32:
        raise _invalid(
            "staff_id", "invalid", "職員番号は1〜32文字です (staff number: 1 to 32 characters)"
        )
    if not name.strip():
        raise _invalid("name", "required", "氏名が必要です (a name is required)")
    if not is_person_role(role):
        raise _invalid(
            "role",
            "not_a_person_role",
            f"{role} は端末・システムの役割です "
            f"(role {role} is for devices and systems, not people)",
        )
    reason = check_token_shape(role, employer, None)
    if reason:
        raise _invalid("role", "invalid_staff_shape", reason)
    if office_id is not None:
        office = await uow.get(Office, office_id)
        if office is None or office.municipality_code != municipality_code:
            raise _invalid("office", "unknown_office", "庁舎が見つかりません (no such office)")
    if contract_id is not None:
        if employer is not Employer.VENDOR:
            raise _invalid(
                "contract",
                "city_staff_no_contract",
                "委託契約は委託事業者の職員だけに設定します "
                "(only vendor staff work under a contract)",
            )
        contract = await uow.get(VendorContract, contract_id)
        if contract is None or contract.municipality_code != municipality_code:
            raise _invalid(
                "contract", "unknown_contract", "委託契約が見つかりません (no such contract)"
            )
    if qualifications is not None:
        catalogue = load_catalogue()
        unknown = [code for code in qualifications if catalogue.find(code) is None]
        if unknown:
            raise _invalid(
                "qualification",
                "unknown_procedure",
                f"未登録の手続です (unknown procedures): {', '.join(unknown)}",
            )
    if await find_staff(uow, municipality_code, staff_id) is not None:
        raise _invalid(
            "staff_id", "duplicate", "この職員番号は登録済みです (staff number already registered)"
        )
    if (
        sso_subject is not None
        and await people_store.staff_by_sso_subject(uow.session, sso_subject) is not None
    ):
        raise _invalid(
            "sso_subject",
            "duplicate",
            "この SSO 利用者は登録済みです (SSO subject already registered)",
        )
    now = uow.now()
    staff = Staff(
        municipality_code=municipality_code,
        staff_id=staff_id,
        name=name,
        role=role,
        employer=employer,
        office_id=office_id,
        contract_id=contract_id,
        qualifications=qualifications,
        password_hash=await hash_password(password) if password is not None else None,
        sso_subject=sso_subject,
        created_at=now,
        updated_at=now,
    )
    uow.add(staff)
    await uow.flush()
    uow.log(
        entity="staff",
        entity_id=staff.id,
        action="create",
        municipality_code=municipality_code,
        data={
            "staff_id": staff_id,
            "role": role,
            "employer": employer,
            "office_id": office_id,
            "contract_id": contract_id,
            "password": password is not None,
            "sso": sso_subject is not None,
        },
    )
    return staff


async def find_staff(uow: UnitOfWork, municipality_code: str, staff_id: str) -> Staff | None:
    return await people_store.staff_by_number(uow.session, municipality_code, staff_id)


async def get_staff(uow: UnitOfWork, municipality_code: str, staff_id: str) -> Staff:
    staff = await find_staff(uow, municipality_code, staff_id)
    if staff is None:
        raise NotFound("職員が見つかりません (no such staff member)", staff_id=staff_id)
    return staff


async def set_password(
    uow: UnitOfWork, municipality_code: str, staff_id: str, password: str
) -> Staff:
    """A new password; the person's sessions end (whoever knew the old one is signed out)."""
    staff = await get_staff(uow, municipality_code, staff_id)
    staff.password_hash = await hash_password(password)
    staff.failed_logins, staff.locked_until, staff.updated_at = 0, None, uow.now()
    await revoke_sessions(uow, staff.id)
    uow.log(
        entity="staff", entity_id=staff.id, action="password", municipality_code=municipality_code
    )
    return staff


async def deactivate(uow: UnitOfWork, municipality_code: str, staff_id: str) -> Staff:
    """The person can no longer sign in; their sessions end and their tokens stop working."""
    staff = await get_staff(uow, municipality_code, staff_id)
    staff.is_active, staff.updated_at = False, uow.now()
    await revoke_sessions(uow, staff.id)
    uow.log(
        entity="staff", entity_id=staff.id, action="deactivate", municipality_code=municipality_code
    )
    return staff


async def revoke_sessions(uow: UnitOfWork, person_id: str) -> None:
    await people_store.revoke_sessions(uow.session, person_id, uow.now())


async def link_token(
    uow: UnitOfWork, token: ApiToken, municipality_code: str, staff_id: str
) -> Staff:
    """Make a token one of the person's credentials: same role, same person."""
    staff = await get_staff(uow, municipality_code, staff_id)
    if not staff.is_active:
        raise _invalid("staff", "inactive", "この職員は無効です (this staff member is deactivated)")
    if token.role != staff.role:
        raise _invalid(
            "role",
            "role_mismatch",
            f"トークンの役割 {token.role} と職員の役割 {staff.role} が違います "
            "(token and person differ in role)",
        )
    token.staff_id = staff.id
    token.employer = staff.employer
    token.contract_id = staff.contract_id
    uow.log(
        entity="api_token",
        entity_id=token.id,
        action="link_staff",
        municipality_code=municipality_code,
        data={"staff": staff.id},
    )
    return staff


def principal_of(staff: Staff, credential_id: str) -> Principal:
    """The person behind a session or a linked token: their role, employer, qualifications."""
    return Principal(
        token_id=credential_id,
        municipality_code=staff.municipality_code,
        role=Role(staff.role),
        name=staff.name,
        office_id=staff.office_id,
        employer=Employer(staff.employer),
        qualifications=frozenset(staff.qualifications)
        if staff.qualifications is not None
        else None,
        person_id=staff.id,
        contract_id=staff.contract_id,
    )


# ---- signing in and out -----------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    staff: Staff
    session: StaffSession
    secret: str


async def _failed(
    uow: UnitOfWork, municipality_code: str, staff: Staff | None, staff_id: str, reason: str
) -> None:
    """Record a failed sign-in and commit it: the request itself is refused afterwards."""
    log.warning("failed sign-in: municipality %s, reason %s", municipality_code, reason)
    uow.log(
        entity="staff",
        entity_id=staff.id if staff else f"unknown:{staff_id[:48]}",
        action="login_failed",
        municipality_code=municipality_code,
        data={"staff_id": staff_id[:64], "reason": reason},
    )
    await uow.commit()


async def login(
    uow: UnitOfWork, settings: AuthSettings, *, municipality_code: str, staff_id: str, password: str
) -> SignedIn:
    """Check the password and open a session; failures are logged and count towards a lockout."""
    if await uow.get(Municipality, municipality_code) is None:
        await verify_password(None, password)
        log.warning("failed sign-in: unknown municipality")
        raise NotAuthenticated(SIGN_IN_FAILED)
    staff = await people_store.staff_by_number(uow.session, municipality_code, staff_id, lock=True)
    now = uow.now()
    if staff is None:
        await verify_password(None, password)
        await _failed(uow, municipality_code, None, staff_id, "unknown_staff")
        raise NotAuthenticated(SIGN_IN_FAILED)
    if staff.locked_until is not None and staff.locked_until > now:
        await _failed(uow, municipality_code, staff, staff_id, "locked")
        retry_s = int((staff.locked_until - now).total_seconds()) + 1
        raise RateLimited(
            f"サインインの失敗が続いたため、{(retry_s + 59) // 60}分間サインインできません "
            f"(too many failed sign-ins: locked for {retry_s} s)",
            retry_after_s=retry_s,
        )
    if not await verify_password(staff.password_hash, password) or not staff.is_active:
        staff.failed_logins += 1
        reason = "inactive" if staff.is_active is False else "wrong_password"
        if staff.failed_logins >= settings.max_failures:
            staff.locked_until = now + timedelta(seconds=settings.lockout_s)
            staff.failed_logins = 0
            reason += "_locked"
        await _failed(uow, municipality_code, staff, staff_id, reason)
        raise NotAuthenticated(SIGN_IN_FAILED)
    staff.failed_logins, staff.locked_until = 0, None
    return await _open_session(uow, settings, staff, "password")


def proxy_is_trusted(settings: AuthSettings, client_host: str | None, secret: str | None) -> bool:
    """The SSO header counts only with the proxy's shared secret or from a listed proxy address."""
    if (
        settings.sso_secret
        and secret is not None
        and hmac.compare_digest(secret.encode(), settings.sso_secret.encode())
    ):
        return True
    if client_host and settings.sso_trusted_proxies:
        try:
            address = ipaddress.ip_address(client_host)
        except ValueError:
            return False
        return any(
            address in ipaddress.ip_network(net, strict=False)
            for net in settings.sso_trusted_proxies
        )
    return False


async def sso_login(uow: UnitOfWork, settings: AuthSettings, subject: str) -> SignedIn:
    staff = await people_store.staff_by_sso_subject(uow.session, subject)
    if staff is None or not staff.is_active:
        if staff is not None:
            await _failed(uow, staff.municipality_code, staff, staff.staff_id, "sso_inactive")
        else:
            log.warning("failed SSO sign-in: unknown subject")
        raise NotAuthenticated(
            "SSO の利用者が登録されていません (no active staff member for this SSO user)"
        )
    return await _open_session(uow, settings, staff, "sso")


async def _open_session(
    uow: UnitOfWork, settings: AuthSettings, staff: Staff, method: str
) -> SignedIn:
    now = uow.now()
    secret = secrets.token_urlsafe(32)
    session = StaffSession(
        municipality_code=staff.municipality_code,
        staff_id=staff.id,
        session_hash=hash_secret(secret),
        csrf_token=secrets.token_urlsafe(32),
        method=method,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(seconds=settings.session_ttl_s),
    )
    uow.add(session)
    await uow.flush()
    uow.principal = principal_of(staff, session.id)
    uow.log(
        entity="staff",
        entity_id=staff.id,
        action="login",
        municipality_code=staff.municipality_code,
        data={"method": method, "session": session.id},
    )
    return SignedIn(staff, session, secret)


async def find_session(
    uow: UnitOfWork, settings: AuthSettings, secret: str
) -> tuple[StaffSession, Staff] | None:
    """The live session this cookie names, with its person; None when ended or unknown."""
    row = await people_store.session_with_person(uow.session, hash_secret(secret))
    if row is None:
        return None
    session, staff = row
    now = uow.now()
    if (
        session.revoked_at is not None
        or session.expires_at <= now
        or session.last_seen_at + timedelta(seconds=settings.idle_timeout_s) <= now
        or not staff.is_active
    ):
        return None
    if (now - session.last_seen_at).total_seconds() >= TOUCH_EVERY_S:
        session.last_seen_at = now
    return session, staff


async def session_principal(
    uow: UnitOfWork, settings: AuthSettings, secret: str, *, unsafe_method: bool, csrf: str | None
) -> Principal:
    found = await find_session(uow, settings, secret)
    if found is None:
        raise NotAuthenticated(
            "サインインが切れました。もう一度サインインしてください (session ended; sign in again)"
        )
    session, staff = found
    if unsafe_method and (
        csrf is None or not hmac.compare_digest(csrf.encode(), session.csrf_token.encode())
    ):
        raise NotAllowed("CSRF トークンがありません (X-Madoguchi-CSRF header missing or wrong)")
    principal = principal_of(staff, session.id)
    uow.principal = principal
    return principal


async def logout(uow: UnitOfWork, session_id: str) -> None:
    session = await uow.get(StaffSession, session_id)
    if session is None or session.revoked_at is not None:
        return
    session.revoked_at = uow.now()
    uow.log(
        entity="staff",
        entity_id=session.staff_id,
        action="logout",
        municipality_code=session.municipality_code,
        data={"session": session_id},
    )


async def session_of(uow: UnitOfWork, session_id: str) -> StaffSession | None:
    return await uow.get(StaffSession, session_id)


def staff_token_principal(staff: Staff | None, token: ApiToken) -> Principal:
    """The principal of a token linked to a person: refused once the person is deactivated."""
    if staff is None or not staff.is_active:
        raise NotAuthenticated("この職員は無効です (the token's staff member is deactivated)")
    principal = principal_of(staff, token.id)
    principal.role = Role(token.role)
    return principal
