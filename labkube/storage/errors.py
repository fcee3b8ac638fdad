"""Errors raised by every storage backend (mapped to HTTP Status codes by the apiserver)."""
from __future__ import annotations


class StorageError(Exception):
    """Base class of storage errors; `key` names the object concerned."""

    def __init__(self, message: str, key: str = ""):
        super().__init__(message)
        self.key = key


class KeyNotFound(StorageError):
    """The key does not exist (404)."""


class KeyExists(StorageError):
    """Create of a key that already exists (409 AlreadyExists)."""


class RevisionConflict(StorageError):
    """A precondition on the object's resourceVersion failed (409 Conflict)."""


class Expired(StorageError):
    """A watch asked for a revision older than the kept history (410 Gone)."""

    def __init__(self, requested: int, oldest: int):
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest
