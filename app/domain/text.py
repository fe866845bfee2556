"""Text the service refuses whatever the field: U+0000, which PostgreSQL cannot store."""

from collections.abc import Iterator
from typing import Any

import orjson

NUL_MESSAGE = "NUL 文字 (U+0000) は使えません (text must not contain NUL characters)"


def may_hold_nul(value: Any) -> bool:
    """False when no string (or object key) in a JSON value holds U+0000: one pass in C.

    True when it may (then ``nul_locations`` says where), also for values orjson does not
    write (numbers past 64 bits, lone surrogates).
    """
    try:
        return b"\\u0000" in orjson.dumps(value)
    except TypeError:
        return True


def nul_locations(value: Any, loc: tuple[str | int, ...] = ()) -> Iterator[tuple[str | int, ...]]:
    """Where in a JSON value a string (or an object key) holds U+0000."""
    if isinstance(value, str):
        if "\x00" in value:
            yield loc
    elif isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and "\x00" in key:
                yield (*loc, key)
            yield from nul_locations(item, (*loc, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from nul_locations(item, (*loc, index))
