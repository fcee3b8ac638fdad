"""EventRecorder: record core/v1 Events about objects (what `kubectl describe` shows).

Repeats of the same (object uid, type, reason, message) are folded into one Event whose
count and lastTimestamp go up, as the real recorder does. Failures are logged, never raised.

Spam filter (client-go's default): each involved object gets a bucket of 25 events, refilled
by one every 5 minutes; events beyond that are dropped (counted in `dropped`), so a
controller creating 10,000 pods for one ReplicaSet does not write 10,000 Events about it.
"""
from __future__ import annotations

import logging

from .clock import Clock
from .errors import ApiError

log = logging.getLogger(__name__)
SPAM_BURST = 25
SPAM_REFILL_S = 300.0
MAX_TRACKED = 4096

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
