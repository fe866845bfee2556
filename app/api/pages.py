"""The browser pages: the lobby display (display/) and the other clients (clients/web/)."""

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import RedirectResponse
from fastapi.staticfiles import StaticFiles

PAGES = {
    "/display": "display",
    "/kiosk": "clients/web/kiosk",
    "/counter": "clients/web/counter",
    "/status": "clients/web/status",
    "/console": "clients/web/console",
    "/book": "clients/web/book",
    "/web-common": "clients/web/common",
}


def install_pages(app: FastAPI, root: Path) -> None:
    for mount, folder in PAGES.items():
        directory = root / folder
        if directory.is_dir():
            app.mount(mount, StaticFiles(directory=directory, html=True), name=mount.strip("/"))

    @app.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/docs")
