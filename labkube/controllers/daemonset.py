"""DaemonSet controller: one pod per eligible node.

A node is eligible when it matches the template's node selector/affinity and every
NoSchedule/NoExecute taint is tolerated (DaemonSet pods also tolerate not-ready,
unreachable, pressure and unschedulable taints, as upstream adds). Pods are pinned with a
required node affinity on metadata.name and placed by the scheduler. Failed pods are
replaced, extra or misplaced pods deleted. RollingUpdate replaces pods of older templates
(label controller-revision-hash) keeping at most maxUnavailable nodes without an available
pod (maxSurge > 0 starts the new pod first); OnDelete waits for the user. Status carries
the counts `kubectl rollout status daemonset` reads.
"""
from __future__ import annotations

import copy

from labkube.scheduler.plugins.node_affinity import node_matches
from labkube.scheduler.plugins.taint_toleration import tolerates

from .base import Controller
from .deployment_util import resolve
from .expectations import Expectations
from .podcontrol import create_pod, delete_pod, enqueue_owner, owned_pods, pod_from_template
from .revisions import HASH_LABEL, sync_revisions
from .util import is_available, is_ready

DEFAULT_TOLERATIONS = [
    {"key": "node.kubernetes.io/not-ready", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute"},
    {"key": "node.kubernetes.io/disk-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/memory-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/pid-pressure", "operator": "Exists", "effect": "NoSchedule"},
    {"key": "node.kubernetes.io/unschedulable", "operator": "Exists", "effect": "NoSchedule"},
]


def pod_tolerations(ds: dict) -> list[dict]:
    tols = list((((ds.get("spec") or {}).get("template") or {}).get("spec") or {}).get("tolerations") or [])
    return tols + [t for t in DEFAULT_TOLERATIONS if t not in tols]


def should_run(ds: dict, node: dict) -> bool:
    tmpl_pod = {"spec": ((ds.get("spec") or {}).get("template") or {}).get("spec") or {}}
    if not node_matches(tmpl_pod, node):
        return False
    tols = pod_tolerations(ds)
    return all(tolerates(tols, t) for t in (node.get("spec") or {}).get("taints") or []
               if t.get("effect") in ("NoSchedule", "NoExecute"))


def target_node(pod: dict) -> str | None:
    spec = pod.get("spec") or {}
    if spec.get("nodeName"):
        return spec["nodeName"]
    req = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    for term in req.get("nodeSelectorTerms") or []:
        for f in term.get("matchFields") or []:
            if f.get("key") == "metadata.name" and f.get("values"):
                return f["values"][0]
    return None


class DaemonSetController(Controller):
    name = "daemonset"

    def setup(self) -> None:
        self.expectations = Expectations(self.clock)
        self.dss = self.informer("daemonsets")
        self.nodes = self.informer("nodes")
        self.pods = self.informer("pods")
        self.revs = self.informer("controllerrevisions")
        self.dss.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), None)
        self.nodes.add_handlers(self._all, self._node_updated, self._all)
        self.pods.add_handlers(self._pod_added, lambda o, n: enqueue_owner(self, self.dss, "DaemonSet", n),
                               lambda p: enqueue_owner(self, self.dss, "DaemonSet", p))

    def event_component(self) -> str:
        return "daemonset-controller"

    def _all(self, _node) -> None:
        for ds in self.dss.items():
            self.enqueue(ds)

    def _node_updated(self, old: dict, new: dict) -> None:
        if old.get("spec") != new.get("spec") or old["metadata"].get("labels") != new["metadata"].get("labels"):
            self._all(new)              # heartbeats (status only) change nothing here

    def _pod_added(self, pod: dict) -> None:
        for ref in pod["metadata"].get("ownerReferences") or []:
            if ref.get("kind") == "DaemonSet":
                self.expectations.creation_observed(f"{pod['metadata']['namespace']}/{ref['name']}")
        enqueue_owner(self, self.dss, "DaemonSet", pod)

    def new_pod(self, ds: dict, node: str, h: str) -> dict:
        pod = pod_from_template(ds, (ds.get("spec") or {}).get("template"), None,
                                {HASH_LABEL: h, "pod-template-generation": str(ds["metadata"].get("generation", 1))},
                                generate_name=f"{ds['metadata']['name']}-")
        aff = pod["spec"].setdefault("affinity", {}).setdefault("nodeAffinity", {})
        aff["requiredDuringSchedulingIgnoredDuringExecution"] = {"nodeSelectorTerms": [
            {"matchFields": [{"key": "metadata.name", "operator": "In", "values": [node]}]}]}
        pod["spec"]["tolerations"] = pod_tolerations(ds)
        return pod

    async def sync(self, key: str) -> None:
        ds = self.dss.get(key)
        if ds is None:
            self.expectations.forget(key)
            return
        if ds["metadata"].get("deletionTimestamp"):
            return
        ds = copy.deepcopy(ds)
        h, _ = await sync_revisions(self, self.revs, ds)
        by_node: dict[str, list[dict]] = {}
        for p in owned_pods(self.pods, ds):
            if not p["metadata"].get("deletionTimestamp"):
                by_node.setdefault(target_node(p) or "", []).append(p)
        nodes = {n["metadata"]["name"]: n for n in self.nodes.items()}
        eligible = sorted(name for name, n in nodes.items() if should_run(ds, n))
        if self.expectations.satisfied(key):
            await self.manage(key, ds, h, nodes, eligible, by_node)
        await self.update_status(ds, h, eligible, by_node)

    async def manage(self, key, ds, h, nodes, eligible, by_node) -> None:
        for node, pods in by_node.items():
            if node not in eligible:
                for p in pods:
                    await delete_pod(self, ds, p)
        for node in eligible:
            pods = sorted(by_node.get(node, []), key=lambda p: p["metadata"].get("creationTimestamp") or "")
            failed = [p for p in pods if (p.get("status") or {}).get("phase") == "Failed"]
            for p in failed:
                await delete_pod(self, ds, p)
            pods = [p for p in pods if p not in failed]
            if not pods:
                await self._create(key, ds, node, h)
            for p in pods[1:] if not self._surging(ds, pods, h) else []:
                await delete_pod(self, ds, p)
        await self.rolling_update(key, ds, h, eligible, by_node)

    def _surging(self, ds, pods, h) -> bool:
        return len(pods) == 2 and {(p["metadata"].get("labels") or {}).get(HASH_LABEL) == h for p in pods} == {True, False}

    async def _create(self, key, ds, node, h) -> None:
        pod = self.new_pod(ds, node, h)
        self.expectations.expect_creations(key)
        try:
            await create_pod(self, ds, pod)
        except Exception:
            self.expectations.creation_observed(key)
            raise

    async def rolling_update(self, key, ds, h, eligible, by_node) -> None:
        strategy = (ds.get("spec") or {}).get("updateStrategy") or {}
        if (strategy.get("type") or "RollingUpdate") != "RollingUpdate":
            return
        ru = strategy.get("rollingUpdate") or {}
        desired = len(eligible)
        surge = resolve(ru.get("maxSurge", 0), desired, True)
        max_unavail = resolve(ru.get("maxUnavailable", 1), desired, True) if not surge else 0
        if not surge and not max_unavail:
            max_unavail = 1
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        now = self.clock.now()
        unavailable = sum(1 for n in eligible if not any(is_available(p, min_ready, now) for p in by_node.get(n, [])))
        surging = 0
        for node in eligible:
            pods = by_node.get(node, [])
            old = [p for p in pods if (p["metadata"].get("labels") or {}).get(HASH_LABEL) != h]
            new = [p for p in pods if p not in old]
            if not old:
                continue
            if surge:
                if new and any(is_available(p, min_ready, now) for p in new):
                    for p in old:
                        await delete_pod(self, ds, p)
                elif not new and surging < surge:
                    surging += 1
                    await self._create(key, ds, node, h)
                continue
            if not any(is_available(p, min_ready, now) for p in old):
                for p in old:                 # not available anyway: replacing costs nothing
                    await delete_pod(self, ds, p)
            elif unavailable < max_unavail:
                unavailable += 1
                for p in old:
                    await delete_pod(self, ds, p)

    async def update_status(self, ds, h, eligible, by_node) -> None:
        min_ready = int((ds.get("spec") or {}).get("minReadySeconds") or 0)
        now = self.clock.now()
        scheduled = [n for n in eligible if by_node.get(n)]
        status = dict(ds.get("status") or {})
        status.update({
            "desiredNumberScheduled": len(eligible),
            "currentNumberScheduled": len(scheduled),
            "numberMisscheduled": sum(1 for n, ps in by_node.items() if n not in eligible and ps),
            "numberReady": sum(1 for n in scheduled if any(is_ready(p) for p in by_node[n])),
            "updatedNumberScheduled": sum(1 for n in scheduled if any(
                (p["metadata"].get("labels") or {}).get(HASH_LABEL) == h for p in by_node[n])),
            "numberAvailable": sum(1 for n in scheduled if any(is_available(p, min_ready, now) for p in by_node[n])),
            "observedGeneration": ds["metadata"].get("generation", 1),
        })
        status["numberUnavailable"] = status["desiredNumberScheduled"] - status["numberAvailable"]
        if not status["numberUnavailable"]:
            del status["numberUnavailable"]
        if status == (ds.get("status") or {}):
            return
        ds["status"] = status
        await self.client.replace("daemonsets", ds["metadata"]["name"], ds, namespace=ds["metadata"]["namespace"],
                                  subresource="status")
