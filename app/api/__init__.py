"""The HTTP and websocket edge."""

from fastapi import APIRouter

from app.api import admin, display, lobby

api_router = APIRouter()
api_router.include_router(lobby.router)
api_router.include_router(display.router)
api_router.include_router(admin.router)
