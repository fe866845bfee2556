"""Checks every route makes on its path and query parameters before anything else runs."""

import weakref

from fastapi.requests import HTTPConnection
from fastapi.routing import APIRoute

from app.domain.errors import InvalidInput
from app.domain.text import NUL_MESSAGE

# Per route, the query parameters it declares: read once, not walked again on every request.
_DECLARED: "weakref.WeakKeyDictionary[APIRoute, frozenset[str]]" = weakref.WeakKeyDictionary()


def _declared_query(route: object) -> frozenset[str]:
    if not isinstance(route, APIRoute):
        return frozenset()
    found = _DECLARED.get(route)
    if found is None:
        names: set[str] = set()
        pending = [route.dependant]
        while pending:
            dependant = pending.pop()
            names.update(param.alias for param in dependant.query_params)
            pending.extend(dependant.dependencies)
        found = _DECLARED[route] = frozenset(names)
    return found


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
