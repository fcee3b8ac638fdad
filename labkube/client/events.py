"""EventRecorder: record core/v1 Events about objects (what `kubectl describe` shows).

Repeats of the same (object uid, type, reason, message) are folded into one Event whose
count and lastTimestamp go up, as the real recorder does. Failures are logged, never raised.
"""
from __future__ import annotations

import logging

from .clock import Clock
from .errors import ApiError

log = logging.getLogger(__name__)

NORMAL = "Normal"
WARNING = "Warning"


class EventRecorder:
    def __init__(self, client, component: str, host: str | None = None, clock: Clock | None = None):
        self.client = client
        self.component = component
        self.host = host
        self.clock = clock or Clock()
        self._seen: dict[tuple, tuple[str, str, int]] = {}   # key -> (namespace, name, count)
        self._seq = 0

    def _name(self, obj_name: str) -> str:
        self._seq += 1
        nanos = int(self.clock.now().timestamp() * 1e9) + self._seq
        return f"{obj_name}.{nanos:x}"

    async def event(self, obj: dict, type_: str, reason: str, message: str) -> dict | None:
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
        if len(self._seen) > 4096:
            self._seen.clear()
        self._seen[key] = (ns, body["metadata"]["name"], 1)
        return out

    async def normal(self, obj: dict, reason: str, message: str):
        return await self.event(obj, NORMAL, reason, message)

    async def warning(self, obj: dict, reason: str, message: str):
        return await self.event(obj, WARNING, reason, message)
