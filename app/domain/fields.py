"""Field checks of an application against its procedure (DOMAIN.md §5, §7.6–§7.19).

Nothing here raises on bad input: a paper form is stored with its problems, and a reviewer
decides. A problem is ``{"field", "code", "message"}``; ``field`` is a path such as
``children[1].birth_date`` (0-based). A value that cannot be normalised is kept exactly as
written; codes and messages are in ``app.domain.validators``. Normalised shapes per type:

- name, text: the captured string, unchanged (never NFC/NFKC: DOMAIN.md §7.15)
- kana: full-width katakana; account_name_kana: 全銀 half-width kana
- date, wareki_date: ``{"iso", "written", "uncertain", "earliest", "latest"}`` (always)
- my_number, postal_code, municipality_code: ASCII digits (12 / 7 / 6)
- relationship: the standard 続柄; integer: int; boolean: bool; choice: the choice code
- bank_account: ``{"bank_code", "branch_code", "account_type", "account_number"}`` or
  ``{"yucho_symbol", "yucho_number"}``; group: a list of dicts of the above
"""

import unicodedata
from collections.abc import Collection, Mapping
from datetime import date

from app.domain.catalogue import FieldSpec, Procedure
from app.domain.errors import InvalidInput
from app.domain.field_plans import (
    AS_IS,
    COPY,
    MEMO_SIZE,
    SAME,
    Memo,
    fresh,
    handing,
    memos_for,
    plan_of,
)
from app.domain.plausibility import cross_checks
from app.domain.validators import ALERT_CODES, Problem, codes, cp932, kana, problem
from app.domain.validators.names import check_name
from app.domain.validators.relationship import normalise_relationship
from app.domain.validators.wareki import DateProblem, date_value, parse_wareki

UNREADABLE = "●"  # what OCR products export for a character they could not read (§6)
_UNSURE = object()

_TRUE = {"true", "1", "yes", "y", "はい", "有", "あり", "○", "〇", "◯", "✓", "レ", "する"}
_FALSE = {"false", "0", "no", "n", "いいえ", "無", "なし", "×", "しない"}
# 全銀 account-type codes as banks use them in transfer files: 1 普通, 2 当座. A 貯蓄預金 (4)
# cannot receive the allowance transfers (児童手当・児童扶養手当 are paid to 普通/当座 only).
_ACCOUNT_KINDS = {"ordinary": ("普通", "1"), "current": ("当座", "2")}
_ACCOUNT_TYPES = {alias: kind for kind, more in _ACCOUNT_KINDS.items() for alias in (kind, *more)}


def _blank(value: object) -> bool:
    return value is None or value == [] or (isinstance(value, str) and not value.strip())


class _Check:
    def __init__(self, today: date) -> None:
        self.today = today
        self.problems: list[Problem] = []
        self._found: list[tuple[str, str]] | None = None

    def add(self, path: str, code: str, spec: FieldSpec | None, **extra: object) -> None:
        label = spec.label_ja if spec else path
        found = problem(path, code, label, **extra)
        self.problems.append(found)
        if self._found is not None:
            self._found.append((code, found["message"]))

    def level(
        self,
        specs: tuple[FieldSpec, ...],
        raw: Mapping[str, object],
        prefix: str,
        outer: Mapping[str, object],
    ) -> dict[str, object]:
        plan = plan_of(specs)
        memos = memos_for(specs, self.today)
        values: dict[str, object] = {}
        # What conditions see: the level's values over the outer ones. A value that failed its
        # check is "unsure", and a condition resting on it is not judged, so one bad field does
        # not cascade into false alarms.
        scope = dict(outer)
        problems = self.problems
        for index, key, spec, is_group in plan.ordered:
            if key not in raw:
                continue
            item = raw[key]
            kind = type(item)
            if not is_group and (kind is str or kind is int or kind is bool):
                memo = memos[index]
                kept = memo.get((kind, item))
                if kept is not None:  # checked before: neither blank nor new
                    normalised, hand_out, found, failed = kept
                    if found:
                        path = prefix + key
                        problems.extend(
                            {"field": path, "code": code, "message": message}
                            for code, message in found
                        )
                    if normalised is SAME:
                        values[key] = item
                    elif hand_out == AS_IS:
                        values[key] = normalised
                    elif hand_out == COPY:
                        values[key] = dict(normalised)  # type: ignore[call-overload]
                    else:
                        values[key] = fresh(normalised)
                    scope[key] = _UNSURE if failed else values[key]
                    continue
                if kind is str and not item.strip():  # type: ignore[attr-defined]
                    continue
                before = len(problems)
                values[key] = self._kept(spec, item, prefix + key, memo)
            else:
                if _blank(item):
                    continue
                before = len(problems)
                values[key] = self.value(spec, item, prefix + key, scope)
            failed = len(problems) > before and any(
                p["code"] not in ALERT_CODES for p in problems[before:]
            )
            scope[key] = _UNSURE if failed and not is_group else values[key]
        if not raw.keys() <= plan.by_key.keys():
            for key in raw:
                if key not in plan.by_key:
                    self.add(prefix + key, "unknown_field", None)
                    values[key] = raw[key]
        for key, spec, same_person_as, required, condition in plan.after:
            if key in values:
                if same_person_as and _UNSURE not in (scope[key], scope.get(same_person_as)):
                    self._same_person(spec, prefix, values[key], scope)
            elif required:
                self.add(prefix + key, "required", spec)
            elif condition is not None:
                sure = all(scope.get(name) is not _UNSURE for name in condition.keys)
                if sure and condition.evaluate(scope):
                    self.add(prefix + key, "required", spec)
        return values

    def value(
        self, spec: FieldSpec, value: object, path: str, scope: Mapping[str, object]
    ) -> object:
        if spec.type == "group":
            return self.group(spec, value, path, scope)
        return self.plain(spec, value, path)

    def _kept(self, spec: FieldSpec, value: object, path: str, memo: Memo) -> object:
        """A str, int or bool value checked for the first time (per spec and day): kept."""
        self._found = []
        try:
            normalised = self.plain(spec, value, path)
            found = tuple(self._found)
        finally:
            self._found = None
        if len(memo) >= MEMO_SIZE:
            memo.clear()
        kept = SAME if normalised is value else fresh(normalised)
        memo[(type(value), value)] = (
            kept,
            handing(kept),
            found,
            any(code not in ALERT_CODES for code, _message in found),
        )
        return normalised

    def plain(self, spec: FieldSpec, value: object, path: str) -> object:
        """One value of a plain (non-group) field: normalised, its problems added."""
        if isinstance(value, str) and UNREADABLE in value:
            self.add(path, "unreadable", spec)
            return date_value(value) if spec.type in ("date", "wareki_date") else value
        handler = getattr(self, f"_{spec.type}")
        return handler(spec, value, path)

    def group(
        self, spec: FieldSpec, value: object, path: str, scope: Mapping[str, object]
    ) -> object:
        if not isinstance(value, list) or not all(isinstance(i, Mapping) for i in value):
            self.add(path, "wrong_type", spec)
            return value
        if len(value) < spec.min_items:
            self.add(path, "too_few_items", spec, limit=spec.min_items)
        if spec.max_items is not None and len(value) > spec.max_items:
            self.add(path, "too_many_items", spec, limit=spec.max_items)
        return [
            self.level(spec.fields, item, f"{path}[{i}].", scope) for i, item in enumerate(value)
        ]

    def _same_person(
        self, spec: FieldSpec, prefix: str, value: object, scope: Mapping[str, object]
    ) -> None:
        other = scope.get(spec.same_person_as or "")
        if (
            isinstance(other, str)
            and isinstance(value, str)
            and kana.to_zengin_kana(other).replace(" ", "") != value.replace(" ", "")
        ):
            self.add(prefix + spec.key, "account_holder_mismatch", spec)

    def _text_value(self, spec: FieldSpec, value: object, path: str) -> str | None:
        if not isinstance(value, str):
            self.add(path, "wrong_type", spec)
            return None
        if spec.max_length is not None and len(value) > spec.max_length:
            self.add(path, "too_long", spec, limit=spec.max_length)
        return value

    def _text(self, spec: FieldSpec, value: object, path: str) -> object:
        text = self._text_value(spec, value, path)
        if text is not None and (bad := cp932.cp932_offending_chars(text)):
            self.add(path, "not_cp932", spec, chars=cp932.describe_chars(bad))
        return value

    def _name(self, spec: FieldSpec, value: object, path: str) -> object:
        if (text := self._text_value(spec, value, path)) is not None:
            for issue in check_name(text):
                self.add(path, issue.code, spec, chars=cp932.describe_chars(list(issue.chars)))
        return value  # the very object received: names are never altered

    def _kana(self, spec: FieldSpec, value: object, path: str) -> object:
        if (text := self._text_value(spec, value, path)) is None:
            return value
        furigana = kana.normalise_furigana(text)
        if bad := kana.furigana_offending_chars(furigana):
            self.add(path, "not_kana", spec, chars=cp932.describe_chars(bad))
        return furigana

    def _account_name_kana(self, spec: FieldSpec, value: object, path: str) -> object:
        if (text := self._text_value(spec, value, path)) is None:
            return value
        zengin = kana.to_zengin_kana(text)
        if bad := kana.zengin_offending_chars(zengin):
            self.add(path, "zengin_chars", spec, chars=cp932.describe_chars(bad))
        limit = spec.max_length or kana.ZENGIN_MAX_LENGTH
        if len(zengin) > limit:
            self.add(path, "too_long", spec, limit=limit)
        return zengin

    def _date(self, spec: FieldSpec, value: object, path: str) -> object:
        if not isinstance(value, str):
            self.add(path, "wrong_type", spec)
            return value
        try:
            parsed = parse_wareki(value, allow_unknown=spec.allow_unknown)
        except DateProblem as exc:
            self.add(path, exc.code, spec)
            return date_value(value)
        if spec.type == "date" and parsed.era is not None:  # 西暦 only (標準仕様書 j20)
            self.add(path, "seireki_required", spec)
        if spec.not_after_today and parsed.earliest is not None and parsed.earliest > self.today:
            self.add(path, "future", spec)
        return parsed.as_value()

    _wareki_date = _date

    def _my_number(self, spec: FieldSpec, value: object, path: str) -> object:
        digits = codes.normalise_my_number(value) if isinstance(value, str) else None
        if digits is None:
            self.add(path, "my_number_format", spec)
            return value
        if codes.is_placeholder_my_number(digits):
            self.add(path, "my_number_placeholder", spec)
        elif codes.my_number_check_digit(digits[:11]) != int(digits[11]):
            self.add(path, "my_number_check_digit", spec)
        return digits

    def _resident_code(self, spec: FieldSpec, value: object, path: str) -> object:
        digits = codes.normalise_resident_code(value) if isinstance(value, str) else None
        if digits is None:
            self.add(path, "resident_code_format", spec)
            return value
        if codes.resident_code_check_digit(digits[:10]) != int(digits[10]):
            self.add(path, "resident_code_check_digit", spec)
        return digits

    def _address_code(self, spec: FieldSpec, value: object, path: str) -> object:
        digits = codes.normalise_address_code(value) if isinstance(value, str) else None
        if digits is None:
            self.add(path, "address_code_format", spec)
            return value
        return digits

    def _residence_card_number(self, spec: FieldSpec, value: object, path: str) -> object:
        number = codes.normalise_residence_card_number(value) if isinstance(value, str) else None
        if number is None:
            self.add(path, "residence_card_format", spec)
            return value
        return number

    def _stay_period(self, spec: FieldSpec, value: object, path: str) -> object:
        period = codes.normalise_stay_period(value) if isinstance(value, str) else None
        if period is None:
            self.add(path, "stay_period_format", spec)
            return value
        return period

    def _postal_code(self, spec: FieldSpec, value: object, path: str) -> object:
        code = codes.normalise_postal_code(value) if isinstance(value, str) else None
        if code is None:
            self.add(path, "postal_code_format", spec)
        return code or value

    def _municipality_code(self, spec: FieldSpec, value: object, path: str) -> object:
        digits = codes.normalise_digits(value) if isinstance(value, str) else ""
        if not codes.is_valid_municipality_code(digits):
            self.add(path, "municipality_code_invalid", spec)
            return value
        return digits

    def _relationship(self, spec: FieldSpec, value: object, path: str) -> object:
        if (text := self._text_value(spec, value, path)) is None:
            return value
        checked = normalise_relationship(text)
        if checked.code == "too_many_links":
            self.add(path, "relationship_too_many_links", spec)
        elif checked.code is not None:
            suggestions = "・".join(checked.suggestions) or "縁故者"
            self.add(path, "relationship_not_standard", spec, suggestions=suggestions)
        return checked.value

    def _integer(self, spec: FieldSpec, value: object, path: str) -> object:
        number: int | None = None
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str):
            text = unicodedata.normalize("NFKC", value).strip().replace(",", "")
            text = text.removesuffix("円").strip()
            number = int(text) if text.lstrip("-").isdigit() else None
        if number is None:
            self.add(path, "not_integer", spec)
            return value
        if (spec.minimum is not None and number < spec.minimum) or (
            spec.maximum is not None and number > spec.maximum
        ):
            self.add(path, "out_of_range", spec)
        return number

    def _boolean(self, spec: FieldSpec, value: object, path: str) -> object:
        if isinstance(value, bool):
            return value
        text = str(value) if isinstance(value, int) else value if isinstance(value, str) else ""
        text = unicodedata.normalize("NFKC", text).strip().lower()
        if text in _TRUE or text in _FALSE:
            return text in _TRUE
        self.add(path, "not_boolean", spec)
        return value

    def _choice(self, spec: FieldSpec, value: object, path: str) -> object:
        text = unicodedata.normalize("NFKC", value).strip() if isinstance(value, str) else ""
        for choice in spec.choices:
            if text in (choice.code, unicodedata.normalize("NFKC", choice.label_ja)) or (
                text.lower() == choice.label_en.lower()
            ):
                return choice.code
        self.add(path, "not_a_choice", spec)
        return value

    def _bank_account(self, spec: FieldSpec, value: object, path: str) -> object:
        if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
            self.add(path, "wrong_type", spec)
            return value
        digits = {k: codes.normalise_digits(str(v)) for k, v in value.items()}
        if set(value) == {"yucho_symbol", "yucho_number"}:  # ゆうちょ銀行: 記号5桁・番号8桁まで
            parts = {"yucho_symbol": (5, 5), "yucho_number": (1, 8)}
        elif set(value) == {"bank_code", "branch_code", "account_type", "account_number"}:
            parts = {"bank_code": (4, 4), "branch_code": (3, 3), "account_number": (1, 7)}
        else:
            self.add(path, "bank_account_invalid", spec, part="項目 (fields)")
            return value
        out: dict[str, str] = {}
        for part, (shortest, longest) in parts.items():
            text = digits[part]
            if not (text.isascii() and text.isdigit() and shortest <= len(text) <= longest):
                self.add(path, "bank_account_invalid", spec, part=part)
                return value
            out[part] = text.zfill(7) if part == "account_number" else text
        if "account_type" in value:
            kind = _ACCOUNT_TYPES.get(unicodedata.normalize("NFKC", str(value["account_type"])))
            if kind is None:
                self.add(path, "bank_account_invalid", spec, part="account_type")
                return value
            out = {
                "bank_code": out["bank_code"],
                "branch_code": out["branch_code"],
                "account_type": kind,
                "account_number": out["account_number"],
            }
        return out


_holding: dict[int, tuple[FieldSpec, bool]] = {}


def _holds_my_number(spec: FieldSpec) -> bool:
    kept = _holding.get(id(spec))
    if kept is None or kept[0] is not spec:
        if len(_holding) >= MEMO_SIZE:
            _holding.clear()
        held = spec.type == "my_number" or any(_holds_my_number(f) for f in spec.fields)
        kept = _holding[id(spec)] = (spec, held)
    return kept[1]


_strict: dict[int, tuple[tuple[FieldSpec, ...], tuple[FieldSpec, ...]]] = {}


def _strict_specs(specs: tuple[FieldSpec, ...]) -> tuple[FieldSpec, ...]:
    """The specs strict_type_errors looks at: My Numbers and the groups holding them."""
    kept = _strict.get(id(specs))
    if kept is None or kept[0] is not specs:
        if len(_strict) >= MEMO_SIZE:
            _strict.clear()
        kept = _strict[id(specs)] = (
            specs,
            tuple(s for s in specs if s.type == "my_number" or _holds_my_number(s)),
        )
    return kept[1]


def strict_type_errors(procedure: Procedure, fields: Mapping[str, object]) -> list[Problem]:
    """Values whose JSON type makes them unsafe to store at all (a 422, not a form problem).

    A My Number must be a string: a number, list or object could not be masked like one. A group
    holding My Numbers must be a list of objects, for the same reason.
    """
    problems: list[Problem] = []

    def walk(specs: tuple[FieldSpec, ...], level: Mapping[str, object], prefix: str) -> None:
        for spec in _strict_specs(specs):
            value = level.get(spec.key)
            if value is None:
                continue
            path = prefix + spec.key
            if spec.type == "my_number" and not isinstance(value, str):
                problems.append(problem(path, "my_number_not_string", spec.label_ja))
            elif spec.type == "group" and _holds_my_number(spec):
                if not isinstance(value, list) or not all(isinstance(i, Mapping) for i in value):
                    problems.append(problem(path, "wrong_type", spec.label_ja))
                    continue
                for index, item in enumerate(value):
                    walk(spec.fields, item, f"{path}[{index}].")

    walk(procedure.fields, fields, "")
    return problems


def require_strict_types(
    procedure: Procedure,
    fields: Mapping[str, object],
    prefix: str,
    only: Collection[str] | None = None,
) -> None:
    """Raise InvalidInput (a 422) listing strict_type_errors, the fields' paths after ``prefix``.

    ``only`` limits the check to these paths (what was keyed now, not what was stored before).
    """
    wrong = [
        {**p, "field": prefix + p["field"]}
        for p in strict_type_errors(procedure, fields)
        if only is None or p["field"] in only
    ]
    if wrong:
        raise InvalidInput(
            "個人番号は文字列で、その一覧はオブジェクトの配列で送ってください "
            "(My Numbers must be strings, and groups holding them lists of objects)",
            wrong,
        )


def validate_fields(
    procedure: Procedure, fields: Mapping[str, object], today: date
) -> tuple[dict[str, object], list[Problem]]:
    """Normalise an application's fields and list every problem; never raises on bad values."""
    check = _Check(today)
    values = check.level(procedure.fields, fields, "", {})
    return values, check.problems + cross_checks(procedure, values, check.problems, today)
