"""NodeInfo: one node and the pods on it as the plugins read them (the scheduler's cache keeps one
per node), with the pod helpers it needs (pod_key, controller_uid, ...)."""
from __future__ import annotations

from collections import Counter
from itertools import repeat
from operator import is_

from . import quantity
from .podrequests import pod_requests

HARD_EFFECTS = ("NoSchedule", "NoExecute")


def pod_key(pod: dict) -> str:
    md = pod.get("metadata") or {}
    return f"{md.get('namespace')}/{md.get('name')}" if md.get("namespace") else str(md.get("name"))


def _at(pods: list[dict], key: str) -> int:
    """The index of the first pod with this `namespace/name` key in `pods` (-1: none there), by
    reading every pod's metadata (NodeInfo keeps an index by key instead: `NodeInfo._index`)."""
    name = key.rpartition("/")[2]
    for i, p in enumerate(pods):
        if (p.get("metadata") or {}).get("name") == name and pod_key(p) == key:
            return i
    return -1


def controller_uid(pod: dict) -> str | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


def has_required_anti_affinity(pod: dict) -> bool:
    return bool((((pod.get("spec") or {}).get("affinity") or {}).get("podAntiAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution"))


def _same_for_plugins(old: dict, new: dict) -> bool:
    """Whether a plugin could tell `old` from `new` when they are pods on a node: plugins read
    their spec (requests, affinity, ports, tolerations), labels, namespace and owners, never
    their status (the cache drops terminal pods before they get here)."""
    om, nm = old.get("metadata") or {}, new.get("metadata") or {}
    return (old.get("spec") == new.get("spec") and om.get("labels") == nm.get("labels")
            and om.get("namespace") == nm.get("namespace") and om.get("uid") == nm.get("uid")
            and om.get("ownerReferences") == nm.get("ownerReferences"))


class NodeInfo:
    """One node and the pods on it, with aggregates the plugins read on every cycle, kept up to
    date incrementally by `add_pod`/`remove_pod` (the scheduler's cache calls them from informer
    events; do not edit `pods` directly): requested resources (`req`, and `req_nz` where unset
    cpu/memory count as the scoring defaults), pods per controller uid (`owners`), pods with
    required anti-affinity (`anti`), and the allocatable amounts (`alloc`)."""

    def __init__(self, node: dict, pods: list[dict] | None = None):
        self.pods: list[dict] = []
        self.req: Counter = Counter()
        self.req_nz: Counter = Counter()
        self.owners: Counter = Counter()
        self.anti: list[dict] = []
        # pod key -> the first pod in `pods` with that key, and how many pods share a key with an
        # earlier one (0 but in odd hand-built snapshots): a pod is found by its key without
        # reading the metadata of every pod on the node (a binding's echo looks its pod up among
        # ~12 whose dicts are rarely in the CPU's cache by then: ~11 us of misses per lookup)
        self._first: dict[str, dict] = {}
        self._dups = 0
        self.generation = 0
        self.log: list | None = None      # a tracking NodeList's change log: every new generation is appended
        self.score_memo: tuple = ()       # (generation, key, summed node-local scores): Profile.select_host
        self.fit_memo: tuple = ()         # (generation, requests that fit): NodeResourcesFit
        self.filter_memo: tuple = ()      # (generation, filter key, reasons): Profile.find_nodes
        self.set_node(node)
        for p in pods or ():
            self.add_pod(p)

    def __repr__(self) -> str:
        return f"NodeInfo({self.name!r}, {len(self.pods)} pods)"

    def set_node(self, node: dict) -> None:
        """A new version of the node object (same name)."""
        self.node = node
        self.name = node["metadata"]["name"]
        spec, st = node.get("spec") or {}, node.get("status") or {}
        alloc = st.get("allocatable") or st.get("capacity") or {}
        self.alloc = {k: quantity.amount(k, v) for k, v in alloc.items()}
        self.unschedulable = bool(spec.get("unschedulable"))
        taints = spec.get("taints") or []
        self.hard_taints = [t for t in taints if t.get("effect") in HARD_EFFECTS]
        self.prefer_taints = [t for t in taints if t.get("effect") == "PreferNoSchedule"]
        self._changed()

    def _changed(self) -> None:
        self.generation += 1
        if self.log is not None:
            self.log.append(self)

    def _account(self, pod: dict, sign: int) -> None:
        for k, v in pod_requests(pod).items():
            self.req[k] += sign * v
        for k, v in pod_requests(pod, non_zero=True).items():
            self.req_nz[k] += sign * v
        uid = controller_uid(pod)
        if uid is not None:
            self.owners[uid] += sign
            if self.owners[uid] <= 0:
                del self.owners[uid]
        if has_required_anti_affinity(pod):
            if sign > 0:
                self.anti.append(pod)
            else:
                self.anti = [p for p in self.anti if p is not pod]
        self._changed()

    def add_pod(self, pod: dict, key: str | None = None) -> None:
        """Add a pod (`key`: its `namespace/name`, when the caller has it)."""
        self.pods.append(pod)
        key = key or pod_key(pod)
        if key in self._first:
            self._dups += 1
        else:
            self._first[key] = pod
        self._account(pod, 1)

    def _index(self, key: str) -> int:
        """The index in `pods` of the first pod with this `namespace/name` key (-1: none here), as
        `_at(self.pods, key)` finds it: from the key index, then by identity (list pointers only)."""
        p = self._first.get(key)
        if p is None:
            return -1
        return list(map(is_, self.pods, repeat(p))).index(True)

    def remove_pod(self, key: str) -> dict | None:
        """Remove the pod with this `namespace/name` key; returns it (None: not here)."""
        i = self._index(key)
        if i < 0:
            return None
        p = self.pods.pop(i)
        del self._first[key]
        if self._dups:          # the next pod with this key, if any, is now the first
            j = _at(self.pods, key)
            if j >= 0:
                self._first[key] = self.pods[j]
                self._dups -= 1
        self._account(p, -1)
        return p

    def replace_pod(self, key: str, pod: dict) -> bool:
        """Put `pod` in place of the pod with this key when plugins would see no difference (same
        namespace, spec, labels and ownerReferences: a status write), without re-accounting or a
        new generation; False (nothing done) when the pod is not here or differs in those."""
        i = self._index(key)
        if i < 0:
            return False
        p = self.pods[i]
        if not _same_for_plugins(p, pod):
            return False
        self.pods[i] = pod
        if pod_key(pod) == key:
            self._first[key] = pod
        else:                   # not the key it was asked for: index the pods again
            self._first, self._dups = {}, 0
            for q in self.pods:
                k = pod_key(q)
                if k in self._first:
                    self._dups += 1
                else:
                    self._first[k] = q
        if self.anti and any(a is p for a in self.anti):
            self.anti = [pod if a is p else a for a in self.anti]
        return True

    def allocatable(self) -> dict[str, int]:
        return self.alloc

    def requested(self, non_zero: bool = False) -> dict[str, int]:
        """Sum of the pods' requests (non_zero: unset cpu/memory counted as scoring defaults),
        plus "pods": how many there are."""
        return {**(self.req_nz if non_zero else self.req), "pods": len(self.pods)}

    def anti_affinity_pods(self) -> list[dict]:
        """The pods here with required pod anti-affinity (most nodes: none)."""
        return self.anti

    def owner_counts(self) -> Counter:
        """How many pods here each controller (owner uid) has."""
        return self.owners
