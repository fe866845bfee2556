"""The access log: who saw which personal data, when, and whether a My Number was shown."""

from typing import Any

from app.domain.roles import Principal
from app.storage.uow import UnitOfWork


def record_access(
    uow: UnitOfWork,
    principal: Principal,
    *,
    action: str,
    entity: str,
    entity_id: str,
    my_number_shown: bool = False,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write one access-log row in the same transaction as the read it records.

    ``detail.terminal`` names the credential the request came with: a device's token, or the
    console session (or API token) of the person (標準仕様書 10.2: 端末).
    """
    uow.record_access(
        {
            "municipality_code": principal.municipality_code,
            "at": uow.now(),
            "actor_id": principal.person_id,
            "actor_role": principal.role,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "my_number_shown": my_number_shown,
            "detail": {**(detail or {}), "terminal": principal.token_id},
        }
    )
