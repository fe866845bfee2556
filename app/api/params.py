"""Checks every route makes on its path and query parameters before anything else runs."""

from fastapi.requests import HTTPConnection
from fastapi.routing import APIRoute

from app.domain.errors import InvalidInput
from app.domain.text import NUL_MESSAGE


async def refuse_nul(connection: HTTPConnection) -> None:
    """Path and declared query parameters holding U+0000 are bad input (PostgreSQL cannot use
    them)."""
    if connection.scope["type"] != "http":
        return  # the lobby websocket checks its office and token itself
    route = connection.scope.get("route")
    declared: set[str] = set()
    pending = [route.dependant] if isinstance(route, APIRoute) else []
    while pending:
        dependant = pending.pop()
        declared.update(param.alias for param in dependant.query_params)
        pending.extend(dependant.dependencies)
    values = [
        *connection.path_params.items(),
        *(
            (name, value)
            for name, value in connection.query_params.multi_items()
            if name in declared
        ),
    ]
    problems = [
        {"field": name, "code": "nul_character", "message": NUL_MESSAGE}
        for name, value in values
        if "\x00" in value
    ]
    if problems:
        raise InvalidInput("入力に誤りがあります (the request is malformed)", problems)
