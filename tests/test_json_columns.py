"""JSON columns read on PostgreSQL: the fast parser must read every value as the standard one."""

import json
import math

import pytest

from app.storage.db import _json_loads

SAMPLES = [
    '{"a": [1, 2.5, "x", null, true, false], "b": {"c": "名前"}}',
    "12345678901234567890",  # fits in 64 bits (unsigned)
    "123456789012345678901234567890",  # does not: orjson would read a float
    "[-9223372036854775809]",  # below the smallest 64-bit integer, in 19 digits
    "[-9223372036854775808, 9223372036854775807, 9999999999999999999]",
    '{"n": 100000000000000000000}',
    "1e400",
    "NaN",
    '"\\ud800"',
    '{"a": 1, "a": 2}',
    "-0.0",
    "[1.5e-320, 0.1, 1E5]",
    '{"x": "\\u0000"}',
]


@pytest.mark.parametrize("text", SAMPLES)
def test_reads_as_the_standard_parser(text: str) -> None:
    fast, standard = _json_loads(text), json.loads(text)
    assert type(fast) is type(standard)
    if isinstance(standard, float) and math.isnan(standard):
        assert math.isnan(fast)
    else:
        assert fast == standard
        assert repr(fast) == repr(standard)
