"""Vendor batches: their lifecycle, lease fencing, and what an item may carry out. Pure: no I/O.

A batch is sealed (``ready``), leased by its vendor, and closed by an acknowledgement; a lease
that runs out makes it ``ready`` again, and city staff may recall it at any time before it is
closed. Only fields the contract allows leave the city; 支援措置 persons never do, and My Numbers
only when the contract covers 個人番号利用事務 (DOMAIN.md §4.2, §4.6, §7.11, §7.13, §7.17).
"""

import re
import secrets
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.catalogue import DATE_TYPES, Catalogue, FieldSpec, Procedure
from app.domain.errors import InvalidTransition
from app.domain.validators.cp932 import CODEC, cp932_offenders

FORMATS = ("jsonl", "csv")
ENCODINGS = ("utf-8", "utf-8-sig", "cp932")
# The steps this version seals into batches; verification stays in the central queue.
SEALED_STEPS = ("entry",)
APPLICANT_PREFIX = "applicant."


class BatchState(StrEnum):
    READY = "ready"
    LEASED = "leased"
    ACKNOWLEDGED = "acknowledged"
    RECALLED = "recalled"


class BatchAction(StrEnum):
    LEASE = "lease"
    RENEW = "renew"
    DOWNLOAD = "download"
    SUBMIT_RESULTS = "submit_results"
    EXPIRE = "expire"
    ACKNOWLEDGE = "acknowledge"
    RECALL = "recall"


# The whole lifecycle; anything not listed is refused with 409.
TRANSITIONS: dict[tuple[BatchState, BatchAction], BatchState] = {
    (BatchState.READY, BatchAction.LEASE): BatchState.LEASED,
    (BatchState.READY, BatchAction.RECALL): BatchState.RECALLED,
    (BatchState.LEASED, BatchAction.RENEW): BatchState.LEASED,
    (BatchState.LEASED, BatchAction.DOWNLOAD): BatchState.LEASED,
    (BatchState.LEASED, BatchAction.SUBMIT_RESULTS): BatchState.LEASED,
    (BatchState.LEASED, BatchAction.EXPIRE): BatchState.READY,
    (BatchState.LEASED, BatchAction.ACKNOWLEDGE): BatchState.ACKNOWLEDGED,
    # City staff may pull work back from a vendor at any time; the holder's token goes stale.
    (BatchState.LEASED, BatchAction.RECALL): BatchState.RECALLED,
}
CLOSED = frozenset({BatchState.ACKNOWLEDGED, BatchState.RECALLED})
# Actions only the current lease holder may take (the Lease-Token header).
UNDER_LEASE = frozenset(
    {BatchAction.RENEW, BatchAction.DOWNLOAD, BatchAction.SUBMIT_RESULTS, BatchAction.ACKNOWLEDGE}
)


def next_state(current: BatchState, action: BatchAction) -> BatchState:
    """Where a batch goes after ``action``; raises InvalidTransition if the rules forbid it."""
    try:
        return TRANSITIONS[(current, action)]
    except KeyError:
        raise InvalidTransition(entity="vendor_batch", current=current, action=action) from None


def allowed_actions(current: BatchState) -> frozenset[BatchAction]:
    return frozenset(action for (state, action) in TRANSITIONS if state == current)


def effective_state(
    stored: BatchState, lease_expires_at: datetime | None, now: datetime
) -> BatchState:
    """A lease that has run out holds nothing: the batch is ready for a new lease."""
    if stored is BatchState.LEASED and (lease_expires_at is None or lease_expires_at <= now):
        return next_state(stored, BatchAction.EXPIRE)
    return stored


def lease_refusal(
    *,
    state: BatchState,
    lease_token: str | None,
    lease_expires_at: datetime | None,
    presented: str | None,
    now: datetime,
) -> str | None:
    """Why a call presenting ``presented`` does not hold the batch's lease, or None if it does.

    Fencing: every lease has a fresh token, so a holder whose lease ran out (and was perhaps
    taken by someone else) is refused even if it retries with its old token.
    """
    if not presented:
        return "Lease-Token ヘッダーが必要です (the Lease-Token header is required)"
    if effective_state(state, lease_expires_at, now) is not BatchState.LEASED:
        return "リースが切れています (the lease has expired; lease the batch again)"
    if not secrets.compare_digest((lease_token or "").encode(), presented.encode()):
        return "このリースは無効です (stale lease token: the batch was leased again)"
    return None


# ---- what may leave ---------------------------------------------------------------------


@dataclass(frozen=True)
class ExportTerms:
    """The part of a contract that decides an item's content."""

    allow_list: tuple[str, ...]
    include_my_number: bool

    def may_leave(self, spec: FieldSpec) -> bool:
        """My Numbers only under a 個人番号利用事務 contract; other hidden fields never."""
        if spec.type == "my_number":
            return self.include_my_number
        return spec.vendor_visible

    @property
    def applicant_keys(self) -> tuple[str, ...]:
        return tuple(
            e[len(APPLICANT_PREFIX) :] for e in self.allow_list if e.startswith(APPLICANT_PREFIX)
        )


def allowed_paths(procedure: Procedure, terms: ExportTerms) -> frozenset[str]:
    """Field patterns (``children[].name``) an item of this procedure may carry.

    An allow-list entry names a field by its catalogue pattern; naming a group allows each of
    its fields that may leave, except My Numbers: each must be named (only the numbers the
    entrusted work needs, DOMAIN.md §4.2).
    """
    listed = set(terms.allow_list)
    found: set[str] = set()

    def walk(specs: tuple[FieldSpec, ...], prefix: str, inherited: bool) -> None:
        for spec in specs:
            path = prefix + spec.key
            named = inherited or path in listed
            if not terms.may_leave(spec):
                continue
            if spec.type == "group":
                walk(spec.fields, f"{path}[].", named)
            elif path in listed or (named and spec.type != "my_number"):
                found.add(path)

    walk(procedure.fields, "", False)
    return frozenset(found)


def allow_list_problems(
    procedures: Sequence[Procedure], allow_list: Sequence[str], include_my_number: bool
) -> list[dict[str, str]]:
    """Entries that name no field of the contract's procedures, or a field that never leaves."""
    problems = []
    for index, entry in enumerate(allow_list):
        if entry.startswith(APPLICANT_PREFIX) and entry[len(APPLICANT_PREFIX) :].isidentifier():
            continue
        specs = [spec for p in procedures for path, spec in p.walk() if path == entry]
        field = f"field_allow_list[{index}]"
        if not specs:
            problems.append(
                {
                    "field": field,
                    "code": "unknown_field",
                    "message": f"{entry} はこの契約の手続にない項目です (no such field)",
                }
            )
        elif any(s.type == "my_number" for s in specs) and not include_my_number:
            problems.append(
                {
                    "field": field,
                    "code": "my_number_not_covered",
                    "message": "個人番号は契約で認められていません "
                    "(the contract excludes My Numbers)",
                }
            )
        elif all(not s.vendor_visible and s.type != "my_number" for s in specs):
            problems.append(
                {
                    "field": field,
                    "code": "city_only_field",
                    "message": f"{entry} は委託先に出せません (this field stays with the city)",
                }
            )
    return problems


@dataclass(frozen=True)
class ContractTerms:
    """What a vendor contract lets go out, as far as it can be wrong."""

    procedures: Sequence[str]
    steps: Sequence[str]
    field_allow_list: Sequence[str]
    include_my_number: bool = False
    legal_basis: str | None = None
    encodings: Sequence[str] = ("utf-8",)


def contract_problems(catalogue: Catalogue, terms: ContractTerms) -> list[dict[str, str]]:
    """Everything wrong with a vendor contract's terms (DOMAIN.md §4.2): procedures that do not
    exist, steps this version does not seal, unsupported encodings, allow-list entries that
    name no field or one that never leaves, and My Numbers without a legal basis.
    The only check of a contract's terms: creating and changing a contract both use it."""
    procedures, include_my_number = terms.procedures, terms.include_my_number
    problems = (
        [
            {
                "field": f"procedures[{i}]",
                "code": "unknown_procedure",
                "message": f"手続 {p} はありません (no such procedure)",
            }
            for i, p in enumerate(procedures)
            if catalogue.find(p) is None
        ]
        + [
            {
                "field": f"steps[{i}]",
                "code": "not_outsourceable",
                "message": f"{s} は委託バッチにできません (only entry is sealed into batches)",
            }
            for i, s in enumerate(terms.steps)
            if s not in SEALED_STEPS
        ]
        + [
            {
                "field": f"encodings[{i}]",
                "code": "unknown_encoding",
                "message": f"未対応の文字コード {e} (unsupported)",
            }
            for i, e in enumerate(terms.encodings)
            if e not in ENCODINGS
        ]
    )
    known = [found for p in procedures if (found := catalogue.find(p)) is not None]
    problems += allow_list_problems(known, terms.field_allow_list, include_my_number)
    if include_my_number and not terms.legal_basis:
        problems.append(
            {
                "field": "legal_basis",
                "code": "required",
                "message": "個人番号を含めるには根拠が必要です "
                "(legal basis required for My Number)",
            }
        )
    return problems


def _outgoing(spec: FieldSpec, value: Any) -> Any:
    """A value as the vendor keys it: dates as written, everything else as stored."""
    if isinstance(value, dict):
        return value.get("written") or value.get("iso") if spec.type in DATE_TYPES else dict(value)
    return value


# (key, spec, sub-plan or None) of every allowed field and of every group holding one.
_Plan = tuple[tuple[str, FieldSpec, "_Plan | None"], ...]
_plans: dict[tuple[str, frozenset[str]], _Plan] = {}


def _plan(procedure: Procedure, allowed: frozenset[str]) -> _Plan:
    def level(specs: tuple[FieldSpec, ...], prefix: str) -> _Plan:
        steps: list[tuple[str, FieldSpec, _Plan | None]] = []
        for spec in specs:
            path = prefix + spec.key
            if spec.type == "group":
                inner = level(spec.fields, f"{path}[].")
                if inner:
                    steps.append((spec.key, spec, inner))
            elif path in allowed:
                steps.append((spec.key, spec, None))
        return tuple(steps)

    key = (procedure.code, allowed)
    if key not in _plans:
        _plans[key] = level(procedure.fields, "")
    return _plans[key]


def vendor_values(
    procedure: Procedure, values: Mapping[str, Any], allowed: frozenset[str]
) -> dict[str, Any]:
    """The allowed fields of ``values``, in catalogue order; group rows keep their positions."""

    def level(plan: _Plan, data: Mapping[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, spec, inner in plan:
            value = data.get(key)
            if inner is not None:
                if isinstance(value, list):
                    out[key] = [level(inner, row) if isinstance(row, dict) else {} for row in value]
            elif value is not None and value != "":
                out[key] = _outgoing(spec, value)
        return out

    return level(_plan(procedure, allowed), values)


def _pattern(concrete: str) -> str:
    return re.sub(r"\[\d+\]", "[]", concrete)


def vendor_item(
    *,
    item_id: str,
    procedure: Procedure,
    terms: ExportTerms,
    values: Mapping[str, Any],
    applicant: Mapping[str, Any],
    ocr: Mapping[str, Mapping[str, Any]] | None,
    due_on: str | None,
    allowed: frozenset[str] | None = None,
) -> dict[str, Any]:
    """Everything the vendor receives for one entry task: nothing outside the contract.

    ``allowed`` is ``allowed_paths(procedure, terms)``, passed in when sealing many items.
    """
    allowed = allowed_paths(procedure, terms) if allowed is None else allowed
    readings = {
        path: {k: read[k] for k in ("value", "confidence", "unreadable", "image") if k in read}
        for path, read in sorted((ocr or {}).items())
        if _pattern(path) in allowed and isinstance(read, Mapping)
    }
    return {
        "item": item_id,
        "procedure": procedure.code,
        "due_on": due_on,
        "applicant": {
            k: applicant[k] for k in terms.applicant_keys if applicant.get(k) not in (None, "")
        },
        "values": vendor_values(procedure, values, allowed),
        "ocr": readings,
    }


def my_number_paths(procedure: Procedure) -> frozenset[str]:
    return frozenset(p for p, s in procedure.walk() if s.type == "my_number")


def carries_my_number(procedure: Procedure, item: Mapping[str, Any]) -> bool:
    """Whether an item holds a My Number (the access log says so for every download)."""
    numbers = my_number_paths(procedure)

    def walk(node: Any, prefix: str) -> Iterator[str]:
        if isinstance(node, dict):
            for key, value in node.items():
                if isinstance(value, list):
                    for row in value:
                        yield from walk(row, f"{prefix}{key}[].")
                else:
                    yield prefix + key

    return any(path in numbers for path in walk(item.get("values") or {}, ""))


# ---- CP932 pre-flight -------------------------------------------------------------------

_PRIVATE_USE = re.compile("[\ue000-\uf8ff]")


def _safe(text: str) -> bool:
    if text.isascii():
        return True
    try:
        return text.encode(CODEC).decode(CODEC) == text and not _PRIVATE_USE.search(text)
    except UnicodeEncodeError:
        return False


def _strings(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string of an item with its path, member names included (they become CSV headers)."""
    if isinstance(node, str):
        yield path, node
    elif isinstance(node, dict):
        for key, value in node.items():
            inner = f"{path}.{key}" if path else str(key)
            yield inner, str(key)
            yield from _strings(value, inner)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _strings(value, f"{path}[{index}]")


def cp932_problems(item: Mapping[str, Any], text: str | None = None) -> list[dict[str, Any]]:
    """Every value of an item that a CP932 file would lose or change, with the characters.

    Such an item stays home for internal keying; nothing is ever replaced by ``?`` or a look-alike.
    ``text``, the item's JSON line, lets the common case (nothing to find) be one encode.
    """
    if text is not None and _safe(text):
        return []
    problems = []
    for path, text in _strings(item, ""):
        if not _safe(text):
            problems.append(
                {
                    "field": path,
                    "chars": [
                        {"char": o.char, "codepoint": o.codepoint, "reason": o.reason}
                        for o in cp932_offenders(text)
                    ],
                }
            )
    return problems


# ---- results ----------------------------------------------------------------------------


def result_problems(
    procedure: Procedure, allowed: frozenset[str], values: object
) -> list[dict[str, str]]:
    """Why a vendor's keyed values cannot be taken: a field outside the contract, or bad shape."""
    if not isinstance(values, Mapping):
        return [
            {
                "field": "values",
                "code": "invalid",
                "message": "values は JSON オブジェクトです (an object)",
            }
        ]
    problems: list[dict[str, str]] = []

    def level(
        specs: tuple[FieldSpec, ...], data: Mapping[str, Any], prefix: str, where: str
    ) -> None:
        by_key = {s.key: s for s in specs}
        for key, value in data.items():
            spec = by_key.get(str(key))
            path, field = prefix + str(key), f"{where}.{key}"
            if (
                spec is None
                or (spec.type != "group" and path not in allowed)
                or (spec.type == "group" and not any(p.startswith(f"{path}[].") for p in allowed))
            ):
                problems.append(
                    {
                        "field": field,
                        "code": "not_allowed",
                        "message": "契約で認められていない項目です (field outside the contract)",
                    }
                )
            elif spec.type == "group":
                if not isinstance(value, list) or not all(
                    isinstance(row, Mapping) for row in value
                ):
                    problems.append(
                        {
                            "field": field,
                            "code": "invalid",
                            "message": "行の配列です (a list of objects)",
                        }
                    )
                    continue
                for index, row in enumerate(value):
                    level(spec.fields, row, f"{path}[].", f"{field}[{index}]")

    level(procedure.fields, values, "", "values")
    return problems


def merge_result(
    procedure: Procedure, form: dict[str, Any], keyed: Mapping[str, Any]
) -> dict[str, Any]:
    """The operator's form with the vendor's keyed values laid over it, field by field.

    Rows of a group are matched by position and rows the vendor did not send stay as they
    were, so a field the vendor never saw (a My Number, say) stays with its own person.
    """

    def level(
        specs: tuple[FieldSpec, ...], current: dict[str, Any], incoming: Mapping[str, Any]
    ) -> dict[str, Any]:
        by_key = {s.key: s for s in specs}
        merged = dict(current)
        for key, value in incoming.items():
            spec = by_key[key]
            if spec.type == "group":
                rows = list(merged.get(key) or [])
                for index, row in enumerate(value):
                    if index < len(rows) and isinstance(rows[index], dict):
                        rows[index] = level(spec.fields, rows[index], row)
                    else:
                        rows.append(dict(row))
                merged[key] = rows
            else:
                merged[key] = value
        return merged

    return level(procedure.fields, form, keyed)
