"""Who sees what: one policy for every screen, read and export of application data. Pure: no I/O.

The rules (DOMAIN.md §3.5, §4.2, §4.6, §7 rules 10, 11 and 13):

- Vendor-employed people (vendor operators, the vendor's 管理責任者, the vendor's system) see an
  application only under an active contract that covers its procedure, never one of a person under
  支援措置, and only the fields the contract's allow-list names. 支援措置 fields and the other
  ``vendor_visible: false`` fields never reach them. On a screen they never see a full My Number:
  masked when the contract covers 個人番号利用事務 and names the field, hidden otherwise. Only a
  batch exported to the vendor's system under such a contract carries My Numbers in full
  (rule 11), and the download's access-log row says so.
- A vendor-employed person without a contract sees nothing.
- City staff see every field; My Numbers are masked unless the step needs the number itself: the
  settle step of a My Number mismatch (city staff only), and an explicit, logged reveal by a city
  operator or reviewer on ``GET /applications/{id}?reveal_my_number=true``.
"""

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from app.domain.applications import TaskKind, concrete_fields_of, editable, set_path
from app.domain.batches import ExportTerms, allowed_paths
from app.domain.catalogue import FieldSpec, Procedure
from app.domain.roles import Employer, Principal, Role
from app.domain.validators.codes import mask_my_number

# Roles whose holders work for the vendor whatever their token says about the employer. The
# vendor's 管理責任者 (``vendor_manager``) is named by value so the rule holds once that role
# exists.
VENDOR_ROLES = frozenset({Role.VENDOR.value, "vendor_manager"})
# City roles that may ask to see a stored My Number in full (logged): their work needs it.
MAY_REVEAL = frozenset({Role.OPERATOR, Role.REVIEWER})
MASKED_OCR = "********"


class Form(StrEnum):
    FULL = "full"
    MASKED = "masked"
    HIDDEN = "hidden"


class Purpose(StrEnum):
    """Why the data is shown; decides whether a My Number may be shown in full."""

    SCREEN = "screen"  # a task form, a read, the vendor's queue: masked by default
    REVEAL = "reveal"  # an explicit reveal on GET /applications/{id}
    SETTLE_MY_NUMBER = "settle_my_number"  # settling a mismatch of a keyed My Number
    EXPORT = "export"  # a batch for the vendor's system


@dataclass(frozen=True)
class ContractScope:
    """The part of a vendor contract that decides what its people may see."""

    procedures: frozenset[str]
    steps: frozenset[str]
    terms: ExportTerms


@dataclass(frozen=True)
class Viewer:
    """A caller as the policy sees them: role, employer and contract."""

    role: str
    vendor_side: bool
    contract: ContractScope | None = None

    @classmethod
    def of(cls, principal: Principal, contract: ContractScope | None = None) -> "Viewer":
        return cls(
            role=str(principal.role),
            vendor_side=is_vendor_side(principal),
            contract=contract if is_vendor_side(principal) else None,
        )


def is_vendor_side(principal: Principal) -> bool:
    """Whether the caller works for the vendor (employer, or a vendor-only role)."""
    return principal.employer is Employer.VENDOR or str(principal.role) in VENDOR_ROLES


def pattern_of(path: str) -> str:
    """``children[1].name`` → ``children[].name`` (the catalogue's pattern)."""
    return re.sub(r"\[\d+\]", "[]", path)


# ---- applications --------------------------------------------------------------------------


def support_measure_paths(procedure: Procedure, values: Mapping[str, Any]) -> list[str]:
    """Fields whose value says the person is under 支援措置 (a choice flagged in the catalogue)."""
    found = []
    for path, spec, value in concrete_fields_of(procedure, values, "support_measure"):
        if any(c.support_measure and c.code == value for c in spec.choices):
            found.append(path)
    return found


def is_protected(procedure: Procedure, values: Mapping[str, Any], flagged: bool) -> bool:
    """支援措置: flagged by the sender, or a field of the form says so (e.g. DV evacuee)."""
    return flagged or bool(support_measure_paths(procedure, values))


def application_refusal(viewer: Viewer, *, procedure: str, protected: bool) -> str | None:
    """Why this viewer may not see the application at all, or None when they may."""
    if not viewer.vendor_side:
        return None
    if viewer.contract is None:
        return "委託契約がないため閲覧できません (no vendor contract: nothing to see)"
    if protected:
        return "支援措置の対象者は市職員のみが扱います (支援措置: city staff only)"
    if procedure not in viewer.contract.procedures:
        return "この手続は委託契約の範囲外です (procedure outside the contract)"
    return None


def may_reveal(viewer: Viewer) -> bool:
    """Whether the viewer may ask to see stored My Numbers in full."""
    return not viewer.vendor_side and viewer.role in MAY_REVEAL


# ---- fields --------------------------------------------------------------------------------


def vendor_patterns(procedure: Procedure, viewer: Viewer) -> frozenset[str]:
    """The field patterns a vendor-employed viewer may see (the contract's allow-list rule)."""
    if viewer.contract is None:
        return frozenset()
    return allowed_paths(procedure, viewer.contract.terms)


def export_patterns(procedure: Procedure, terms: ExportTerms) -> frozenset[str]:
    """What a batch for the vendor's system may carry: the same rule, My Numbers in full."""
    return allowed_paths(procedure, terms)


def field_form(
    viewer: Viewer,
    spec: FieldSpec,
    pattern: str,
    purpose: Purpose,
    visible: frozenset[str] | None = None,
) -> Form:
    """How one field reaches this viewer. ``visible`` is ``vendor_patterns`` for vendor viewers."""
    if viewer.vendor_side:
        if visible is None or pattern not in visible:
            return Form.HIDDEN
        if spec.type == "my_number":
            return Form.FULL if purpose is Purpose.EXPORT else Form.MASKED
        return Form.FULL
    if spec.type == "my_number":
        full = purpose in (Purpose.REVEAL, Purpose.SETTLE_MY_NUMBER)
        return Form.FULL if full else Form.MASKED
    return Form.FULL


@dataclass
class Shown:
    """What a response carried: for its access-log row."""

    fields: set[str]
    my_number_shown: bool = False

    def detail(self) -> dict[str, Any]:
        return {"fields": sorted(self.fields), "my_number": self.my_number_shown}


class Lens:
    """The policy applied to one application for one viewer and purpose."""

    def __init__(
        self, viewer: Viewer, procedure: Procedure, purpose: Purpose = Purpose.SCREEN
    ) -> None:
        self.viewer = viewer
        self.procedure = procedure
        self.purpose = purpose
        self.visible = vendor_patterns(procedure, viewer) if viewer.vendor_side else None
        self.specs = dict(procedure.walk())
        self.shown = Shown(set())

    def form_of(self, path: str) -> Form:
        pattern = pattern_of(path)
        spec = self.specs.get(pattern)
        if spec is None:  # not a catalogue field: only city staff see it
            return Form.HIDDEN if self.viewer.vendor_side else Form.FULL
        return field_form(self.viewer, spec, pattern, self.purpose, self.visible)

    def may_see(self, path: str) -> bool:
        return self.form_of(path) is not Form.HIDDEN

    def _note(self, path: str, spec_type: str, form: Form) -> None:
        self.shown.fields.add(pattern_of(path))
        if spec_type == "my_number" and form is Form.FULL:
            self.shown.my_number_shown = True

    def values(self, values: Mapping[str, Any], *, as_edited: bool = False) -> dict[str, Any]:
        """The fields the viewer may see, each in its form; groups keep their row positions."""
        source = editable(self.procedure, values) if as_edited else values

        def level(
            specs: Iterable[FieldSpec], data: Mapping[str, Any], prefix: str, concrete: str
        ) -> dict[str, Any]:
            out: dict[str, Any] = {}
            for spec in specs:
                if spec.key not in data:
                    continue
                value = data[spec.key]
                pattern, path = prefix + spec.key, concrete + spec.key
                if spec.type == "group":
                    if not isinstance(value, list):
                        continue
                    rows = [
                        level(spec.fields, row, f"{pattern}[].", f"{path}[{i}].")
                        if isinstance(row, Mapping)
                        else {}
                        for i, row in enumerate(value)
                    ]
                    if not self.viewer.vendor_side or any(rows):
                        out[spec.key] = rows
                    continue
                out_value = self.value(path, spec, value)
                if out_value is not _HIDDEN:
                    out[spec.key] = out_value
            if not self.viewer.vendor_side:  # city staff also see keys the catalogue does not know
                out.update({k: v for k, v in data.items() if k not in {s.key for s in specs}})
            return out

        return level(self.procedure.fields, source, "", "")

    def value(self, path: str, spec: FieldSpec, value: Any) -> Any:
        form = field_form(self.viewer, spec, pattern_of(path), self.purpose, self.visible)
        if form is Form.HIDDEN:
            return _HIDDEN
        if value in (None, ""):
            return value
        if spec.type == "my_number" and form is Form.MASKED:
            self._note(path, spec.type, form)
            return mask_my_number(value) if isinstance(value, str) else MASKED_OCR
        self._note(path, spec.type, form)
        return value

    def picked(self, paths: Iterable[str], lookup: Callable[[str], Any]) -> dict[str, Any]:
        """``{path: value}`` for concrete paths (settle's two keyings), each in its form."""
        out: dict[str, Any] = {}
        for path in paths:
            spec = self.specs.get(pattern_of(path))
            raw = lookup(path)
            if spec is None:
                if not self.viewer.vendor_side:
                    out[path] = raw
                continue
            shown = self.value(path, spec, raw)
            if shown is not _HIDDEN:
                out[path] = shown
        return out

    def ocr(
        self,
        ocr: Mapping[str, Mapping[str, Any]] | None,
        *,
        blind: bool = False,
        only: Iterable[str] | None = None,
    ) -> dict[str, Any]:
        """OCR readings of visible fields; My Number text masked unless shown in full."""
        wanted = set(only) if only is not None else None
        view: dict[str, Any] = {}
        for path, read in (ocr or {}).items():
            if wanted is not None and path not in wanted:
                continue
            form = self.form_of(path)
            if form is Form.HIDDEN or not isinstance(read, Mapping):
                continue
            if blind:
                view[path] = {k: read[k] for k in ("image",) if k in read}
                continue
            spec = self.specs.get(pattern_of(path))
            is_number = spec is not None and spec.type == "my_number"
            if is_number and form is Form.MASKED and "value" in read:
                view[path] = {**read, "value": MASKED_OCR}
            else:
                view[path] = dict(read)
            if "value" in read:
                self._note(path, spec.type if spec else "text", form)
        return view

    def applicant(self, applicant: Mapping[str, Any]) -> dict[str, Any]:
        """The sender's applicant block: vendors see only the keys the contract names."""
        if not self.viewer.vendor_side:
            shown = dict(applicant)
        else:
            keys = self.viewer.contract.terms.applicant_keys if self.viewer.contract else ()
            shown = {k: applicant[k] for k in keys if k in applicant}
        self.shown.fields.update(f"applicant.{k}" for k in shown)
        return shown


class _Hidden:
    def __repr__(self) -> str:
        return "HIDDEN"


_HIDDEN: Any = _Hidden()


# ---- tasks ---------------------------------------------------------------------------------


def settle_purpose(procedure: Procedure, field_keys: Iterable[str]) -> Purpose:
    """Settling a mismatched My Number needs both numbers in full; anything else does not."""
    specs = dict(procedure.walk())
    for path in field_keys:
        spec = specs.get(pattern_of(path))
        if spec is not None and spec.type == "my_number":
            return Purpose.SETTLE_MY_NUMBER
    return Purpose.SCREEN


def city_only_fields(procedure: Procedure, field_keys: Iterable[str]) -> list[str]:
    """Fields that make a verify or settle task city-only whatever the contract: My Numbers in
    a settle (both keyings in full) and fields that never reach a vendor."""
    specs = dict(procedure.walk())
    out = []
    for path in field_keys:
        spec = specs.get(pattern_of(path))
        if spec is None or spec.type == "my_number" or not spec.vendor_visible:
            out.append(path)
    return out


def outsourced_kinds(contract: ContractScope | None) -> frozenset[TaskKind]:
    """The task kinds a vendor's operators may take in the central queue under the contract.

    Keying, blind verification and settling are the 補助的 work a contract may cover (DOMAIN.md
    §3.2); the task's fields decide the rest (``task_refusal``). The contract's ``steps`` say
    which steps go out as batches to the vendor's own system.
    """
    if contract is None:
        return frozenset()
    return frozenset({TaskKind.ENTRY, TaskKind.VERIFY, TaskKind.SETTLE})


def task_refusal(
    viewer: Viewer,
    procedure: Procedure,
    *,
    kind: TaskKind,
    field_keys: Iterable[str],
    protected: bool,
) -> str | None:
    """Why this viewer may not take or see this task (None: they may)."""
    why = application_refusal(viewer, procedure=procedure.code, protected=protected)
    if why or not viewer.vendor_side:
        return why
    if kind not in outsourced_kinds(viewer.contract):
        return "この工程は委託できません (step not outsourced)"
    visible = vendor_patterns(procedure, viewer)
    if any(pattern_of(p) not in visible for p in field_keys):
        return "委託契約で扱えない項目を含みます (fields outside the contract)"
    return None


def keyed_refusals(lens: Lens, submitted: Mapping[str, Any]) -> list[dict[str, str]]:
    """Keyed fields the viewer may not see (and so may not key): one problem each."""
    problems: list[dict[str, str]] = []

    def walk(data: Mapping[str, Any], prefix: str) -> None:
        for key, value in data.items():
            path = f"{prefix}{key}"
            spec = lens.specs.get(pattern_of(path))
            if spec is not None and spec.type == "group" and isinstance(value, list):
                for index, row in enumerate(value):
                    if isinstance(row, Mapping):
                        walk(row, f"{path}[{index}].")
                continue
            if not lens.may_see(path):
                problems.append(
                    {
                        "field": f"values.{path}",
                        "code": "not_allowed",
                        "message": "契約で認められていない項目です (field outside the contract)",
                    }
                )

    walk(submitted, "")
    return problems


def merge_keyed(
    lens: Lens, stored: Mapping[str, Any], submitted: Mapping[str, Any]
) -> dict[str, Any]:
    """A vendor's keyed form laid over the stored values: the fields they never saw stay."""
    import copy

    merged: dict[str, Any] = copy.deepcopy(editable(lens.procedure, stored))

    def walk(data: Mapping[str, Any], prefix: str) -> None:
        for key, value in data.items():
            path = f"{prefix}{key}"
            spec = lens.specs.get(pattern_of(path))
            if spec is not None and spec.type == "group" and isinstance(value, list):
                for index, row in enumerate(value):
                    if isinstance(row, Mapping):
                        walk(row, f"{path}[{index}].")
                continue
            set_path(merged, path, value)

    walk(submitted, "")
    return merged
