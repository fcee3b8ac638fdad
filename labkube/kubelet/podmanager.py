"""Watch this node's pods (fieldSelector spec.nodeName=<node>) and keep one worker per pod.

On start (and on every relist) the pods listed are matched with the sandboxes and
containers the runtime already has: a restarted kubelet adopts running containers
instead of killing them; runtime state of pods that no longer exist is torn down.
"""
from __future__ import annotations

import asyncio
import logging

from .podworker import PodWorker

log = logging.getLogger(__name__)


class PodManager:
    def __init__(self, kl):
        self.kl = kl
        self.workers: dict[str, PodWorker] = {}
        self.synced = asyncio.Event()

    @property
    def selector(self) -> str:
        return f"spec.nodeName={self.kl.cfg.node_name}"

    def find(self, namespace: str, name: str) -> PodWorker | None:
        for w in self.workers.values():
            if w.namespace == namespace and w.name == name:
                return w
        return None

    async def run(self) -> None:
        while True:
            try:
                rv = await self.relist()
                async for ev in self.kl.client.watch("pods", resource_version=rv, field_selector=self.selector):
                    self.handle(ev.get("type"), ev.get("object") or {})
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - 410 Gone, connection loss: relist
                log.info("pod watch ended (%s); relisting", e)
                await asyncio.sleep(1)

    async def relist(self) -> str | None:
        res = await self.kl.client.list_raw("pods", field_selector=self.selector)
        pods = res.get("items") or []
        rv = (res.get("metadata") or {}).get("resourceVersion")
        live = {p["metadata"]["uid"]: p for p in pods}
        if not self.synced.is_set():
            await self.adopt(live)
        for uid, w in list(self.workers.items()):
            if uid not in live:
                w.remove()
        for p in pods:
            self.handle("MODIFIED", p)
        self.synced.set()
        return rv

    async def adopt(self, live: dict) -> None:
        """Hand existing runtime state to workers; tear down what belongs to no pod."""
        rt = self.kl.runtime
        sandboxes = await rt.list_sandboxes()
        containers = await rt.list_containers()
        for p in live.values():
            self.kl.statuses.seen(p)
        for uid, pod in live.items():
            sbs = sorted((s for s in sandboxes if s.uid == uid), key=lambda s: s.created_at)
            mine = [c for c in containers if c.pod_uid == uid]
            if sbs or mine:
                sb = sbs[-1] if sbs else None
                for extra in sbs[:-1]:
                    await rt.stop_pod_sandbox(extra.id)
                    await rt.remove_pod_sandbox(extra.id)
                w = PodWorker(self.kl, pod, sandbox=sb, containers=[c for c in mine if sb and c.sandbox_id == sb.id])
                self.workers[uid] = w
                w.start()
                log.info("adopted pod %s/%s (%d containers)", w.namespace, w.name, len(mine))
        orphans = {s.uid for s in sandboxes} | {c.pod_uid for c in containers}
        for uid in orphans - set(live):
            self.kl.background(self.kl.cleanup_orphan(uid))

    def handle(self, etype: str | None, pod: dict) -> None:
        meta = pod.get("metadata") or {}
        uid = meta.get("uid")
        if not uid:
            return
        if (pod.get("spec") or {}).get("nodeName") != self.kl.cfg.node_name:
            return
        w = self.workers.get(uid)
        if etype == "DELETED":
            if w is not None:
                w.remove()
            return
        if etype in ("ADDED", "MODIFIED"):
            if w is None:
                self.kl.statuses.seen(pod)
                w = PodWorker(self.kl, pod)
                self.workers[uid] = w
                w.start()
            else:
                w.update(pod)

    def forget(self, uid: str) -> None:
        self.workers.pop(uid, None)
