"""Where a pod's start-up time goes on this node, measured by its pod worker: wall-clock
stamps (seconds since the epoch, same clock as the other lab processes on one host) and the
duration of each step of the first start. Served as JSON by the kubelet's
`GET /debug/podStartup` (bench/pods.py reads it to split the start-up latency).

Steps: `sandbox` (netns + CNI), `volumes`, `image` (ensure: cache lookup or pull), `create`
(bundle, overlay, config.json), `start` (crun start); first-start durations summed over
init and app containers. Stamps: `seen` (the worker got the pod), `running_sent` /
`ready_sent` (the status PATCH saying phase Running / Ready=True was sent: the time it
left, recorded once the apiserver accepted it).
"""
from __future__ import annotations

import time
from contextlib import contextmanager

STEPS = ("sandbox", "volumes", "image", "create", "start")
KEEP = 2000                             # forget the oldest records beyond this many pods


class StartupTimings:
    def __init__(self, pod: dict):
        meta = pod["metadata"]
        self.namespace, self.name, self.uid = meta["namespace"], meta["name"], meta["uid"]
        self.seen = time.time()
        self.steps: dict[str, float] = {}
        self.running_sent: float | None = None
        self.ready_sent: float | None = None
        self.first_start_done = False

    @contextmanager
    def step(self, name: str, first_only: bool = True):
        """Time one step (summed when repeated); after the first start only if not ``first_only``."""
        if first_only and self.first_start_done:
            yield
            return
        t0 = time.monotonic()
        try:
            yield
        finally:
            self.steps[name] = self.steps.get(name, 0.0) + time.monotonic() - t0

    def status_sent(self, status: dict, at: float) -> None:
        """A status was accepted; ``at`` is when its PATCH was sent."""
        now = at
        if self.running_sent is None and status.get("phase") == "Running":
            self.running_sent = now
            self.first_start_done = True
        if self.ready_sent is None and any(c.get("type") == "Ready" and c.get("status") == "True"
                                           for c in status.get("conditions") or []):
            self.ready_sent = now

    def as_dict(self) -> dict:
        return {"namespace": self.namespace, "name": self.name, "uid": self.uid, "seen": self.seen,
                "running_sent": self.running_sent, "ready_sent": self.ready_sent,
                "steps": {k: round(v, 6) for k, v in self.steps.items()}}


class StartupLog:
    """The records of the pods this kubelet started (newest KEEP), by uid."""

    def __init__(self):
        self.records: dict[str, StartupTimings] = {}

    def new(self, pod: dict) -> StartupTimings:
        t = StartupTimings(pod)
        self.records[t.uid] = t
        while len(self.records) > KEEP:
            self.records.pop(next(iter(self.records)))
        return t

    def as_list(self, namespace: str | None = None) -> list[dict]:
        return [t.as_dict() for t in self.records.values() if namespace in (None, t.namespace)]
