"""Score NodeResourcesLeastAllocated: prefer nodes with the most free cpu and memory after placing
the pod (unset requests count as 100m cpu / 200Mi memory, as kube-scheduler does)."""
from __future__ import annotations

from ..framework import NodeInfo, ScorePlugin, pod_requests


def fractions(pod: dict, node: NodeInfo) -> dict[str, float]:
    """Used fractions of cpu and memory with the pod placed; computed once per pod and node state
    (LeastAllocated and BalancedAllocation both ask)."""
    stamp = (pod, len(node.pods), id(node.pods[-1]) if node.pods else None)
    hit = node.__dict__.get("_fractions")
    if hit is not None and hit[0][0] is pod and hit[0][1:] == stamp[1:]:
        return hit[1]
    out = _fractions(pod, node)
    node.__dict__["_fractions"] = (stamp, out)
    return out


def _fractions(pod: dict, node: NodeInfo) -> dict[str, float]:
    alloc = node.allocatable()
    used = node.requested(non_zero=True)
    want = pod_requests(pod, non_zero=True)
    out = {}
    for r in ("cpu", "memory"):
        cap = alloc.get(r, 0)
        out[r] = 1.0 if cap <= 0 else min(1.0, (used.get(r, 0) + want.get(r, 0)) / cap)
    return out


class LeastAllocated(ScorePlugin):
    name = "NodeResourcesLeastAllocated"

    def score(self, pod: dict, node: NodeInfo) -> float:
        f = fractions(pod, node)
        return sum((1 - v) * 100 for v in f.values()) / len(f)
