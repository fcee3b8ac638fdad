"""Expectations: pod creations/deletions a controller has sent but its informer has not seen yet.

Without them a second sync right after creating pods would count too few pods and create
more. A key whose expectations are older than `ttl` seconds is treated as satisfied.
"""
from __future__ import annotations

from labkube.client.clock import Clock


class Expectations:
    def __init__(self, clock: Clock, ttl: float = 300.0):
        self.clock = clock
        self.ttl = ttl
        self._adds: dict[str, set[str]] = {}
        self._dels: dict[str, set[str]] = {}
        self._since: dict[str, float] = {}

    def expect_create(self, key: str, name: str) -> None:
        self._adds.setdefault(key, set()).add(name)
        self._since[key] = self.clock.monotonic()

    def expect_delete(self, key: str, name: str) -> None:
        self._dels.setdefault(key, set()).add(name)
        self._since[key] = self.clock.monotonic()

    def created(self, key: str, name: str) -> None:
        """Seen (or the create failed)."""
        self._adds.get(key, set()).discard(name)

    def deleted(self, key: str, name: str) -> None:
        self._dels.get(key, set()).discard(name)

    def satisfied(self, key: str) -> bool:
        if not self._adds.get(key) and not self._dels.get(key):
            return True
        return self.clock.monotonic() - self._since.get(key, 0) > self.ttl

    def forget(self, key: str) -> None:
        self._adds.pop(key, None)
        self._dels.pop(key, None)
        self._since.pop(key, None)
