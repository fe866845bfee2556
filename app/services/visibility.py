"""The visibility policy (app/domain/visibility.py) with the caller's vendor contract loaded."""

from app.domain.batches import ExportTerms
from app.domain.roles import Principal
from app.domain.visibility import ContractScope, Viewer, is_vendor_side
from app.storage import batches as batch_store
from app.storage.tables import VendorContract
from app.storage.uow import UnitOfWork


def scope_of(contract: VendorContract) -> ContractScope:
    return ContractScope(
        procedures=frozenset(contract.procedures),
        steps=frozenset(contract.steps),
        terms=ExportTerms(tuple(contract.field_allow_list), contract.include_my_number),
    )


async def viewer_for(uow: UnitOfWork, principal: Principal) -> Viewer:
    """The caller as the policy sees them; a vendor-side caller carries its active contract."""
    if not is_vendor_side(principal):
        return Viewer.of(principal)
    contract_id = principal.contract_id or await batch_store.token_contract(
        uow.session, principal.token_id
    )
    contract = None
    if contract_id is not None:
        contract = await batch_store.find_contract(
            uow.session, contract_id, principal.municipality_code
        )
    if contract is None or not contract.is_active:
        return Viewer.of(principal, None)
    return Viewer.of(principal, scope_of(contract))
