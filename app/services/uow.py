"""The unit of work lives with the SQL it runs (app/storage/uow.py); commands take it from here."""

from app.storage.uow import LobbyNotifier, UnitOfWork

__all__ = ["LobbyNotifier", "UnitOfWork"]
