"""Pod stamps for benchmarks: a pod informer over one namespace that records when each pod was
first seen at all, bound to a node, Running and Ready (client-side clock), plus `until`, the
polling wait the benchmarks use. Shared by bench/pods.py and bench/scale.py.
"""
from __future__ import annotations

import asyncio
import time
from typing import Callable

from labkube.client.informer import Informer
from labkube.kubelet.hollow.lines import LineReader


def stamp_view(pod: dict) -> dict:
    """The little of a pod the tracker reads (names, node, phase, conditions): cheaper to build
    than the informer's default compact copy of the whole pod, and the benchmark process shares
    the cores with the components it measures (literals, not comprehensions: this runs on every
    pod event of the drain)."""
    md, st = pod.get("metadata") or {}, pod.get("status") or {}
    return {"metadata": {"name": md.get("name"), "namespace": md.get("namespace"),
                         "resourceVersion": md.get("resourceVersion")},
            "spec": {"nodeName": (pod.get("spec") or {}).get("nodeName")},
            "status": {"phase": st.get("phase"), "conditions": st.get("conditions")}}


class PodTracker:
    """When each pod (by name) of `namespace` was first seen, bound, Running and Ready, by `clock`
    (time.time by default; time.monotonic to compare with monotonic phase starts), and its node."""

    def __init__(self, client, namespace: str, clock: Callable[[], float] = time.time):
        self.inf = Informer(client, "pods", namespace=namespace, transform=stamp_view)
        # pod lines read without their managedFields, a status write from its tail (same events,
        # same views: the stamps are taken as from whole decodes)
        self.lines = LineReader(self.inf)
        self.clock = clock
        self.created: dict[str, float] = {}
        self.bound: dict[str, float] = {}
        self.running: dict[str, float] = {}
        self.ready: dict[str, float] = {}
        self.nodes: dict[str, str] = {}
        self.updates = 0                   # pod updates seen (each one a write to the apiserver)
        self.inf.add_handlers(self._seen, self._updated, None)

    async def start(self) -> "PodTracker":
        """Start the informer and wait for its first list."""
        self.inf.start()
        await self.inf.wait_synced()
        return self

    async def stop(self) -> None:
        await self.inf.stop()

    def _updated(self, old: dict, new: dict) -> None:
        self.updates += 1
        self._seen(new)

    def _seen(self, pod: dict) -> None:
        """Stamp what `pod` shows for the first time (a stamp, once set, stays)."""
        name, now = pod["metadata"]["name"], self.clock()
        if name not in self.created:
            self.created[name] = now
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            if name not in self.bound:
                self.bound[name] = now
            self.nodes[name] = node
        if name in self.ready and name in self.running:
            return
        st = pod.get("status") or {}
        if st.get("phase") == "Running" and name not in self.running:
            self.running[name] = now
        if name not in self.ready:
            for c in st.get("conditions") or ():
                if c.get("type") == "Ready" and c.get("status") == "True":
                    self.ready[name] = now
                    break


async def until(pred: Callable[[], bool], timeout: float, step: float = 0.1) -> bool:
    """Poll pred() every `step` seconds until it holds (True) or `timeout` passes (its last value)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        await asyncio.sleep(step)
    return pred()
