"""Watch fan-out: a bounded in-memory event history plus per-watcher bounded buffers.

Every committed event is appended to the history and pushed at once to each watcher
whose prefix matches (found through routes: the watchers that can match keys of one directory,
worked out once per directory and kept until a watcher comes or goes). A watcher that falls more than `buffer` events behind is closed
(the client re-watches from its last revision) so one slow client cannot stall others
or grow memory without bound. Watching from a revision older than the history raises
Expired (410 Gone).
"""
from __future__ import annotations

import asyncio
from collections import deque

from .errors import Expired
from .interface import Event, Watch


TIMEOUT = "timeout"


def _expire(fut: asyncio.Future) -> None:
    if not fut.done():
        fut.set_result(TIMEOUT)


class HubWatch(Watch):
    """One watcher's bounded queue of events, read by one consumer.

    The consumer waits on a bare future that push() resolves and, with a timeout, one timer
    handle resolves with TIMEOUT: every delivery to a waiting watcher is one such wait, and an
    asyncio.Event plus asyncio.timeout() cost about twice as much (a Timeout object, its
    reschedule and cancel bookkeeping, the Event's waiter list) at 100 watchers per write."""

    def __init__(self, hub: "WatchHub", prefix: str, buffer: int, from_rev: int):
        self._hub = hub
        self.prefix = prefix
        self.from_rev = from_rev
        self._buffer = buffer
        self._queue: deque[Event] = deque()
        self._waiter: asyncio.Future | None = None
        self._closed = False
        self._reason: str | None = None
        # set by a consumer that can take events as they are published (sink(event) -> True when
        # taken); used only while nothing is queued, so events keep their order
        self.sink = None

    def _wake(self) -> None:
        w = self._waiter
        if w is not None and not w.done():
            w.set_result(None)

    def push(self, event: Event) -> None:
        if self._closed or event.rev <= self.from_rev:
            return
        sink = self.sink
        if sink is not None and not self._queue:
            try:
                if sink(event):
                    return
            except Exception:  # noqa: BLE001 - one watcher's failure stays its own: it queues, its task meets it
                self.sink = None
        if len(self._queue) >= self._buffer:
            self._end("watcher fell too far behind")
            return
        self._queue.append(event)
        if self._waiter is not None:
            self._wake()

    def _end(self, reason: str | None) -> None:
        self._closed = True
        self.sink = None
        self._reason = reason
        self._wake()
        self._hub.remove(self)

    async def _wait(self, timeout: float | None):
        """Until push() or the end wakes this watcher (None), or TIMEOUT after `timeout` seconds."""
        loop = asyncio.get_running_loop()
        fut = self._waiter = loop.create_future()
        timer = loop.call_later(timeout, _expire, fut) if timeout is not None else None
        try:
            return await fut
        finally:
            self._waiter = None
            if timer is not None:
                timer.cancel()

    def close(self) -> None:
        if not self._closed:
            self._end(None)

    @property
    def closed_reason(self) -> str | None:
        return self._reason

    async def next_event(self, timeout: float | None = None):
        """The next event; TIMEOUT when none came within timeout; None once the watch ended."""
        while not self._queue:
            if self._closed:
                return None
            if await self._wait(timeout) == TIMEOUT and not self._queue and not self._closed:
                return TIMEOUT
        return self._queue.popleft()

    def next_event_nowait(self):
        return self._queue.popleft() if self._queue else None

    def __aiter__(self):
        return self._iterate()

    async def _iterate(self):
        while True:
            while self._queue:
                yield self._queue.popleft()
            if self._closed:
                return
            await self._wait(None)


ROUTES_MAX = 4096  # directories whose routes are kept at once (all dropped beyond it)


class WatchHub:
    """History of the last `history` events and the set of live watchers.

    publish() does not try every watcher's prefix on every event (a cluster's apiserver holds
    tens of watchers, of which a pod event concerns a handful): a key's directory (the key up to
    its last "/") names its route, the watchers whose prefix the directory starts with (they
    match every key in it) and those whose prefix goes on into the key's last segment (when
    there is one, every watcher of the route is checked against the key, as before). Routes
    are built from the watcher set in its iteration order, so the matching watchers are pushed
    to in the order the plain loop took, and are all dropped whenever a watcher is added or
    removed."""

    def __init__(self, start_rev: int, history: int = 10000, buffer: int = 10000):
        self._events: deque[tuple] = deque()  # (type, key, rev, text, prev_text)
        self._limit = max(1, history)
        self._buffer = buffer
        self.compacted = start_rev  # events with rev <= compacted may be missing
        self._watchers: set[HubWatch] = set()
        self._routes: dict[str, tuple[tuple[HubWatch, ...], bool]] = {}
        self.last_rev = start_rev  # revision of the newest published (committed) event

    def publish(self, event: Event) -> None:
        # history keeps only the text; live watchers share the event (decoded once)
        self._events.append((event.type, event.key, event.rev, event.text, event.prev_text))
        self.last_rev = max(self.last_rev, event.rev)
        if len(self._events) > self._limit:
            self.compacted = self._events.popleft()[2]
        key = event.key
        head = key[:key.rfind("/") + 1]
        route = self._routes.get(head)
        if route is None:
            route = self._route(head)
        watchers, check = route
        if check:
            for w in watchers:
                if key.startswith(w.prefix):
                    w.push(event)
        else:
            for w in watchers:
                w.push(event)

    def _route(self, head: str) -> tuple[tuple[HubWatch, ...], bool]:
        """The watchers that may match a key made of head and one segment without "/", in the
        watcher set's order, and whether each must still be checked against the key:
        key.startswith(prefix) is head.startswith(prefix) when the prefix is no longer than
        head (true for every key in the directory), else prefix.startswith(head) and the rest."""
        watchers, check = [], False
        for w in self._watchers:
            if head.startswith(w.prefix):
                watchers.append(w)
            elif w.prefix.startswith(head):
                watchers.append(w)
                check = True
        if len(self._routes) >= ROUTES_MAX:
            self._routes.clear()
        route = self._routes[head] = (tuple(watchers), check)
        return route

    def watch(self, prefix: str, from_rev: int) -> HubWatch:
        if from_rev < self.compacted:
            raise Expired(from_rev, self.compacted + 1)
        w = HubWatch(self, prefix, self._buffer, from_rev)
        for typ, key, rev, text, prev_text in self._events:
            if rev > from_rev and key.startswith(prefix):
                w.push(Event(typ, key, rev, text, prev_text))
        self._watchers.add(w)
        self._routes.clear()
        return w

    def remove(self, w: HubWatch) -> None:
        if w in self._watchers:
            self._watchers.discard(w)
            self._routes.clear()

    def close_all(self) -> None:
        for w in list(self._watchers):
            w.close()

    @property
    def watcher_count(self) -> int:
        return len(self._watchers)
