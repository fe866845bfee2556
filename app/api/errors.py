"""The only place where business outcomes meet HTTP: RFC 9457 problem+json for every error."""

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.api.problems import document_problems
from app.domain import errors
from app.services.failures import CONFLICT_ERRORS, UNAVAILABLE_ERRORS

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

HTTP_STATUS: dict[type[errors.DomainError], int] = {
    errors.NotFound: 404,
    errors.NotAuthenticated: 401,
    errors.NotAllowed: 403,
    errors.Conflict: 409,
    errors.InvalidTransition: 409,
    errors.InvalidInput: 422,
    errors.RateLimited: 429,
    errors.Unavailable: 503,
    errors.DomainError: 400,
}

HTTP_TITLES = {
    400: "不正なリクエストです / Bad request",
    401: "認証が必要です / Authentication required",
    403: "権限がありません / Not allowed",
    404: "見つかりません / Not found",
    405: "このメソッドは使えません / Method not allowed",
    408: "時間内に受信できませんでした / Request timeout",
    409: "競合しました / Conflict",
    413: "大きすぎます / Payload too large",
    415: "対応していない形式です / Unsupported media type",
    422: "入力に誤りがあります / Invalid input",
    429: "リクエストが多すぎます / Too many requests",
    500: "内部エラー / Internal error",
    503: "一時的に利用できません / Temporarily unavailable",
}


def http_status_for(error_type: type[errors.DomainError]) -> int:
    for cls in error_type.__mro__:
        if cls in HTTP_STATUS:
            return HTTP_STATUS[cls]
    raise LookupError(f"{error_type.__name__} has no HTTP status")


def problem(
    status: int,
    code: str,
    detail: str,
    *,
    title: str | None = None,
    errors_: list[dict[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:madoguchi:problem:{code}",
        "title": title or HTTP_TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors_ is not None:
        body["errors"] = errors_
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


async def on_domain_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, errors.DomainError)
    status = http_status_for(type(exc))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if isinstance(exc, errors.RateLimited):
        headers = {"Retry-After": str(exc.retry_after_s)}
    elif isinstance(exc.context.get("retry_after_s"), int):
        headers = {"Retry-After": str(exc.context["retry_after_s"])}
    listed = isinstance(exc, errors.InvalidInput | errors.OpenProblems)
    field_errors = exc.errors if listed else None
    context = {k: v for k, v in exc.context.items() if isinstance(v, str | int | float | bool)}
    return problem(
        status,
        exc.code,
        exc.message,
        title=exc.title,
        errors_=field_errors,
        headers=headers,
        **({"context": context} if context else {}),
    )


def _field_path(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    path = ""
    for part in parts:
        path += f"[{part}]" if part.isdigit() else (f".{part}" if path else part)
    return path or (str(loc[0]) if loc else "")


async def on_validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # Never echo the input back: it may hold a My Number or a name.
    field_errors = [
        {
            "field": _field_path(tuple(e.get("loc", ()))),
            "code": str(e.get("type", "invalid")),
            "message": str(e.get("msg", "invalid")),
        }
        for e in exc.errors()
    ]
    return problem(
        422,
        "invalid_input",
        "入力に誤りがあります (the request is malformed)",
        errors_=field_errors,
    )


async def on_http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        # FastAPI could not read the body (not UTF-8): bad input like any JSON error, so 422.
        return problem(
            422,
            "invalid_input",
            "入力に誤りがあります (the request is malformed)",
            errors_=[
                {
                    "field": "body",
                    "code": "invalid_encoding",
                    "message": "本文を読み取れません。UTF-8 の JSON を送ってください "
                    "(body is not UTF-8 JSON)",
                }
            ],
        )
    code = {
        404: "not_found",
        405: "method_not_allowed",
        408: "request_timeout",
        413: "too_large",
    }.get(exc.status_code, "http_error")
    return problem(exc.status_code, code, str(exc.detail), headers=getattr(exc, "headers", None))


async def on_integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    log.info("integrity conflict: %s", type(exc).__name__)
    return problem(
        409, "conflict", "同時に同じ操作が行われました (a concurrent request won; retry)"
    )


async def on_database_down(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("database unavailable: %s", type(exc).__name__)
    return problem(
        503,
        "database_unavailable",
        "データベースに接続できません (database unavailable, retry)",
        headers={"Retry-After": "2"},
    )


async def on_os_error(request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, ConnectionError | TimeoutError):
        return await on_database_down(request, exc)
    log.error("storage error: %s", type(exc).__name__, exc_info=exc)
    return problem(
        503,
        "storage_unavailable",
        "保存領域に書き込めません (storage unavailable, retry later)",
        headers={"Retry-After": "30"},
    )


async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
    if isinstance(exc, OSError | ConnectionError):
        return await on_database_down(_request, exc)
    log.error("unhandled error: %s", type(exc).__name__, exc_info=exc)
    return problem(500, "internal_error", "内部エラーが発生しました (internal error)")


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error as problem+json, and list those answers in the app's OpenAPI."""
    document_problems(app, HTTP_TITLES)
    app.add_exception_handler(errors.DomainError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    for conflict in CONFLICT_ERRORS:
        app.add_exception_handler(conflict, on_integrity_error)
    # The database's and its driver's connection failures (the pool reconnecting while
    # PostgreSQL is down) are answered here rather than by the catch-all, which would also
    # close the client's connection.
    for unavailable in UNAVAILABLE_ERRORS:
        app.add_exception_handler(unavailable, on_database_down)
    app.add_exception_handler(OSError, on_os_error)
    app.add_exception_handler(Exception, on_unexpected)
