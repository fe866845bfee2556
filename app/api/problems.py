"""The error answers of every route, documented in the OpenAPI from the route table.

Which problem+json statuses a route can answer follows from how it is declared: a role guard
means 401 and 403, a path parameter 404, any parameter or body 422, a write 409 (a concurrent
writer won), a body 413 and 408 (not received in time), the database 503. Statuses a route
declares itself (``responses={429: {}}``) get the same problem+json schema, so the document lists
every status the service sends.
"""

import http.client
from collections.abc import Iterator
from typing import Any

from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from pydantic import BaseModel, Field

from app.api.deps import RoleGuard, get_resources, get_uow

PROBLEM_JSON = "application/problem+json"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODIES = frozenset({"POST", "PUT", "PATCH"})


class FieldProblem(BaseModel):
    field: str = Field(description="The field, e.g. `applicant.family_name` or `children[0].name`")
    code: str = Field(description="Machine code of the reason")
    message: str = Field(description="The reason, in Japanese with English alongside")
    level: str | None = Field(
        None,
        description="For a form's field problems: `error` (blocks approval) or `warning` "
        "(needs the reviewer's acknowledgement)",
    )


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, as every error of this service is answered."""

    type: str = Field(description="`urn:madoguchi:problem:<code>`")
    title: str
    status: int = Field(ge=400, le=599)
    detail: str
    code: str = Field(description="Stable machine code")
    errors: list[FieldProblem] | None = Field(None, description="Field-level reasons of bad input")
    context: dict[str, str | int | float | bool] | None = None


def _problem_schema() -> tuple[dict[str, Any], dict[str, Any]]:
    """ProblemDetails' schema and the component schemas it refers to."""
    schema = ProblemDetails.model_json_schema(ref_template="#/components/schemas/{model}")
    definitions = schema.pop("$defs", {})
    return schema, definitions


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    pending = [dependant]
    while pending:
        current = pending.pop()
        yield current
        pending.extend(current.dependencies)


def _statuses(route: APIRoute, method: str, operation: dict[str, Any]) -> set[int]:
    dependants = list(_walk(route.dependant))
    calls = [d.call for d in dependants]
    statuses: set[int] = set()
    if any(isinstance(call, RoleGuard) for call in calls):
        statuses |= {401, 403}
    if any(call in (get_uow, get_resources) for call in calls):
        statuses.add(503)
    has_params = any(
        d.path_params or d.query_params or d.header_params or d.cookie_params or d.body_params
        for d in dependants
    )
    if has_params or "requestBody" in operation:
        statuses.add(422)
    if any(d.path_params for d in dependants):
        statuses.add(404)
    if method in WRITES:
        statuses.add(409)
    if method in BODIES:
        statuses |= {408, 413}
    return statuses


def _response(
    status: int, titles: dict[int, str], existing: dict[str, Any] | None
) -> dict[str, Any]:
    response = dict(existing or {})
    generic = {None, "Additional Response", "Validation Error", http.client.responses.get(status)}
    if response.get("description") in generic:
        response["description"] = titles.get(status, http.client.responses.get(status, "Error"))
    # FastAPI's own 422 schema describes a body this service never sends.
    response["content"] = {
        PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/ProblemDetails"}}
    }
    if status == 401:
        response["headers"] = {
            "WWW-Authenticate": {
                "required": True,
                "description": "`Bearer`",
                "schema": {"type": "string"},
            }
        }
    if status in (429, 503):
        response["headers"] = {
            "Retry-After": {
                "required": status == 429,
                "description": "Seconds to wait before retrying",
                "schema": {"type": "string"},
            }
        }
    return response


def document_problems(app: FastAPI, titles: dict[int, str]) -> None:
    """Make ``app.openapi()`` list the problem+json answers of every route."""
    generate = app.openapi
    documented: set[int] = set()

    def openapi() -> dict[str, Any]:
        schema = generate()
        if id(schema) in documented:
            return schema
        problem, definitions = _problem_schema()
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(definitions)
        components["ProblemDetails"] = problem
        for context in iter_route_contexts(app.routes):
            route = context.original_route
            if not isinstance(route, APIRoute) or not route.include_in_schema:
                continue
            for method in route.methods:
                operation = schema["paths"].get(context.path_format, {}).get(method.lower())
                if operation is None:
                    continue
                responses = operation.setdefault("responses", {})
                declared = {int(code) for code in responses if code.isdigit() and int(code) >= 400}
                for status in declared | _statuses(route, method, operation):
                    responses[str(status)] = _response(status, titles, responses.get(str(status)))
                operation["responses"] = dict(sorted(responses.items()))
        if not _refers_to(schema["paths"], "HTTPValidationError"):
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
        documented.add(id(schema))
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _refers_to(node: Any, name: str) -> bool:
    if isinstance(node, dict):
        return node.get("$ref") == f"#/components/schemas/{name}" or any(
            _refers_to(value, name) for value in node.values()
        )
    if isinstance(node, list):
        return any(_refers_to(value, name) for value in node)
    return False
