"""A field's check is kept per spec, value and day: the same answers as checking afresh."""

import copy
from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from app.domain import field_plans
from app.domain.catalogue import load_catalogue
from app.domain.fields import validate_fields
from app.domain.shape import DEFAULT_LIMITS, ShapeLimits, check_shape
from app.domain.text import may_hold_nul, nul_locations

CLAIM = load_catalogue().get("child_rearing.status_report")
TODAY = date(2026, 8, 10)


def form(**overrides: object) -> dict[str, object]:
    values: dict[str, object] = {
        "filing_date": "令和8年8月10日",
        "claimant_name": "佐藤 花子",
        "claimant_kana": "さとう はなこ",
        "claimant_birth_date": "平成2年5月5日",
        "claimant_my_number": "123456789018",
        "children": [
            {"name": "佐藤 陽", "birth_date": "R9.1.9", "my_number": "000000000000"},
            {"name": "佐藤 陽", "birth_date": "R9.1.9", "my_number": "000000000000"},
        ],
    }
    values.update(overrides)
    return values


def fresh(raw: dict[str, object], today: date = TODAY) -> tuple[object, object]:
    field_plans.memo.clear()
    return validate_fields(CLAIM, copy.deepcopy(raw), today)


def test_kept_answers_equal_fresh_ones_with_each_problem_at_its_own_path() -> None:
    raw = form()
    expected = fresh(raw)
    again = validate_fields(CLAIM, copy.deepcopy(raw), TODAY)  # from what was kept
    assert again == expected
    paths = [p["field"] for p in again[1] if p["code"] == "my_number_placeholder"]
    assert paths == ["children[0].my_number", "children[1].my_number"]
    # Another day is another answer (a date in the future is one only before it comes).
    later = validate_fields(CLAIM, copy.deepcopy(raw), date(2027, 2, 1))
    assert later == fresh(raw, date(2027, 2, 1)) and later != expected


def test_a_kept_value_is_never_shared_and_names_stay_the_objects_received() -> None:
    values, _ = fresh(form())
    values["filing_date"]["iso"] = "changed"  # type: ignore[index]
    name = "".join(["佐藤", " 花子"])  # equal to the kept one, another object
    again, _ = validate_fields(CLAIM, form(claimant_name=name), TODAY)
    assert again["filing_date"]["iso"] == "2026-08-10"  # type: ignore[index]
    assert again["claimant_name"] is name


def test_one_true_and_1_are_different_values() -> None:
    one, _ = fresh(form(previous_year_income=1))
    kept, problems = validate_fields(CLAIM, form(previous_year_income=True), TODAY)
    assert (kept, problems) == fresh(form(previous_year_income=True))
    assert one["previous_year_income"] is not True and kept["previous_year_income"] is True
    assert "not_integer" in [p["code"] for p in problems]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**60), 2**60)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(alphabet=st.sampled_from("ab\x00あ"), max_size=6),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(alphabet="ab\x00", max_size=3), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_the_quick_passes_agree_with_the_full_walks(value: object) -> None:
    assert may_hold_nul(value) or not list(nul_locations(value))
    tight = ShapeLimits(max_depth=3, max_string_chars=4, max_members=3, max_items=3)
    for limits in (DEFAULT_LIMITS, tight):
        fits = fields_fit(value, limits)
        assert (check_shape(value, limits) == []) == fits


def fields_fit(value: object, limits: ShapeLimits) -> bool:
    """The full walk's verdict, without the quick pass."""
    from app.domain import shape

    quick = shape._fits
    try:
        shape._fits = lambda *_args: False  # type: ignore[assignment]
        return check_shape(value, limits) == []
    finally:
        shape._fits = quick


@given(json_values, st.integers(0, 3))
def test_a_line_said_to_fit_as_it_is_parsed_has_no_shape_problem(value: object, pad: int) -> None:
    import json

    from app.domain import shape

    text = json.dumps(value, ensure_ascii=False, indent=pad or None)
    tight = ShapeLimits(max_depth=3, max_string_chars=40, max_members=30, max_items=30)
    for limits in (DEFAULT_LIMITS, tight):
        data, fits = shape.loads_fitting(text, limits)
        assert repr(data) == repr(shape.loads(text))
        assert not fits or check_shape(data, limits) == []


def test_a_line_too_long_or_too_deep_or_with_a_wide_number_is_walked() -> None:
    from app.domain import shape

    tight = ShapeLimits(max_depth=2, max_string_chars=12, max_members=10, max_items=10)
    assert shape.loads_fitting('{"a": [1]}', tight)[1]
    for text in ('{"a": [[1]]}', '"abcdefghijklm"', "1e400", "NaN", "-Infinity", str(2**53)):
        assert not shape.loads_fitting(text, tight)[1]
        assert not shape.loads_fitting(text, DEFAULT_LIMITS)[1] or not check_shape(
            shape.loads(text), DEFAULT_LIMITS
        )
