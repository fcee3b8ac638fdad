"""SchedulingQueue: pending pods ordered by priority (high first) then by when they were queued.

Pods that did not fit wait in `unschedulable` until a cluster change (node added or
changed, pod deleted) or until the periodic flush; then they go through a per-pod
backoff (1 s doubling to 10 s) before they are tried again.
"""
from __future__ import annotations

import asyncio
import heapq
import itertools

from labkube.client.clock import Clock


class SchedulingQueue:
    def __init__(self, clock: Clock | None = None, initial_backoff: float = 1.0, max_backoff: float = 10.0,
                 unschedulable_flush: float = 30.0):
        self.clock = clock or Clock()
        self.initial_backoff = initial_backoff
        self.max_backoff = max_backoff
        self.unschedulable_flush = unschedulable_flush
        self._heap: list[tuple[int, float, int, str]] = []
        self._active: dict[str, tuple] = {}          # key -> heap entry (lazy deletion)
        self._backoff: dict[str, float] = {}         # key -> ready time
        self.unschedulable: dict[str, float] = {}    # key -> time it was parked
        self.attempts: dict[str, int] = {}
        self._in_flight: set[str] = set()
        self._priority: dict[str, int] = {}
        self._seq = itertools.count()
        self._wakeup = asyncio.Event()
        self.closed = False

    def __contains__(self, key: str) -> bool:
        return key in self._active or key in self._backoff or key in self.unschedulable

    def add(self, key: str, priority: int = 0) -> None:
        """A new or changed pending pod: straight to the active queue (unless it is backing off)."""
        if key in self._active or key in self._in_flight or key in self._backoff:
            return
        self.unschedulable.pop(key, None)
        entry = (-priority, self.clock.monotonic(), next(self._seq), key)
        self._active[key] = entry
        heapq.heappush(self._heap, entry)
        self._wakeup.set()

    def holds(self, key: str) -> bool:
        """Whether the queue keeps anything for key (queued, parked, attempts, priority): what
        delete(key) would clear."""
        return (key in self._active or key in self._backoff or key in self.unschedulable
                or key in self.attempts or key in self._priority)

    def delete(self, key: str) -> None:
        self._active.pop(key, None)
        self._backoff.pop(key, None)
        self.unschedulable.pop(key, None)
        self.attempts.pop(key, None)
        self._priority.pop(key, None)

    def backoff_for(self, key: str) -> float:
        n = max(self.attempts.get(key, 1), 1)
        return min(self.initial_backoff * 2 ** (n - 1), self.max_backoff)

    def add_unschedulable(self, key: str, priority: int = 0) -> None:
        """A pod that did not fit: park it until something changes."""
        self.attempts[key] = self.attempts.get(key, 0) + 1
        self.unschedulable[key] = self.clock.monotonic()
        self._priority[key] = priority

    def add_backoff(self, key: str, priority: int = 0) -> None:
        """A pod whose attempt failed for another reason (API error): retry after its backoff."""
        self.attempts[key] = self.attempts.get(key, 0) + 1
        self._backoff[key] = self.clock.monotonic() + self.backoff_for(key)
        self._priority[key] = priority
        self._wakeup.set()

    def move_all_to_active(self) -> None:
        """Cluster changed: unschedulable pods become eligible again (after their backoff)."""
        for key in list(self.unschedulable):
            parked = self.unschedulable.pop(key)
            self._backoff[key] = parked + self.backoff_for(key)
        self._wakeup.set()

    def _promote(self) -> float | None:
        now = self.clock.monotonic()
        for key, parked in list(self.unschedulable.items()):
            if now - parked >= self.unschedulable_flush:
                del self.unschedulable[key]
                self._backoff[key] = now
        nxt = None
        for key, ready in list(self._backoff.items()):
            if ready <= now:
                del self._backoff[key]
                self.add(key, self._priority.get(key, 0))
            else:
                nxt = ready - now if nxt is None else min(nxt, ready - now)
        if self.unschedulable:
            first = min(self.unschedulable.values()) + self.unschedulable_flush - now
            nxt = first if nxt is None else min(nxt, first)
        return nxt

    def pop_nowait(self) -> str | None:
        self._promote()
        while self._heap:
            entry = heapq.heappop(self._heap)
            key = entry[3]
            if self._active.get(key) is entry:
                del self._active[key]
                self._in_flight.add(key)
                return key
        return None

    async def pop(self) -> str | None:
        while not self.closed:
            key = self.pop_nowait()
            if key is not None:
                return key
            wait = self._promote()
            self._wakeup.clear()
            await self.clock.wait_event(self._wakeup, wait)
        return None

    def done(self, key: str, scheduled: bool = False) -> None:
        self._in_flight.discard(key)
        if scheduled:
            self.attempts.pop(key, None)

    def close(self) -> None:
        self.closed = True
        self._wakeup.set()
