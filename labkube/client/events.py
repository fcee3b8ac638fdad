"""EventRecorder: record core/v1 Events about objects (what `kubectl describe` shows).

Repeats of the same (object uid, type, reason, message) are folded into one Event whose
count and lastTimestamp go up, as the real recorder does. Failures are logged, never raised.

Spam filter (client-go's default): each involved object gets a bucket of 25 events, refilled
by one every 5 minutes; events beyond that are dropped (counted in `dropped`), so a
controller creating 10,000 pods for one ReplicaSet does not write 10,000 Events about it.

`EventQueue` writes through a recorder in the background, as client-go's event broadcaster
does for kube-scheduler: `emit` queues the event and returns at once; one writer sends the
queue at most `qps` Events a second after a burst of `burst` (kube-scheduler's event client
has the default client-connection limits, 50 and 100); while `max_queued` events wait
(client-go's maxQueuedEvents, 1000) a new one is dropped and counted. Events are best effort
there too: a scheduler binding hundreds of pods a second spends its API writes on bindings,
and its Scheduled Events trail behind or are dropped.
"""
from __future__ import annotations

import asyncio
import logging
from collections import deque

from .clock import Clock
from .errors import ApiError

log = logging.getLogger(__name__)
SPAM_BURST = 25
SPAM_REFILL_S = 300.0
MAX_TRACKED = 4096

EVENT_QPS = 50.0
EVENT_BURST = 100
MAX_QUEUED = 1000
EVENTS_IN_FLIGHT = 4

NORMAL = "Normal"
WARNING = "Warning"


class EventRecorder:
    def __init__(self, client, component: str, host: str | None = None, clock: Clock | None = None,
                 spam_burst: int = SPAM_BURST, spam_refill_s: float = SPAM_REFILL_S):
        self.client = client
        self.component = component
        self.host = host
        self.clock = clock or Clock()
        self._seen: dict[tuple, tuple[str, str, int]] = {}   # key -> (namespace, name, count)
        self._seq = 0
        self.spam_burst, self.spam_refill_s = spam_burst, spam_refill_s
        self._buckets: dict[tuple, tuple[float, float]] = {}   # involved object -> (tokens, when)
        self.dropped = 0

    def _allow(self, obj: dict) -> bool:
        """Take a token from the involved object's bucket (False: none left, drop the event)."""
        md = obj.get("metadata") or {}
        key = (obj.get("kind"), md.get("namespace"), md.get("name"), md.get("uid"), obj.get("apiVersion"))
        now = self.clock.monotonic()
        tokens, then = self._buckets.get(key, (float(self.spam_burst), now))
        tokens = min(float(self.spam_burst), tokens + (now - then) / self.spam_refill_s)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            self.dropped += 1
            return False
        if len(self._buckets) > MAX_TRACKED and key not in self._buckets:
            self._buckets.clear()
        self._buckets[key] = (tokens - 1, now)
        return True

    def _name(self, obj_name: str) -> str:
        self._seq += 1
        nanos = int(self.clock.now().timestamp() * 1e9) + self._seq
        return f"{obj_name}.{nanos:x}"

    async def event(self, obj: dict, type_: str, reason: str, message: str) -> dict | None:
        if not self._allow(obj):
            log.debug("event %s %s about %s dropped (spam filter)", type_, reason, (obj.get("metadata") or {}).get("name"))
            return None
        md = obj.get("metadata") or {}
        ns = md.get("namespace") or "default"
        key = (md.get("uid"), md.get("name"), type_, reason, message)
        now = self.clock.now_str()
        seen = self._seen.get(key)
        if seen is not None:
            ev_ns, ev_name, count = seen
            try:
                out = await self.client.patch("events", ev_name, {"count": count + 1, "lastTimestamp": now},
                                              namespace=ev_ns)
                self._seen[key] = (ev_ns, ev_name, count + 1)
                return out
            except ApiError as e:
                if e.code != 404:
                    log.warning("cannot update event %s/%s: %s", ev_ns, ev_name, e)
                    return None
            except Exception as e:  # noqa: BLE001 - events are best effort
                log.warning("cannot update event %s/%s: %r", ev_ns, ev_name, e)
                return None
        involved = {"kind": obj.get("kind"), "namespace": md.get("namespace"), "name": md.get("name"),
                    "uid": md.get("uid"), "apiVersion": obj.get("apiVersion"),
                    "resourceVersion": md.get("resourceVersion")}
        source = {"component": self.component}
        if self.host:
            source["host"] = self.host
        body = {"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": self._name(md.get("name", "unknown")), "namespace": ns},
                "involvedObject": {k: v for k, v in involved.items() if v is not None},
                "reason": reason, "message": message, "type": type_, "source": source,
                "firstTimestamp": now, "lastTimestamp": now, "count": 1,
                "reportingComponent": self.component, "reportingInstance": self.host or "",
                "eventTime": None}
        try:
            out = await self.client.create("events", body, namespace=ns)
        except Exception as e:  # noqa: BLE001 - events are best effort
            log.warning("cannot record event %s %s on %s/%s: %s", type_, reason, ns, md.get("name"), e)
            return None
        if len(self._seen) > MAX_TRACKED:
            self._seen.clear()
        self._seen[key] = (ns, body["metadata"]["name"], 1)
        return out

    async def normal(self, obj: dict, reason: str, message: str):
        return await self.event(obj, NORMAL, reason, message)

    async def warning(self, obj: dict, reason: str, message: str):
        return await self.event(obj, WARNING, reason, message)


class EventQueue:
    """Events about objects written in the background through `recorder` (see the module doc)."""

    def __init__(self, recorder: EventRecorder, qps: float = EVENT_QPS, burst: int = EVENT_BURST,
                 max_queued: int = MAX_QUEUED, in_flight: int = EVENTS_IN_FLIGHT):
        if qps <= 0 or burst < 1 or max_queued < 1 or in_flight < 1:
            raise ValueError("EventQueue: qps must be > 0, burst, max_queued and in_flight >= 1")
        self.recorder = recorder
        self.qps, self.burst, self.max_queued = qps, burst, max_queued
        self.dropped = 0                    # events dropped because the queue was full
        self._queue: deque[tuple] = deque()
        self._tokens = float(burst)
        self._refilled = recorder.clock.monotonic()
        self._slots = asyncio.Semaphore(in_flight)
        self._writes: set[asyncio.Task] = set()
        self._writer: asyncio.Task | None = None
        self._closed = False

    def __len__(self) -> int:
        return len(self._queue)

    def emit(self, obj: dict, type_: str, reason: str, message: str) -> bool:
        """Queue an Event about obj (False: the queue was full or closed, the event is dropped)."""
        if self._closed or len(self._queue) >= self.max_queued:
            self.dropped += 1
            log.debug("event %s %s about %s dropped (%d queued)", type_, reason,
                      (obj.get("metadata") or {}).get("name"), len(self._queue))
            return False
        self._queue.append((obj, type_, reason, message))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(self._drain())
        return True

    def normal(self, obj: dict, reason: str, message: str) -> bool:
        return self.emit(obj, NORMAL, reason, message)

    def warning(self, obj: dict, reason: str, message: str) -> bool:
        return self.emit(obj, WARNING, reason, message)

    async def _token(self) -> None:
        clock = self.recorder.clock
        while True:
            now = clock.monotonic()
            self._tokens = min(float(self.burst), self._tokens + (now - self._refilled) * self.qps)
            self._refilled = now
            if self._tokens >= 1 - 1e-9:       # (float sums of the refills fall just short of 1)
                self._tokens = max(0.0, self._tokens - 1)
                return
            await clock.sleep((1 - self._tokens) / self.qps)

    async def _drain(self) -> None:
        while self._queue:
            await self._token()
            await self._slots.acquire()
            item = self._queue.popleft()
            t = asyncio.get_running_loop().create_task(self._write(item))
            self._writes.add(t)
            t.add_done_callback(self._writes.discard)

    async def _write(self, item: tuple) -> None:
        try:
            await self.recorder.event(*item)        # logs its own failures
        finally:
            self._slots.release()

    async def flush(self) -> None:
        """Wait until every queued event has been written (tests, an orderly stop)."""
        while (self._writer is not None and not self._writer.done()) or self._writes:
            await asyncio.gather(*[t for t in (self._writer, *self._writes) if t is not None],
                                 return_exceptions=True)

    def close(self) -> None:
        """Stop writing: queued and later events are dropped."""
        self._closed = True
        for t in (self._writer, *self._writes):
            if t is not None:
                t.cancel()
        self._queue.clear()
