"""Expectations: pod creations/deletions a controller has sent but its informer has not seen yet.

Without them a second sync right after creating pods would count too few pods and create
more. Creations are counted, not named: pods are created with `generateName`, so their names
are the server's, and any pod the informer sees arrive for the owner settles one expected
creation (as Kubernetes' ControllerExpectations count them). Deletions are tracked by name, so
a pod seen going twice (its deletionTimestamp, then its removal) settles its one expectation
once. A key whose expectations are older than `ttl` seconds is treated as satisfied.
"""
from __future__ import annotations

from labkube.client.clock import Clock


class Expectations:
    def __init__(self, clock: Clock, ttl: float = 300.0):
        self.clock = clock
        self.ttl = ttl
        self._adds: dict[str, int] = {}
        self._dels: dict[str, set[str]] = {}
        self._since: dict[str, float] = {}

    def expect_creations(self, key: str, count: int = 1) -> None:
        self._adds[key] = self._adds.get(key, 0) + count
        self._since[key] = self.clock.monotonic()

    def expect_delete(self, key: str, name: str) -> None:
        self._dels.setdefault(key, set()).add(name)
        self._since[key] = self.clock.monotonic()

    def creation_observed(self, key: str) -> None:
        """A pod of the owner was seen arriving (or one create failed)."""
        left = self._adds.get(key, 0)
        if left > 0:
            self._adds[key] = left - 1

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
