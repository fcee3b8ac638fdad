"""Score NodeResourcesLeastAllocated: prefer nodes with the most free cpu and memory after placing
the pod (unset requests count as 100m cpu / 200Mi memory, as kube-scheduler does)."""
from __future__ import annotations

from ..framework import NodeInfo, ScorePlugin, pod_requests

RESOURCES = ("cpu", "memory")


def fractions(pod: dict, node: NodeInfo) -> dict[str, float]:
    """Used fractions of cpu and memory on the node with the pod placed (capped at 1)."""
    want = pod_requests(pod, non_zero=True)
    return dict(zip(RESOURCES, _fractions(want.get("cpu", 0), want.get("memory", 0), node)))


def _fractions(cpu: int, mem: int, node: NodeInfo) -> tuple[float, float]:
    cap_c, cap_m = node.alloc.get("cpu", 0), node.alloc.get("memory", 0)
    fc = 1.0 if cap_c <= 0 else min(1.0, (node.req_nz["cpu"] + cpu) / cap_c)
    fm = 1.0 if cap_m <= 0 else min(1.0, (node.req_nz["memory"] + mem) / cap_m)
    return fc, fm


_last: tuple = (None, None, None)      # (pod, nodes, fractions) of the latest cycle


def all_fractions(pod: dict, nodes: list[NodeInfo]) -> list[tuple[float, float]]:
    """(cpu, memory) used fractions per node with the pod placed; LeastAllocated and
    BalancedAllocation both ask in the same cycle, so the latest answer is kept."""
    global _last
    if _last[0] is pod and _last[1] is nodes:
        return _last[2]
    want = pod_requests(pod, non_zero=True)
    cpu, mem = want.get("cpu", 0), want.get("memory", 0)
    out = [_fractions(cpu, mem, ni) for ni in nodes]
    _last = (pod, nodes, out)
    return out


def request_key(pod: dict) -> tuple[int, int]:
    """What the resource scores read from the pod: its non-zero cpu and memory requests."""
    want = pod_requests(pod, non_zero=True)
    return want.get("cpu", 0), want.get("memory", 0)


class LeastAllocated(ScorePlugin):
    name = "NodeResourcesLeastAllocated"

    def node_local_key(self, pod: dict):
        return request_key(pod)

    def score(self, pod: dict, node: NodeInfo) -> float:
        return self.score_all(pod, [node])[0]

    def score_all(self, pod: dict, nodes: list[NodeInfo]) -> list[float]:
        return [((1 - fc) * 100 + (1 - fm) * 100) / 2 for fc, fm in all_fractions(pod, nodes)]
