"""WorkQueue: keys to reconcile, deduplicated, never handed to two workers at once, with backoff.

add(key) queues a key unless it is already waiting; a key being processed that is added
again is re-queued when its worker calls done(key). add_after(key, delay) and
add_rate_limited(key) (exponential backoff per key: base * 2**failures, capped) delay it;
forget(key) resets the backoff. shutdown() makes get() return None.
"""
from __future__ import annotations

import asyncio
import heapq
from collections import deque

from .clock import Clock


class WorkQueue:
    def __init__(self, clock: Clock | None = None, base_delay: float = 0.005, max_delay: float = 300.0):
        self.clock = clock or Clock()
        self.base_delay = base_delay
        self.max_delay = max_delay
        self._queue: deque[str] = deque()
        self._dirty: set[str] = set()
        self._processing: set[str] = set()
        self._delayed: list[tuple[float, int, str]] = []
        self._seq = 0
        self._failures: dict[str, int] = {}
        self._wakeup = asyncio.Event()
        self.shutting_down = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: str) -> None:
        if self.shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._wakeup.set()

    def add_after(self, key: str, delay: float) -> None:
        if self.shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        self._seq += 1
        heapq.heappush(self._delayed, (self.clock.monotonic() + delay, self._seq, key))
        self._wakeup.set()

    def backoff(self, key: str) -> float:
        n = min(self._failures.get(key, 0), 62)        # 2**n stays a sane float
        return min(self.base_delay * (2 ** n), self.max_delay)

    def add_rate_limited(self, key: str) -> None:
        delay = self.backoff(key)
        self._failures[key] = self._failures.get(key, 0) + 1
        self.add_after(key, delay)

    def forget(self, key: str) -> None:
        self._failures.pop(key, None)

    def num_requeues(self, key: str) -> int:
        return self._failures.get(key, 0)

    def promote_due(self) -> float | None:
        """Move delayed keys whose time has come into the queue; seconds until the next, or None."""
        now = self.clock.monotonic()
        while self._delayed and self._delayed[0][0] <= now:
            _, _, key = heapq.heappop(self._delayed)
            self.add(key)
        return (self._delayed[0][0] - now) if self._delayed else None

    def get_nowait(self) -> str | None:
        """The next ready key (marked as processing), or None when nothing is ready."""
        self.promote_due()
        if not self._queue:
            return None
        key = self._queue.popleft()
        self._processing.add(key)
        self._dirty.discard(key)
        return key

    async def get(self) -> str | None:
        """Wait for the next key; None after shutdown."""
        while True:
            if self.shutting_down:
                return None
            key = self.get_nowait()
            if key is not None:
                return key
            wait = self.promote_due()
            self._wakeup.clear()
            await self.clock.wait_event(self._wakeup, wait)

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wakeup.set()

    def shutdown(self) -> None:
        self.shutting_down = True
        self._wakeup.set()

    @property
    def idle(self) -> bool:
        return not self._queue and not self._processing
