"""WorkQueue: keys to reconcile, deduplicated, never handed to two workers at once, with backoff.

add(key) queues a key unless it is already waiting; a key being processed that is added
again is re-queued when its worker calls done(key). add_after(key, delay) and
add_rate_limited(key) (exponential backoff per key: base * 2**failures, capped) delay it;
forget(key) resets the backoff. shutdown() makes get() return None.

Each task waiting in get() waits on a future of its own, in a FIFO: a key that becomes ready
wakes one waiter, not all of them (with an Event, every idle worker woke for every key added
and all but one went back to sleep; 64 idle workers cost ~166 us of CPU per key, uvloop).
A woken waiter that is cancelled before it takes a key passes the wake-up on to the next one.
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
        self._waiters: deque[asyncio.Future] = deque()   # tasks waiting in get(), first come first woken
        self._timed: asyncio.Future | None = None          # the waiter timing the delayed keys
        self.shutting_down = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: str) -> None:
        if self.shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._wake_one()

    def _wake_one(self) -> None:
        """Wake the first waiter still waiting, for a key (its future's result: True). The waiter
        timing the delayed keys is passed over while another one waits."""
        waiters, timed = self._waiters, None
        while waiters:
            w = waiters.popleft()
            if w.done():
                continue
            if w is self._timed and timed is None:
                timed = w
                continue
            w.set_result(True)
            if timed is not None:
                waiters.appendleft(timed)
            return
        if timed is not None:
            timed.set_result(True)

    def _retime(self) -> None:
        """The earliest delayed key changed: the waiter timing them (else the first waiter) wakes
        to wait for the new time (result False: not woken for a key)."""
        w = self._timed
        if w is None or w.done():
            w = next((x for x in self._waiters if not x.done()), None)
        if w is not None:
            w.set_result(False)

    def add_after(self, key: str, delay: float) -> None:
        if self.shutting_down:
            return
        if delay <= 0:
            self.add(key)
            return
        self._seq += 1
        due = self.clock.monotonic() + delay
        earliest = not self._delayed or due < self._delayed[0][0]
        heapq.heappush(self._delayed, (due, self._seq, key))
        if earliest:
            self._retime()

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
        if not self._delayed:
            return None                 # nothing delayed: no need to read the clock
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
        """Wait for the next key; None after shutdown. One waiter at a time waits with a timeout,
        until the earliest delayed key is due; the others wait for a key without one."""
        while True:
            if self.shutting_down:
                return None
            key = self.get_nowait()
            if key is not None:
                return key
            wait = self.promote_due()
            fut = asyncio.get_running_loop().create_future()
            self._waiters.append(fut)
            if wait is not None and (self._timed is None or self._timed.done()):
                self._timed = fut
            else:
                wait = None
            try:
                await self.clock.wait_future(fut, wait)
            except asyncio.CancelledError:
                if fut.done() and not fut.cancelled() and fut.result():
                    self._wake_one()        # woken for a key it will not take: pass it on
                else:
                    self._drop(fut)
                raise
            finally:
                if self._timed is fut:
                    self._timed = None
            if not fut.result():
                self._drop(fut)             # its timeout, or a new earliest delay: still in the FIFO

    def _drop(self, fut: asyncio.Future) -> None:
        try:
            self._waiters.remove(fut)
        except ValueError:
            pass

    def done(self, key: str) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._wake_one()

    def shutdown(self) -> None:
        """get() returns None from now on; every waiter wakes."""
        self.shutting_down = True
        while self._waiters:
            w = self._waiters.popleft()
            if not w.done():
                w.set_result(True)

    @property
    def idle(self) -> bool:
        return not self._queue and not self._processing
