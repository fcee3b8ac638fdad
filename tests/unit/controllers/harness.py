"""Test harness: controllers on the FakeApi with a FakeClock, driven to quiescence without sleeping,
plus a tiny simulated kubelet that marks pods running/ready and finishes graceful deletions."""
from __future__ import annotations

from labkube.client.clock import FakeClock
from labkube.client.fake import FakeApi
from labkube.client.factory import InformerFactory
from labkube.controllers.manager import MANAGER_TRANSFORMS
from labkube.controllers.podlines import install as install_pod_lines


class Harness:
    def __init__(self, *controller_classes, settings=None, clock=None):
        self.clock = clock or FakeClock()
        self.api = FakeApi(clock=self.clock)
        self.factory = InformerFactory(self.api, transforms=MANAGER_TRANSFORMS)   # as the controller-manager
        self.controllers = [c(self.api, self.factory, self.clock, settings or {}) for c in controller_classes]
        self.pod_lines = install_pod_lines(self.factory)     # as the controller-manager (manager.py)
        self.kubelet = False          # when True, pods become Running+Ready and deletions complete

    async def start(self):
        self.factory.start()
        await self.factory.wait_synced()
        await self.api.settle()

    async def run(self, max_rounds: int = 300, check=None):
        """Process every queued key (and simulated kubelet work) until nothing changes;
        check(self) is called after every round (invariants)."""
        budget = 20000                 # a hot loop (a sync that wakes itself forever) fails fast
        for _ in range(max_rounds):
            await self.api.settle()
            if check is not None:
                check(self)
            worked = False
            if self.kubelet:
                worked = await self.kubelet_step()
            for c in self.controllers:
                while (key := c.queue.get_nowait()) is not None:
                    worked = True
                    budget -= 1
                    assert budget > 0, f"{c.name} keeps requeueing {key}: hot loop"
                    await c.process_one(key)
                    await self.api.settle()
            if not worked and self.api.pending() == 0:
                if self.advance_to_status_batch():
                    continue
                return
        raise AssertionError("controllers did not settle")

    def advance_to_status_batch(self) -> bool:
        """Move the clock to the earliest batched status-only sync of a ReplicaSet controller
        (replicaset.py's status batching: the real clock would get there within the batch period),
        so that run() settles where it did without batching. False when none is due."""
        dues = [d for c in self.controllers if (d := getattr(c, "status_due", lambda: None)()) is not None]
        if not dues:
            return False
        wait = min(dues) - self.clock.monotonic()
        if wait > 0:
            self.clock.advance(wait)
        return True

    async def kubelet_step(self) -> bool:
        changed = False
        for p in self.api.all("pods"):
            md = p["metadata"]
            if md.get("deletionTimestamp"):
                await self.api.delete("pods", md["name"], md["namespace"], grace_period_seconds=0)
                changed = True
            elif not p["spec"].get("nodeName"):
                from labkube.controllers.daemonset import target_node
                await self.api.post_subresource("pods", md["name"], "binding",
                                                {"target": {"name": target_node(p) or "w1"}}, md["namespace"])
                changed = True
            elif p["status"].get("phase") != "Running":
                await self.ready(md["name"], md["namespace"])
                changed = True
        return changed

    async def ready(self, name, ns="default", ready=True):
        p = await self.api.get("pods", name, ns)
        p["status"] = {"phase": "Running", "podIP": "10.244.1.5", "conditions": [
            {"type": "Ready", "status": "True" if ready else "False",
             "lastTransitionTime": self.clock.now_str()}]}
        await self.api.replace("pods", name, p, ns, subresource="status")

    def pods(self, ns="default"):
        return self.api.all("pods", ns)

    def events(self, reason=None):
        return [e for e in self.api.all("events") if reason is None or e["reason"] == reason]


def rs_obj(name, replicas=2, labels=None, min_ready=0):
    labels = labels or {"app": name}
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas, "minReadySeconds": min_ready, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels},
                                  "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}


def deploy_obj(name, replicas=3, image="busybox:1", strategy=None, **spec):
    labels = {"app": name}
    d = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
         "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels},
                               "spec": {"containers": [{"name": "c", "image": image}]}}, **spec}}
    if strategy:
        d["spec"]["strategy"] = strategy
    return d
