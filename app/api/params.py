"""Checks every route makes on its path and query parameters before anything else runs."""

import functools
import weakref

from fastapi.requests import HTTPConnection
from fastapi.routing import APIRoute

from app.domain.errors import InvalidInput
from app.domain.text import NUL_MESSAGE

# Per route (by id, checked by a weak reference: routes compare by value, so they are no keys),
# the query parameters it declares: read once, not walked again on every request.
_DECLARED: dict[int, tuple["weakref.ref[APIRoute]", frozenset[str]]] = {}


def _declared_query(route: object) -> frozenset[str]:
    if not isinstance(route, APIRoute):
        return frozenset()
    known = _DECLARED.get(id(route))
    if known is not None and known[0]() is route:
        return known[1]
    names: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        names.update(param.alias for param in dependant.query_params)
        pending.extend(dependant.dependencies)
    found = frozenset(names)
    key = id(route)
    _DECLARED[key] = (weakref.ref(route, functools.partial(_forget, key)), found)
    return found


def _forget(key: int, _gone: object) -> None:
    _DECLARED.pop(key, None)


async def refuse_nul(connection: HTTPConnection) -> None:
    """Path and declared query parameters holding U+0000 are bad input (PostgreSQL cannot use
    them)."""
    if connection.scope["type"] != "http":
        return  # the lobby websocket checks its office and token itself
    declared = _declared_query(connection.scope.get("route"))
    values = list(connection.path_params.items())
    if declared:
        values += [
            (name, value)
            for name, value in connection.query_params.multi_items()
            if name in declared
        ]
    problems = [
        {"field": name, "code": "nul_character", "message": NUL_MESSAGE}
        for name, value in values
        if "\x00" in value
    ]
    if problems:
        raise InvalidInput("入力に誤りがあります (the request is malformed)", problems)
