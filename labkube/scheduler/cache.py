"""SchedulerCache: the scheduler's view of every node and the pods on it, kept up to date
incrementally from informer events, plus the pods it assumed on a node before their binding
was seen (kube-scheduler's cache and snapshot).

A cycle reads `snapshot()`: the NodeInfos in name order (a NodeList, with the cluster-wide
indexes plugins use), updated in place, so a cycle does no per-node work of its own. Pods
bound to a node the cache does not know (yet) are kept aside and join it when it appears.

Assumed pods: `assume(pod, node)` counts a pod on its node at once, so the next cycle sees the
room it takes while the binding is still in flight. When the informer shows the pod bound,
the assumed copy is replaced by the real pod; `forget(key)` (binding failed) takes it off
again.

Most pod updates are status writes of bound pods (Running, Ready): when a pod stays on its node
and nothing plugins read has changed (spec, labels, owners), the new object replaces the old one
on its NodeInfo without re-accounting, so the node's generation and its score memos stay valid.
"""
from __future__ import annotations

import bisect

from .nodeinfo import NodeInfo, pod_key
from .nodelist import NodeList

TERMINAL = ("Succeeded", "Failed")


def counted(pod: dict | None) -> str | None:
    """The node a pod takes room on: bound and not terminal (None otherwise)."""
    if pod is None or (pod.get("status") or {}).get("phase") in TERMINAL:
        return None
    return (pod.get("spec") or {}).get("nodeName") or None


class SchedulerCache:
    def __init__(self):
        self._nodes = NodeList(tracking=True)        # NodeInfos in name order, with their change log
        self._names: list[str] = []                  # their names, for bisect
        self.infos = self._nodes.by_name             # name -> NodeInfo
        self.placed: dict[str, str] = {}             # pod key -> node it is counted on
        self.assumed: dict[str, dict] = {}           # pod key -> assumed copy (nodeName set)
        self._homeless: dict[str, dict[str, dict]] = {}   # node not known (yet) -> {key: pod}

    # -- nodes ------------------------------------------------------------------------------

    def snapshot(self) -> NodeList:
        return self._nodes

    def __len__(self) -> int:
        return len(self._nodes)

    def set_node(self, node: dict) -> None:
        """A node was added or changed."""
        name = node["metadata"]["name"]
        ni = self.infos.get(name)
        if ni is None:
            ni = NodeInfo(node, list(self._homeless.pop(name, {}).values()))
            i = bisect.bisect_left(self._names, name)
            self._names.insert(i, name)
            self._nodes.insert_node(i, ni)
            self.infos[name] = ni
        else:
            ni.set_node(node)
        self._index(ni)

    def remove_node(self, name: str) -> None:
        ni = self.infos.pop(name, None)
        if ni is None:
            return
        i = bisect.bisect_left(self._names, name)
        del self._names[i]
        self._nodes.remove_at(i)
        if ni.pods:     # pods still bound there stay counted, in case the node comes back
            self._homeless[name] = {pod_key(p): p for p in ni.pods}
        for idx in (self._nodes.unschedulable, self._nodes.hard_tainted, self._nodes.prefer_tainted,
                    self._nodes.with_anti_affinity):
            idx.discard(name)

    def _index(self, ni: NodeInfo) -> None:
        for idx, on in ((self._nodes.unschedulable, ni.unschedulable), (self._nodes.hard_tainted, ni.hard_taints),
                        (self._nodes.prefer_tainted, ni.prefer_taints),
                        (self._nodes.with_anti_affinity, ni.anti_affinity_pods())):
            if on:
                idx.add(ni.name)
            else:
                idx.discard(ni.name)

    # -- pods -------------------------------------------------------------------------------

    def _place(self, key: str, pod: dict, node: str) -> None:
        self.placed[key] = node
        ni = self.infos.get(node)
        if ni is None:
            self._homeless.setdefault(node, {})[key] = pod
            return
        ni.add_pod(pod, key)
        if ni.anti_affinity_pods():
            self._nodes.with_anti_affinity.add(node)

    def _unplace(self, key: str) -> None:
        node = self.placed.pop(key, None)
        if node is None:
            return
        ni = self.infos.get(node)
        if ni is None:
            on = self._homeless.get(node) or {}
            on.pop(key, None)
            if not on:
                self._homeless.pop(node, None)
            return
        ni.remove_pod(key)
        if not ni.anti_affinity_pods():
            self._nodes.with_anti_affinity.discard(node)

    def set_pod(self, pod: dict, key: str | None = None) -> None:
        """A pod was added or changed (informer view; `key`: its namespace/name when the caller
        has it): count it on its node if bound and not terminal; it replaces an assumed copy of
        itself."""
        key = key or pod_key(pod)
        node = counted(pod)
        if key in self.assumed and not (pod.get("spec") or {}).get("nodeName") \
                and (pod.get("status") or {}).get("phase") not in TERMINAL:
            return          # still pending as far as the informer knows: the assumed copy stays
        if node is not None and self.placed.get(key) == node:
            ni = self.infos.get(node)
            if ni is not None and ni.replace_pod(key, pod):
                # same node, nothing plugins read has changed (a status write, or the binding of
                # an assumed pod seen): no re-accounting, so the node keeps its generation and the
                # cycles' cached verdicts and scores for it stay valid
                self.assumed.pop(key, None)
                return
        self.assumed.pop(key, None)
        self._unplace(key)
        if node is not None:
            self._place(key, pod, node)

    def remove_pod(self, pod: dict) -> None:
        key = pod_key(pod)
        self.assumed.pop(key, None)
        self._unplace(key)

    def assume(self, pod: dict, node: str) -> dict:
        """Count `pod` on `node` before its binding is seen; returns the assumed copy."""
        key = pod_key(pod)
        assumed = {**pod, "spec": {**(pod.get("spec") or {}), "nodeName": node}}
        self._unplace(key)
        self.assumed[key] = assumed
        self._place(key, assumed, node)
        return assumed

    def forget(self, key: str) -> None:
        """The binding of an assumed pod failed: it no longer takes room on that node."""
        if self.assumed.pop(key, None) is not None:
            self._unplace(key)

    def is_assumed(self, key: str) -> bool:
        return key in self.assumed
