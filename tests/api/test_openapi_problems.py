"""The OpenAPI document lists the problem+json answers each route can give, from the route table."""

from typing import Any

import pytest

from app.api.problems import ProblemDetails
from app.main import create_app
from app.settings import Settings
from tests.support import LiveServer, Office

PROBLEM_REF = {"$ref": "#/components/schemas/ProblemDetails"}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings(database_url="sqlite+aiosqlite:///:memory:")).openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [
        (f"{method.upper()} {path}", op)
        for path, ops in document["paths"].items()
        for method, op in ops.items()
    ]


def test_every_error_answer_is_documented_as_problem_json(document: dict[str, Any]) -> None:
    for name, operation in operations(document):
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                assert response["content"] == {
                    "application/problem+json": {"schema": PROBLEM_REF}
                }, name
                assert response["description"] != "Additional Response", name
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_statuses_follow_from_how_each_route_is_declared(document: dict[str, Any]) -> None:
    ops = dict(operations(document))
    # Role guard, database, path parameter, body (too large, too slow), write.
    assert set(ops["POST /api/v1/tickets/{ticket_id}/transfer"]["responses"]) == {
        "200",
        "401",
        "403",
        "404",
        "408",
        "409",
        "413",
        "422",
        "503",
    }
    # Role guard and database only.
    assert set(ops["GET /api/v1/work/stats"]["responses"]) == {"200", "401", "403", "503"}
    # Anyone with the key: no 401/403; the rate limit the route declares itself.
    assert set(ops["GET /api/v1/tickets/{ticket_id}/public"]["responses"]) == {
        "200",
        "404",
        "422",
        "429",
        "503",
    }
    assert (
        ops["GET /api/v1/tickets/{ticket_id}/public"]["responses"]["429"]["headers"]["Retry-After"][
            "required"
        ]
        is True
    )
    # Anonymous outside the API: limited per address like the pages.
    assert set(ops["GET /healthz"]["responses"]) == {"200", "429"}
    unauthenticated = ops["GET /api/v1/procedures"]["responses"]["401"]
    assert unauthenticated["headers"]["WWW-Authenticate"]["required"] is True


async def test_error_answers_match_the_documented_schema(
    server: LiveServer, office: Office
) -> None:
    async with server.client() as anonymous:
        missing = await anonymous.get("/procedures")
    async with server.client(office.token("display")) as display:
        refused = await display.get("/admin/offices")
    async with server.client(office.token("admin")) as admin:
        invalid = await admin.post("/admin/offices", json={"name_ja": ""})
        unknown = await admin.get("/admin/vendor-contracts/nope")
    for response, status in ((missing, 401), (refused, 403), (invalid, 422), (unknown, 404)):
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"
        problem = ProblemDetails.model_validate_json(response.content, strict=True)
        assert problem.status == status
    assert missing.headers["www-authenticate"] == "Bearer"
    assert [e.field for e in ProblemDetails.model_validate_json(invalid.content).errors or []] == [
        "name_ja",
        "name_en",
    ]
