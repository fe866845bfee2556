"""The API documentation pages, /docs (Swagger UI) and /redoc (ReDoc), with every file they load
served by this server: a city LAN has no internet.

The JavaScript and CSS come from the pinned package fastapi-standalone-docs (Swagger UI 5 and
ReDoc 2, with their licences, served beside them). The pages are FastAPI's own, pointed at those
files; their inline start-up script is allowed by hash (app/api/edge.py).
"""

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = Path(str(files("fastapi_standalone_docs") / "static"))
SWAGGER_URL, REDOC_URL = "/docs", "/redoc"
# Swagger UI's files under /docs/, ReDoc's under /redoc/ (its logo is looked up there), and the
# favicon of both.
MOUNTS = {f"{SWAGGER_URL}/fastapi": "fastapi", SWAGGER_URL: "swagger", REDOC_URL: "redoc"}
FAVICON = f"{SWAGGER_URL}/fastapi/favicon.png"


def install_docs(app: FastAPI) -> None:
    """Add /docs and /redoc to an app made with ``docs_url=None, redoc_url=None``."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get(SWAGGER_URL, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{SWAGGER_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{SWAGGER_URL}/swagger-ui.css",
            swagger_favicon_url=root + FAVICON,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    @app.get(REDOC_URL, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{REDOC_URL}/redoc.standalone.js",
            redoc_favicon_url=root + FAVICON,
            with_google_fonts=False,
        )

    # After the two pages: a mount never answers its own bare path, only what lies below it.
    for mount, folder in MOUNTS.items():
        app.mount(mount, StaticFiles(directory=ASSETS / folder), name=f"docs-{folder}")
