"""Node lifecycle controller: notice dead nodes, taint them, evict their pods.

Every node_monitor_period (and on node/lease changes) each node is checked. A node whose
Lease in kube-node-lease (or Ready heartbeat) has not changed for node_monitor_grace_period
seconds, as timed by this controller's own clock, gets its conditions set to Unknown
(NodeStatusUnknown) and its pods marked not ready. Ready=Unknown taints the node
node.kubernetes.io/unreachable, Ready=False node.kubernetes.io/not-ready (NoSchedule and
NoExecute); Ready=True removes them. A cordoned node (spec.unschedulable) carries
node.kubernetes.io/unschedulable:NoSchedule. Pods on a node with a NoExecute taint are evicted
(deleted) when they do not tolerate it, after pod_eviction_timeout seconds from the taint
(also for the 300 s default tolerations the apiserver adds), or after their own
toleration's tolerationSeconds. Pods bound to a node that no longer exists
(confirmed by a GET) are deleted at once (grace 0), as the pod garbage collector does.
"""
from __future__ import annotations

import copy
import datetime

from labkube.client.clock import parse_time
from labkube.client.errors import ApiError
from labkube.scheduler.plugins.taint_toleration import toleration_matches

from .base import Controller
from .util import BY_NODE, get_condition, is_terminal, NODE_NAME_READS, node_name_index

UNREACHABLE = "node.kubernetes.io/unreachable"
NOT_READY = "node.kubernetes.io/not-ready"
UNSCHEDULABLE = "node.kubernetes.io/unschedulable"
CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")


def is_admission_default(tol: dict) -> bool:
    """The not-ready/unreachable 300 s tolerations the apiserver adds to every pod
    (DefaultTolerationSeconds). They stand for "the cluster default", which here is
    pod_eviction_timeout, so a lab can shorten it in its config."""
    return (tol.get("key") in (UNREACHABLE, NOT_READY) and tol.get("operator") == "Exists"
            and tol.get("effect") == "NoExecute" and tol.get("tolerationSeconds") == 300)


class NodeLifecycleController(Controller):
    name = "nodelifecycle"

    def setup(self) -> None:
        s = self.settings
        self.grace = float(s.get("node_monitor_grace_period", 40))
        self.eviction_timeout = float(s.get("pod_eviction_timeout", 300))
        self.period = float(s.get("node_monitor_period", 5))
        self.nodes = self.informer("nodes")
        # the cluster-wide lease informer the garbage collector has anyway (one watch, one parse
        # per renewal, instead of a second informer for kube-node-lease)
        self.leases = self.informer("leases")
        self.pods = self.informer("pods")
        self.pods.add_index(BY_NODE, node_name_index, NODE_NAME_READS)  # a node's pods without scanning them all
        self.health: dict[str, tuple[tuple, float]] = {}   # node -> (heartbeat signature, when it changed)
        self.nodes.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), self._node_deleted)
        self.leases.add_handlers(self._lease, lambda o, n: self._lease(n), None)

    def event_component(self) -> str:
        return "node-controller"

    def _node_deleted(self, node: dict) -> None:
        self.health.pop(node["metadata"]["name"], None)
        self.queue.add(node["metadata"]["name"])

    def _lease(self, lease: dict) -> None:
        if lease["metadata"].get("namespace") == "kube-node-lease" and self.nodes.get(lease["metadata"]["name"]) is not None:
            self.queue.add(lease["metadata"]["name"])

    async def periodic(self) -> None:
        while True:
            await self.clock.sleep(self.period)
            for name in self.nodes.keys():
                self.queue.add(name)
            for name in self.pods.index_values(BY_NODE):
                if self.nodes.get(name) is None:
                    self.queue.add(name)

    def observe(self, node: dict) -> float:
        """Seconds since this node's heartbeat last changed (by our clock)."""
        name = node["metadata"]["name"]
        lease = self.leases.get(f"kube-node-lease/{name}")
        ready = get_condition(node.get("status") or {}, "Ready") or {}
        sig = ((lease or {}).get("spec", {}).get("renewTime"), ready.get("lastHeartbeatTime"))
        now = self.clock.monotonic()
        old = self.health.get(name)
        if old is None or old[0] != sig:
            self.health[name] = (sig, now)
            return 0.0
        return now - old[1]

    async def sync(self, name: str) -> None:
        node = self.nodes.get(name)
        if node is None:
            await self.delete_orphaned_pods(name)
            return
        silent = self.observe(node)         # read only: no copy of the cached node per heartbeat
        ready = get_condition(node.get("status") or {}, "Ready")
        if silent > self.grace and (ready is None or ready.get("status") != "Unknown"):
            node = await self.mark_unknown(node)
            ready = get_condition(node.get("status") or {}, "Ready")
        if ready is None:
            return              # a node just registering: give its kubelet the grace period first
        state = ready.get("status", "Unknown")
        node = await self.sync_taints(node, state)
        if state == "Unknown":
            await self.mark_pods_not_ready(name)
        await self.evict(node)

    async def delete_orphaned_pods(self, node_name: str) -> None:
        pods = self.pods.by_index(BY_NODE, node_name)
        if not pods:
            return
        try:
            await self.client.get("nodes", node_name)
            return                          # the informer is behind: the node exists
        except ApiError as e:
            if e.code != 404:
                raise
        for p in pods:
            md = p["metadata"]
            self.log.info("deleting pod %s/%s: its node %s is gone", md["namespace"], md["name"], node_name)
            try:
                await self.client.delete("pods", md["name"], namespace=md["namespace"], grace_period_seconds=0)
            except ApiError as e:
                if e.code != 404:
                    raise

    async def mark_unknown(self, node: dict) -> dict:
        node = copy.deepcopy(node)          # the informer's object stays as it is
        now = self.clock.now_str()
        st = node.setdefault("status", {})
        conds = st.setdefault("conditions", [])
        if get_condition(st, "Ready") is None:
            conds.append({"type": "Ready", "status": "Unknown", "reason": "NodeStatusNeverUpdated",
                          "message": "Kubelet never posted node status.", "lastHeartbeatTime": now,
                          "lastTransitionTime": now})
        for c in conds:
            if c.get("type") in CONDITIONS and c.get("status") != "Unknown":
                c.update({"status": "Unknown", "reason": "NodeStatusUnknown",
                          "message": "Kubelet stopped posting node status.", "lastTransitionTime": now})
        self.log.info("node %s stopped posting status; marking it Unknown", node["metadata"]["name"])
        out = await self.client.replace("nodes", node["metadata"]["name"], node, subresource="status")
        await self.recorder.normal(node, "NodeNotReady", f"Node {node['metadata']['name']} status is now: NodeNotReady")
        return out

    async def sync_taints(self, node: dict, state: str) -> dict:
        taints = list((node.get("spec") or {}).get("taints") or [])
        want_key = {"Unknown": UNREACHABLE, "False": NOT_READY}.get(state)
        cordoned = bool((node.get("spec") or {}).get("unschedulable"))
        keep = [t for t in taints if t.get("key") not in (UNREACHABLE, NOT_READY, UNSCHEDULABLE)
                or (t.get("key") == want_key and t.get("effect") in ("NoSchedule", "NoExecute"))
                or (t.get("key") == UNSCHEDULABLE and cordoned and t.get("effect") == "NoSchedule")]
        if cordoned and not any(t.get("key") == UNSCHEDULABLE for t in keep):
            keep.append({"key": UNSCHEDULABLE, "effect": "NoSchedule", "timeAdded": self.clock.now_str()})
        if want_key:
            for effect in ("NoSchedule", "NoExecute"):
                if not any(t.get("key") == want_key and t.get("effect") == effect for t in keep):
                    t = {"key": want_key, "effect": effect}
                    if effect == "NoExecute":
                        t["timeAdded"] = self.clock.now_str()
                    keep.append(t)
        if keep == taints:
            return node
        return await self.client.patch("nodes", node["metadata"]["name"], {"spec": {"taints": keep}})

    async def mark_pods_not_ready(self, node_name: str) -> None:
        for pod in self.pods.by_index(BY_NODE, node_name):
            if (pod.get("spec") or {}).get("nodeName") != node_name or is_terminal(pod):
                continue
            st = copy.deepcopy(pod.get("status") or {})
            cond = get_condition(st, "Ready")
            if cond is None or cond.get("status") == "False":
                continue
            cond.update({"status": "False", "lastTransitionTime": self.clock.now_str()})
            try:
                await self.client.patch("pods", pod["metadata"]["name"], {"status": {"conditions": st["conditions"]}},
                                        namespace=pod["metadata"]["namespace"], subresource="status")
            except ApiError as e:
                if e.code != 404:
                    raise

    def eviction_time(self, pod: dict, taints: list[dict]) -> datetime.datetime | None:
        """When the pod must go, or None if it tolerates every NoExecute taint forever."""
        tols = (pod.get("spec") or {}).get("tolerations") or []
        when = None
        for t in taints:
            added = parse_time(t.get("timeAdded")) or self.clock.now()
            matching = [tol for tol in tols if toleration_matches(tol, t) and not is_admission_default(tol)]
            if not matching:
                limit = self.eviction_timeout
            elif any(tol.get("tolerationSeconds") is None for tol in matching):
                continue
            else:
                limit = max(0, min(int(tol["tolerationSeconds"]) for tol in matching))
            at = added + datetime.timedelta(seconds=limit)
            when = at if when is None else min(when, at)
        return when

    async def evict(self, node: dict) -> None:
        taints = [t for t in (node.get("spec") or {}).get("taints") or [] if t.get("effect") == "NoExecute"]
        if not taints:
            return
        now = self.clock.now()
        soonest = None
        for pod in self.pods.by_index(BY_NODE, node["metadata"]["name"]):
            if (pod.get("spec") or {}).get("nodeName") != node["metadata"]["name"]:
                continue
            if pod["metadata"].get("deletionTimestamp") or is_terminal(pod):
                continue
            at = self.eviction_time(pod, taints)
            if at is None:
                continue
            if at > now:
                left = (at - now).total_seconds()
                soonest = left if soonest is None else min(soonest, left)
                continue
            md = pod["metadata"]
            self.log.info("evicting pod %s/%s from node %s", md["namespace"], md["name"], node["metadata"]["name"])
            await self.recorder.normal(pod, "TaintManagerEviction", f"Marking for deletion Pod {md['namespace']}/{md['name']}")
            try:
                await self.client.delete("pods", md["name"], namespace=md["namespace"])
            except ApiError as e:
                if e.code != 404:
                    raise
        if soonest is not None:
            self.queue.add_after(node["metadata"]["name"], soonest + 0.5)
