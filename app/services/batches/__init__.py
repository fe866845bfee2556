"""Vendor batches: contracts' terms, sealing entry work, the vendor's lease and download,
results, close.

DOMAIN.md §3.5 (what a vendor may do), §4.2 and §7.11 (My Numbers only under the contract, legal
basis recorded per batch), §4.6 and §7.13 (支援措置 persons never leave), §5.5 and §7.17 (CP932
pre-flight), §7.12 (every download and upload in the access log with its contract).

One module per job: contracts, sealing, delivery (lease, download, close) and results.
"""

from app.services.batches.contracts import (
    bind_token,
    check_terms,
    create_contract,
    get_contract,
    held_back,
    issue_token,
    list_contracts,
    terms_of,
    update_contract,
    vendor_contract,
)
from app.services.batches.delivery import (
    Download,
    acknowledge,
    held_state,
    lease,
    list_batches,
    open_download,
    recall,
    record_download,
    state_of,
    stream,
    vendor_batch,
)
from app.services.batches.results import RESULT_GROUP, check_results_allowed, result_lines
from app.services.batches.sealing import SealReport, seal, seal_due

__all__ = [
    "RESULT_GROUP",
    "Download",
    "SealReport",
    "acknowledge",
    "bind_token",
    "check_results_allowed",
    "check_terms",
    "create_contract",
    "get_contract",
    "held_back",
    "held_state",
    "issue_token",
    "lease",
    "list_batches",
    "list_contracts",
    "open_download",
    "recall",
    "record_download",
    "result_lines",
    "seal",
    "seal_due",
    "state_of",
    "stream",
    "terms_of",
    "update_contract",
    "vendor_batch",
    "vendor_contract",
]
