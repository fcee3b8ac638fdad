"""The scheduling framework: node snapshots, the filter/score plugin interfaces, and one cycle.

A filter plugin returns a list of reasons the node does not fit (empty: fits); a score
plugin returns 0..100 for a node that passed every filter. The FitError message is
built the way kube-scheduler words it: "0/3 nodes are available: 1 node(s) had
untolerated taint {...}, 2 Insufficient cpu."
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field

from . import quantity

DEFAULT_CPU_REQUEST = 100                 # millicores, used for scoring only (non-zero requests)
DEFAULT_MEMORY_REQUEST = 200 * 2 ** 20


_REQ_CACHE: dict[tuple, dict[str, int]] = {}


def pod_requests(pod: dict, non_zero: bool = False) -> dict[str, int]:
    """Effective requests: sum over containers, at least each init container, plus overhead.
    Cached per (uid, resourceVersion): a pod's spec does not change once stored."""
    md = pod.get("metadata") or {}
    key = (md.get("uid"), md.get("resourceVersion"), non_zero) if md.get("uid") and md.get("resourceVersion") else None
    if key is not None and key in _REQ_CACHE:
        return _REQ_CACHE[key]
    out = _pod_requests(pod, non_zero)
    if key is not None:
        if len(_REQ_CACHE) > 50000:
            _REQ_CACHE.clear()
        _REQ_CACHE[key] = out
    return out


def _pod_requests(pod: dict, non_zero: bool) -> dict[str, int]:
    spec = pod.get("spec") or {}
    total: Counter = Counter()
    for c in spec.get("containers") or []:
        req = ((c.get("resources") or {}).get("requests") or {})
        lim = ((c.get("resources") or {}).get("limits") or {})
        for name in set(req) | set(lim):
            total[name] += quantity.amount(name, req.get(name, lim.get(name)))
        if non_zero:
            if "cpu" not in req and "cpu" not in lim:
                total["cpu"] += DEFAULT_CPU_REQUEST
            if "memory" not in req and "memory" not in lim:
                total["memory"] += DEFAULT_MEMORY_REQUEST
    for c in spec.get("initContainers") or []:
        req = ((c.get("resources") or {}).get("requests") or {})
        for name, q in req.items():
            total[name] = max(total[name], quantity.amount(name, q))
    for name, q in (spec.get("overhead") or {}).items():
        total[name] += quantity.amount(name, q)
    return dict(total)


@dataclass
class NodeInfo:
    node: dict
    pods: list[dict] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.node["metadata"]["name"]

    def allocatable(self) -> dict[str, int]:
        if getattr(self, "_alloc", None) is None:
            st = self.node.get("status") or {}
            alloc = st.get("allocatable") or st.get("capacity") or {}
            self._alloc = {k: quantity.amount(k, v) for k, v in alloc.items()}
        return self._alloc

    def requested(self, non_zero: bool = False) -> dict[str, int]:
        """Sum of the pods' requests; cached until the pod list changes."""
        cache = self.__dict__.setdefault("_req", {})
        stamp = (non_zero, len(self.pods), id(self.pods[-1]) if self.pods else None)
        if stamp not in cache:
            total: Counter = Counter()
            for p in self.pods:
                total.update(pod_requests(p, non_zero))
            total["pods"] = len(self.pods)
            cache.clear() if len(cache) > 8 else None
            cache[stamp] = dict(total)
        return cache[stamp]


    def _stamped(self, what: str, build):
        """A per-NodeInfo cache of build(pods), renewed when the pod list changes."""
        stamp = (what, len(self.pods), id(self.pods[-1]) if self.pods else None)
        cache = self.__dict__.setdefault("_derived", {})
        if cache.get(what, (None,))[0] != stamp:
            cache[what] = (stamp, build(self.pods))
        return cache[what][1]

    def anti_affinity_pods(self) -> list[dict]:
        """The pods here with required pod anti-affinity (most nodes: none)."""
        return self._stamped("anti", lambda pods: [
            p for p in pods if (((p.get("spec") or {}).get("affinity") or {}).get("podAntiAffinity") or {})
            .get("requiredDuringSchedulingIgnoredDuringExecution")])

    def owner_counts(self) -> Counter:
        """How many pods here each controller (owner uid) has."""
        def count(pods):
            c: Counter = Counter()
            for p in pods:
                for ref in (p.get("metadata") or {}).get("ownerReferences") or []:
                    if ref.get("controller"):
                        c[ref.get("uid")] += 1
                        break
            return c
        return self._stamped("owners", count)


SKIP = "Skip"


class FilterPlugin:
    name = "Filter"

    def pre_filter(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        """Called once per cycle with every node, before filter(); for cluster-wide state.
        Returning SKIP (the pod asks nothing of this plugin) spares the filter() calls, as
        kube-scheduler's PreFilter Skip."""

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        raise NotImplementedError


class ScorePlugin:
    name = "Score"
    weight = 1

    def pre_score(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        """Called once per cycle with the feasible nodes, before score(). Returning SKIP (every
        node would get the same score) spares the score() calls, as kube-scheduler's PreScore Skip."""

    def score(self, pod: dict, node: NodeInfo) -> float:
        raise NotImplementedError


class FitError(Exception):
    def __init__(self, pod: dict, num_nodes: int, reasons: dict[str, list[str]]):
        self.pod = pod
        self.num_nodes = num_nodes
        self.reasons = reasons      # node name -> reasons
        super().__init__(self.message())

    def message(self) -> str:
        counts = Counter(r for rs in self.reasons.values() for r in rs)
        parts = sorted(f"{n} {r}" for r, n in counts.items())
        if self.num_nodes == 0:
            return "0/0 nodes are available: no nodes available to schedule pods."
        return f"0/{self.num_nodes} nodes are available: {', '.join(parts)}."


MIN_FEASIBLE_NODES = 100


def feasible_nodes_to_find(num_nodes: int, percentage: int = 0) -> int:
    """kube-scheduler's percentageOfNodesToScore: with 100 nodes or more, filtering stops once
    this many feasible nodes are found (0 = adaptive: 50 % minus 1 % per 125 nodes, at least 5 %)."""
    if num_nodes < MIN_FEASIBLE_NODES or percentage >= 100:
        return num_nodes
    pct = percentage if percentage > 0 else max(50 - num_nodes // 125, 5)
    return max(num_nodes * pct // 100, MIN_FEASIBLE_NODES)


@dataclass
class Profile:
    filters: list[FilterPlugin]
    scores: list[ScorePlugin]
    rng: random.Random = field(default_factory=random.Random)
    percentage_of_nodes_to_score: int = 0
    next_start: int = 0              # where the next cycle starts looking (round robin, as kube-scheduler)

    def find_nodes(self, pod: dict, nodes: list[NodeInfo]) -> list[NodeInfo]:
        """Nodes passing every filter (enough of them: `feasible_nodes_to_find`); FitError naming
        the reasons when there are none."""
        feasible, reasons = [], {}
        active = [f for f in self.filters if f.pre_filter(pod, nodes) != SKIP]
        n = len(nodes)
        want = feasible_nodes_to_find(n, self.percentage_of_nodes_to_score)
        start = self.next_start % n if want < n else 0
        processed = 0
        for i in range(n):
            ni = nodes[(start + i) % n]
            processed += 1
            for f in active:
                why = f.filter(pod, ni)
                if why:
                    reasons[ni.name] = why
                    break
            else:
                feasible.append(ni)
                if len(feasible) >= want:
                    break
        if want < n:
            self.next_start = (start + processed) % n
        if not feasible:
            raise FitError(pod, len(nodes), reasons)
        return feasible

    def select_host(self, pod: dict, nodes: list[NodeInfo]) -> str:
        feasible = self.find_nodes(pod, nodes)
        if len(feasible) == 1:
            return feasible[0].name
        active = [s for s in self.scores if s.pre_score(pod, feasible) != SKIP]
        scored = [(sum(s.weight * s.score(pod, ni) for s in active), ni.name) for ni in feasible]
        best = max(s for s, _ in scored)
        top = sorted(n for s, n in scored if s >= best - 1e-9)
        return self.rng.choice(top)
