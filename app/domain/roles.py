"""Who the callers are (CONTRACT.md, Roles) and which employer they work for."""

from enum import StrEnum


class Role(StrEnum):
    KIOSK = "kiosk"
    DISPLAY = "display"
    COUNTER = "counter"
    OPERATOR = "operator"
    REVIEWER = "reviewer"
    SUPERVISOR = "supervisor"
    VENDOR = "vendor"
    INTAKE = "intake"
    CORE = "core"
    ADMIN = "admin"


class Employer(StrEnum):
    CITY = "city"
    VENDOR = "vendor"


# Roles whose holders are by definition city staff (DOMAIN.md §3.5: decisions stay with the city).
CITY_ONLY = frozenset({Role.REVIEWER, Role.SUPERVISOR, Role.ADMIN, Role.COUNTER})
# Devices (lobby screens, kiosks, counter terminals) and systems (intake, vendor, core) are no
# person; every other role is held by a person who signs in (app/services/people.py).
DEVICE_ROLES = frozenset({Role.KIOSK, Role.DISPLAY, Role.COUNTER})
SYSTEM_ROLES = frozenset({Role.VENDOR, Role.INTAKE, Role.CORE})


def is_person_role(role: Role) -> bool:
    return role not in DEVICE_ROLES and role not in SYSTEM_ROLES


# Roles bound to one office: a token of these kinds must name its office.
OFFICE_BOUND = frozenset({Role.KIOSK, Role.DISPLAY, Role.COUNTER})


def check_token_shape(role: Role, employer: Employer | None, office_id: str | None) -> str | None:
    """Why a token of this shape must not exist, or None when it may."""
    if role in CITY_ONLY and employer is Employer.VENDOR:
        return "vendor-employed staff cannot hold this role (審査・決裁は市職員のみ)"
    if role in OFFICE_BOUND and office_id is None:
        return f"a {role} token must name its office"
    if role is Role.OPERATOR and employer is None:
        return "an operator token must say who employs the operator (city or vendor)"
    return None


class Principal:
    """The caller behind a token: one municipality, optionally one office."""

    __slots__ = (
        "contract_id", "employer", "municipality_code", "name", "office_id", "person_id", "qualifications", "role", "token_id",
    )

    def __init__(
        self,
        *,
        token_id: str,
        municipality_code: str,
        role: Role,
        name: str,
        office_id: str | None = None,
        employer: Employer | None = None,
        qualifications: frozenset[str] | None = None,
        person_id: str | None = None,
        contract_id: str | None = None,
    ) -> None:
        self.token_id = token_id
        # The person behind the credential: four eyes, household locks and the access log are
        # per person, whichever of their tokens or sessions they use. Devices and systems are
        # their own "person".
        self.person_id = person_id or token_id
        # The vendor contract a vendor-employed caller works under (None: no contract).
        self.contract_id = contract_id
        self.municipality_code = municipality_code
        self.role = role
        self.name = name
        self.office_id = office_id
        self.employer = employer
        self.qualifications = qualifications

    def may_use_office(self, office_id: str) -> bool:
        """An office-bound token sees only its own office."""
        return self.office_id is None or self.office_id == office_id

    def __repr__(self) -> str:
        return f"Principal({self.role}, {self.municipality_code}, {self.token_id})"
