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
    # The vendor's 管理責任者 (DOMAIN.md §3.3): a vendor-employed person, the only one who
    # assigns, qualifies or releases the vendor's operators' work.
    VENDOR_MANAGER = "vendor_manager"
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
# Roles whose holders are by definition the vendor's staff.
VENDOR_ONLY = frozenset({Role.VENDOR_MANAGER})


def check_token_shape(role: Role, employer: Employer | None, office_id: str | None) -> str | None:
    """Why a token of this shape must not exist, or None when it may."""
    if role in CITY_ONLY and employer is Employer.VENDOR:
        return "vendor-employed staff cannot hold this role (審査・決裁は市職員のみ)"
    if role in VENDOR_ONLY and employer is not Employer.VENDOR:
        return "the vendor's 管理責任者 is employed by the vendor (employer must be vendor)"
    if role in OFFICE_BOUND and office_id is None:
        return f"a {role} token must name its office"
    if role is Role.OPERATOR and employer is None:
        return "an operator token must say who employs the operator (city or vendor)"
    return None


def direction_refusal(director: "Principal", worker_employer: str | None) -> str | None:
    """Why ``director`` may not assign, qualify or release the work of someone employed by
    ``worker_employer``, or None when they may (DOMAIN.md §3.3, 偽装請負).

    Vendor operators take direction from the vendor's 管理責任者 only; the 管理責任者 directs
    the vendor's own staff, never the city's.
    """
    vendor_worker = worker_employer == Employer.VENDOR
    if director.role is Role.VENDOR_MANAGER:
        if not vendor_worker:
            return (
                "管理責任者は市職員に指示できません "
                "(the vendor's manager does not direct city staff)"
            )
        return None
    if vendor_worker:
        return (
            "委託先の従業員への指示は管理責任者を通してください（偽装請負の防止）"
            " (vendor staff take direction only from the vendor's 管理責任者)"
        )
    return None


class Principal:
    """The caller behind a token: one municipality, optionally one office."""

    __slots__ = (
        "contract_id",
        "employer",
        "municipality_code",
        "name",
        "office_id",
        "person_id",
        "qualifications",
        "role",
        "token_id",
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
