"""HollowFleet: N hollow nodes and their pods in one asyncio loop, over one client.

Nodes register with bounded concurrency; each then renews its Lease every
`lease_interval` seconds and re-posts its status every `status_interval` seconds, each
node at its own random phase so the heartbeats are spread evenly over the interval.

Concurrency is sized for a busy apiserver: 1,000 nodes renew 100 Leases/s, so at 0.5 s per
write 50 must be in flight just to keep up (real kubelets each have their own connection); with
too few slots renewals queue up, Leases go stale and the node lifecycle controller marks
healthy nodes Unknown.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time

from labkube.tasks import run_all

from .node import HollowNode, NodeConfig, pod_cidr
from .pods import HollowPods

# connections the pod status writers' requests are pipelined on (Client.pipelined): one per two
# writers (128 by default), so a write never waits behind another connection's batch in flight, and
# the writes queued in one loop pass still share a write. Fewer fell behind fast drains (bench/scale.py
# full runs, Running at the last binding: 8 connections 0.66 at 2,426 pods/s; 16: 0.97, 0.98, 0.95,
# then 0.71 at 2,516 pods/s; 64: 0.99, 0.98; 2026-12-04)
STATUS_CONNECTIONS = 64

log = logging.getLogger(__name__)


class HollowFleet:
    def __init__(self, client, count: int, prefix: str = "hollow-", start_index: int = 0,
                 lease_interval: float = 10.0, status_interval: float = 300.0, concurrency: int = 128,
                 labels: dict | None = None, taints: list | None = None, lease_duration: int = 40):
        self.client = client
        self.lease_interval = lease_interval
        self.status_interval = status_interval
        self.sem = asyncio.Semaphore(concurrency)
        self.nodes: dict[str, HollowNode] = {}
        for i in range(start_index, start_index + count):
            name = f"{prefix}{i}"
            cfg = NodeConfig(node_name=name, pod_cidr=pod_cidr(i), node_lease_duration_seconds=lease_duration,
                             node_labels={"type": "hollow", **(labels or {})}, register_with_taints=list(taints or []))
            self.nodes[name] = HollowNode(client, cfg)
        # pod status writers: as many as the request slots (128 by default). This pacing moves
        # bench/scale.py's drain figures, as a property of these fake kubelets, not of the scheduler:
        # real kubelets would not queue their status writes behind each other's, and fewer writers
        # move work out of the drain window rather than save any. With 128 bindings in flight
        # (2,000 pods, 2026-12-03): 128 writers kept up (last pod Running 0.04-0.05 s after the
        # last binding), 64 lagged 0.29-0.42 s, 32 0.62-0.70 s. Once the bindings and these writes
        # went pipelined (2026-12-04), 64 writers fell behind the faster drains at 64 bindings in
        # flight (Running at the last binding 0.73, 0.73, 0.99; 0.77, 0.76, 1.0; 0.99, 0.99) where
        # 128 kept up (0.99, 1.0, 0.99).
        # their writes go pipelined on a few connections (Client.pipelined; a fake client has none):
        # a burst of them shares the reads, TLS records, writes and loop passes of both sides
        pipelined = getattr(client, "pipelined", None)
        self.pods = HollowPods(client, self.nodes, workers=concurrency,
                               status_client=pipelined(STATUS_CONNECTIONS) if pipelined is not None else None)
        self.registered = asyncio.Event()
        self._count = 0

    async def _call(self, fn, what: str) -> None:
        """fn() under the concurrency limit, retried with back-off until it works."""
        delay = 0.5
        while True:
            try:
                async with self.sem:
                    await fn()
                return
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - apiserver busy or not up yet
                log.warning("%s failed (%s); retrying in %.1fs", what, e, delay)
                await asyncio.sleep(delay * random.uniform(0.5, 1.5))
                delay = min(delay * 2, 10)

    async def _node(self, node: HollowNode) -> None:
        await self._call(node.register, f"registering {node.name}")
        await self._call(node.renew_lease, f"lease of {node.name}")
        self._count += 1
        if self._count == len(self.nodes):
            self.registered.set()
        next_status = time.monotonic() + random.uniform(0.5, 1.0) * self.status_interval
        await asyncio.sleep(random.uniform(0, self.lease_interval))
        while True:
            await self._call(node.renew_lease, f"lease of {node.name}")
            if time.monotonic() >= next_status:
                await self._call(node.update_status, f"status of {node.name}")
                next_status += self.status_interval
            await asyncio.sleep(self.lease_interval)

    async def run(self) -> None:
        t0 = time.monotonic()
        tasks = [asyncio.create_task(self.pods.run())]
        tasks += [asyncio.create_task(self._node(n)) for n in self.nodes.values()]

        async def announce():
            await self.registered.wait()
            log.info("%d hollow nodes registered in %.1fs", len(self.nodes), time.monotonic() - t0)
        tasks.append(asyncio.create_task(announce()))
        await run_all(tasks)
