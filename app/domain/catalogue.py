"""The procedure catalogue: what each form asks for, how risky each field is, and its deadline.

Data in ``procedures/*.json`` (shared field groups in ``_fragments.json``), after DOMAIN.md §8.
"""

import ast
import json
from collections.abc import Callable, Iterator, Mapping
from functools import cache
from importlib.resources import files
from typing import Annotated, Literal, NamedTuple, cast

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.domain.errors import NotFound

# fmt: off
PROCEDURE_CODES = (  # CONTRACT.md, in its order
    "resident.move_in", "resident.move_within", "resident.move_out",
    "resident.household_change", "child_allowance.claim", "child_allowance.revision",
    "child_allowance.termination", "child_allowance.change_notice",
    "child_allowance.status_report", "child_rearing.claim", "child_rearing.status_report",
    "child_rearing.partial_suspension_exemption",
    # issue #18: the change notifications of both allowances
    "child_allowance.account_change", "child_rearing.revision", "child_rearing.suspension_notice",
    "child_rearing.pension_status", "child_rearing.loss_notice",
)
FieldType = Literal[
    "text", "name", "kana", "date", "wareki_date", "my_number", "postal_code", "municipality_code",
    "relationship", "bank_account", "account_name_kana", "integer", "boolean", "choice", "group",
    "resident_code", "residence_card_number", "address_code", "stay_period",
]
# fmt: on
DATE_TYPES = frozenset({"date", "wareki_date"})
# DOMAIN.md §7.19: always blind double-keyed, with birth dates, whatever the OCR confidence.
HIGH_RISK_TYPES = frozenset({"my_number", "bank_account"})


# ---- conditions: a small, safe subset of Python expressions, checked when the file loads:
# "a == 'x'", "a != 'x'", "a in ('x', 'y')", "a not in ('x', 'y')", "a", "not a", "and", "or",
# parentheses.
# A name is looked up in the group item first, then the form; a missing one counts as None.
Test = Callable[[Mapping[str, object]], bool]


class Condition(NamedTuple):
    text: str
    keys: frozenset[str]
    evaluate: Test  # (normalised values) -> bool


def _compile(node: ast.expr, keys: set[str], text: str) -> Test:
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v, keys, text) for v in node.values]
        combine = all if isinstance(node.op, ast.And) else any
        return lambda scope: combine(p(scope) for p in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _compile(node.operand, keys, text)
        return lambda scope: not inner(scope)
    if isinstance(node, ast.Name):
        keys.add(key := node.id)
        return lambda scope: scope.get(key) not in (None, False, "", [], {})
    if isinstance(node, ast.Compare) and len(node.ops) == 1 and isinstance(node.left, ast.Name):
        keys.add(key := node.left.id)
        op, right = node.ops[0], node.comparators[0]
        listed = isinstance(op, ast.In | ast.NotIn) and isinstance(right, ast.Tuple)
        items = cast(ast.Tuple, right).elts if listed else [right]
        if all(isinstance(item, ast.Constant) for item in items):
            options = [cast(ast.Constant, item).value for item in items]
            if isinstance(op, ast.In | ast.NotIn):
                inside = isinstance(op, ast.In)
                return lambda scope: (scope.get(key) in options) is inside
            if isinstance(op, ast.Eq | ast.NotEq):
                equal = isinstance(op, ast.Eq)
                return lambda scope: (scope.get(key) == options[0]) is equal
    raise ValueError(f"unsupported condition {text!r}")


@cache
def parse_condition(text: str) -> Condition:
    """Parse (and cache) a condition expression from the catalogue; ValueError if unsupported."""
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ValueError(f"cannot read condition {text!r}") from exc
    keys: set[str] = set()
    test = _compile(tree, keys, text)
    return Condition(text, frozenset(keys), test)


def _empty(value: object) -> bool:
    return not value  # keeps GET /procedures free of empty lists and zero counts


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Choice(_Model):
    code: str
    label_ja: str
    label_en: str
    # Choosing it says the person is under 支援措置 (DV protection): city staff only.
    support_measure: bool = Field(default=False, exclude_if=lambda v: not v)


class FieldSpec(_Model):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    label_ja: str
    label_en: str
    type: FieldType
    requirement: Literal["required", "conditional", "optional"]
    condition: str | None = None
    risk: Literal["high", "normal"] = "normal"
    vendor_visible: bool = True
    source: Literal["applicant", "staff"] = "applicant"
    choices: tuple[Choice, ...] = Field(default=(), exclude_if=_empty)
    allow_unknown: bool = False  # 不詳/impossible dates: 生年月日 and the like only (j80)
    not_after_today: bool = False
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    same_person_as: str | None = None  # account_name_kana: the claimant's フリガナ field
    fields: tuple["FieldSpec", ...] = Field(default=(), exclude_if=_empty)
    min_items: int = Field(default=0, exclude_if=_empty)
    max_items: int | None = None

    @model_validator(mode="after")
    def _consistent(self) -> "FieldSpec":
        if (self.requirement == "conditional") != (self.condition is not None):
            raise ValueError(f"{self.key}: a condition goes with requirement 'conditional'")
        if (self.type == "choice") != bool(self.choices):
            raise ValueError(f"{self.key}: choices go with type 'choice'")
        if (self.type == "group") != bool(self.fields):
            raise ValueError(f"{self.key}: fields go with type 'group'")
        if self.allow_unknown and self.type not in DATE_TYPES:
            raise ValueError(f"{self.key}: allow_unknown is for dates")
        is_birth_date = self.key == "birth_date" or self.key.endswith("_birth_date")
        must_be_high = self.type in HIGH_RISK_TYPES or (self.type in DATE_TYPES and is_birth_date)
        if must_be_high and self.risk != "high":
            raise ValueError(f"{self.key}: My Number, bank account and birth date are high risk")
        return self


class DaysAfter(_Model):
    """Due ``days`` after the date in field ``base`` (初日不算入: day 0 is the base day)."""

    kind: Literal["days_after"]
    base: str
    days: int


class AnnualWindow(_Model):
    """Due on the last day of a yearly filing window (現況届), in the year it is received."""

    kind: Literal["annual_window"]
    month: int = Field(ge=1, le=12)
    first_day: int = Field(ge=1, le=31)
    last_day: int = Field(ge=1, le=31)


class Earliest(_Model):
    """Due on the earliest of several clocks (特例転入: move + 14 and 転出予定日 + 30)."""

    kind: Literal["earliest"]
    rules: tuple["Rule", ...]


class Promptly(_Model):
    """Due 速やかに (promptly): the law sets no date, so there is no due date (the default
    service level orders it in the queue); the note and basis still say what the law asks."""

    kind: Literal["promptly"]


class Case(_Model):
    when: str | None = None  # no condition: always holds
    rule: "Rule"


class Cases(_Model):
    """The rule of the first case whose ``when`` holds."""

    kind: Literal["cases"]
    cases: tuple[Case, ...]


Rule = Annotated[
    DaysAfter | AnnualWindow | Earliest | Cases | Promptly, Field(discriminator="kind")
]


class Deadline(_Model):
    rule: Rule
    note_ja: str
    note_en: str
    basis: str


class Procedure(_Model):
    code: str
    name_ja: str
    name_en: str
    legal_basis: str
    fields: tuple[FieldSpec, ...]
    deadline: Deadline | None = None

    def field(self, key: str) -> FieldSpec | None:
        """The top-level field called ``key``, if any."""
        return next((f for f in self.fields if f.key == key), None)

    def walk(self) -> Iterator[tuple[str, FieldSpec]]:
        """Every field with its path pattern, e.g. ``members[].birth_date``."""
        stack = [(spec, "") for spec in reversed(self.fields)]
        while stack:
            spec, prefix = stack.pop()
            yield prefix + spec.key, spec
            stack.extend((sub, f"{prefix}{spec.key}[].") for sub in reversed(spec.fields))

    def deadline_bases(self) -> tuple[str, ...]:
        """The date fields the legal clock counts from (none without a clock)."""
        if self.deadline is None:
            return ()
        nodes = _rule_nodes(self.deadline.rule.model_dump(mode="json"))
        return tuple(dict.fromkeys(str(n["base"]) for n in nodes if "base" in n))

    def public_dict(self) -> dict[str, object]:
        """The JSON shape served by ``GET /procedures`` (empty lists and nulls left out)."""
        return self.model_dump(mode="json", exclude_none=True)

    @model_validator(mode="after")
    def _references(self) -> "Procedure":
        _check_level(self.code, self.fields, set())
        if self.deadline is not None:
            nodes = list(_rule_nodes(self.deadline.rule.model_dump(mode="json")))
            bases = {str(n["base"]) for n in nodes if "base" in n}
            whens = [parse_condition(str(n["when"])).keys for n in nodes if n.get("when")]
            for key in bases.union(*whens):
                spec = self.field(key)
                if spec is None or (key in bases and spec.type not in DATE_TYPES):
                    raise ValueError(f"{self.code}: deadline needs a top-level field {key!r}")
        return self


def _check_level(code: str, specs: tuple[FieldSpec, ...], outer: set[str]) -> None:
    keys = [s.key for s in specs]
    if len(keys) != len(set(keys)):
        raise ValueError(f"{code}: duplicate field keys in {keys}")
    visible = outer | set(keys)
    for spec in specs:
        refs = set(parse_condition(spec.condition).keys) if spec.condition else set()
        refs |= {spec.same_person_as} if spec.same_person_as else set()
        if refs - visible:
            raise ValueError(f"{code}.{spec.key}: refers to unknown {sorted(refs - visible)}")
        _check_level(code, spec.fields, visible)


def _rule_nodes(node: object) -> Iterator[dict[str, object]]:
    """Every rule and case of a dumped deadline rule, depth first."""
    if isinstance(node, dict):
        yield node
        node = list(node.values())
    if isinstance(node, list):
        for child in node:
            yield from _rule_nodes(child)


class Catalogue:
    """All procedures by code, in the contract's order."""

    def __init__(self, procedures: list[Procedure]) -> None:
        self._by_code = {p.code: p for p in procedures}
        self.codes = tuple(c for c in PROCEDURE_CODES if c in self._by_code)

    def find(self, code: str) -> Procedure | None:
        """The procedure, or None for an unknown code."""
        return self._by_code.get(code)

    def get(self, code: str) -> Procedure:
        """The procedure; raises NotFound for an unknown code."""
        if (procedure := self.find(code)) is None:
            raise NotFound(f"手続 {code} はありません (no such procedure)", procedure=code)
        return procedure

    def __iter__(self) -> Iterator[Procedure]:
        return (self._by_code[c] for c in self.codes)

    def public_list(self) -> list[dict[str, object]]:
        """Every procedure's public shape, in the contract's order."""
        return [p.public_dict() for p in self]


# ---- follow-ups of a move (``procedures/_follow_ups.json``): which other departments a move
# reaches, for whom, and by when. The rules that read them are in app.domain.follow_ups.


class AgeBand(_Model):
    """Aged ``min_age`` or more and under ``below_age`` on the move date (either may be open)."""

    kind: Literal["age"]
    min_age: int | None = None
    below_age: int | None = None


class SchoolYears(_Model):
    """From the school year after reaching ``from_age`` (none: from birth) to the 31 March
    after reaching ``to_age`` (学校教育法17条; 児童手当法4条)."""

    kind: Literal["school_years"]
    from_age: int | None = None
    to_age: int


class RecipientOf(_Model):
    """A person holding an approved claim of ``procedure`` with the municipality."""

    kind: Literal["recipient_of"]
    procedure: str


PersonRule = Annotated[AgeBand | SchoolYears | RecipientOf, Field(discriminator="kind")]


class FollowUpDue(_Model):
    """``days`` after the move date, or the deadline of ``procedure`` on values taken from the
    move (``set``: fixed values; ``dates``: each field from the first of the move's fields that
    holds a date). Both roll forward to an open day."""

    days: int | None = None
    procedure: str | None = None
    set: dict[str, str] = Field(default_factory=dict, exclude_if=_empty)
    dates: dict[str, tuple[str, ...]] = Field(default_factory=dict, exclude_if=_empty)

    @model_validator(mode="after")
    def _one_clock(self) -> "FollowUpDue":
        if (self.days is None) == (self.procedure is None):
            raise ValueError("a follow-up is due either days after the move or by a procedure")
        return self


class FollowUpSpec(_Model):
    kind: str = Field(pattern=r"^[a-z][a-z0-9_.]*$")
    name_ja: str
    name_en: str
    department: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    basis: str
    note_ja: str
    note_en: str
    after: tuple[str, ...]  # the moves (procedure codes) it follows
    when: str | None = None  # a condition on the move form (catalogue syntax)
    who: PersonRule | None = None  # None: every person moving
    due: FollowUpDue


class Department(_Model):
    code: str
    name_ja: str
    name_en: str


class FollowUpCatalogue(_Model):
    # The date each move counts from, by procedure: ages are taken on it, clocks run from it.
    moves: dict[str, str]
    departments: tuple[Department, ...]
    follow_ups: tuple[FollowUpSpec, ...]

    def department(self, code: str) -> Department:
        return next(d for d in self.departments if d.code == code)

    @model_validator(mode="after")
    def _references(self) -> "FollowUpCatalogue":
        kinds = [f.kind for f in self.follow_ups]
        if len(kinds) != len(set(kinds)):
            raise ValueError(f"duplicate follow-up kinds in {kinds}")
        departments = {d.code for d in self.departments}
        for spec in self.follow_ups:
            if spec.department not in departments:
                raise ValueError(f"{spec.kind}: unknown department {spec.department!r}")
            if unknown := set(spec.after) - set(self.moves):
                raise ValueError(f"{spec.kind}: follows no move {sorted(unknown)}")
            if spec.when is not None:
                parse_condition(spec.when)
        return self


def _expand(
    entries: list[dict[str, object]], fragments: dict[str, list[dict[str, object]]]
) -> list[dict[str, object]]:
    """Inline ``{"include": name, "override": {key: {...}}, "omit": [...]}`` entries."""
    out: list[dict[str, object]] = []
    for entry in entries:
        if "include" in entry:
            overrides = cast(dict[str, dict[str, object]], entry.get("override", {}))
            omit = cast(list[str], entry.get("omit", []))
            for field in fragments[str(entry["include"])]:
                if field["key"] not in omit:
                    out.append({**field, **overrides.get(str(field["key"]), {})})
        else:  # a field, perhaps a group whose own fields include fragments
            nested = cast(list[dict[str, object]], entry.get("fields", []))
            out.append({**entry, "fields": _expand(nested, fragments)} if nested else entry)
    return out


@cache
def load_catalogue() -> Catalogue:
    """Read and check every procedure file once; a broken file fails loudly at start-up."""
    folder = files("app.domain") / "procedures"
    fragments = json.loads((folder / "_fragments.json").read_text(encoding="utf-8"))
    procedures = []
    for item in sorted(folder.iterdir(), key=lambda t: t.name):
        if item.name.endswith(".json") and not item.name.startswith("_"):
            raw = json.loads(item.read_text(encoding="utf-8"))
            raw["fields"] = _expand(raw["fields"], fragments)
            procedures.append(Procedure.model_validate(raw))
    if (codes := {p.code for p in procedures}) != set(PROCEDURE_CODES):
        raise ValueError(f"catalogue mismatch: {sorted(codes ^ set(PROCEDURE_CODES))}")
    return Catalogue(procedures)


@cache
def load_follow_ups() -> FollowUpCatalogue:
    """The follow-ups of a move, checked against the procedures they name."""
    folder = files("app.domain") / "procedures"
    raw = json.loads((folder / "_follow_ups.json").read_text(encoding="utf-8"))
    follow_ups = FollowUpCatalogue.model_validate(raw)
    catalogue = load_catalogue()
    for spec in follow_ups.follow_ups:
        named = [*spec.after, spec.due.procedure]
        named += [spec.who.procedure] if isinstance(spec.who, RecipientOf) else []
        for code in named:
            if code is not None:
                catalogue.get(code)
        for code in spec.after:
            # The move date and the condition's fields must be the move form's own.
            keys = parse_condition(spec.when).keys if spec.when else frozenset()
            needed = keys | {follow_ups.moves[code]}
            missing = sorted(k for k in needed if catalogue.get(code).field(k) is None)
            if missing:
                raise ValueError(f"{spec.kind}: {code} has no field {missing}")
    return follow_ups
