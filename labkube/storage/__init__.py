"""Object storage for the apiserver: an interface, errors, and the SQLite backend."""
from . import reader
from .errors import Expired, KeyExists, KeyNotFound, RevisionConflict, StorageError
from .interface import Event, Storage, Watch
from .sqlite import SqliteStorage


async def open_storage(config: dict, history: int = 10000) -> Storage:
    """Open the backend named by a `storage:` config section ({backend, path})."""
    backend = (config or {}).get("backend", "sqlite")
    if backend != "sqlite":
        raise ValueError(f"storage.backend {backend!r} is not supported (use sqlite)")
    durable = config.get("fsync", True) is not False  # `fsync: false` is for throwaway test clusters only
    return await SqliteStorage.open(config["path"], history=history, durable=durable)


__all__ = ["reader", "Event", "Expired", "KeyExists", "KeyNotFound", "RevisionConflict", "SqliteStorage",
           "Storage", "StorageError", "Watch", "open_storage"]
