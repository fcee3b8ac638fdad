"""Filter NodeResourcesFit: pod requests (cpu, memory, pods and any other resource) must fit in
the node's allocatable minus what the pods already on it request.

The answer for a node depends only on the pod's requests and the node's own state, so each
node remembers its last "fits" (NodeInfo.fit_memo, with the node's generation and the
requests): most nodes are unchanged from one cycle to the next, and most pods of a cycle
burst have the same requests."""
from __future__ import annotations

from ..framework import FilterPlugin, NodeInfo, pod_requests


FITS: list[str] = []            # shared "no reasons" answer (never modified)
UNLIMITED = float("inf")


class NodeResourcesFit(FilterPlugin):
    name = "NodeResourcesFit"
    _pod: dict | None = None
    _want: tuple[tuple[str, int], ...] = ()
    _of: dict | None = None         # the requests dict _want was worked out from

    def pre_filter(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        """The pod's non-zero requests, worked out once per cycle (once per template: the pods
        of one share their cached requests dict, which nobody modifies)."""
        self._pod = pod
        req = pod_requests(pod)
        if req is not self._of:
            self._want, self._of = tuple(sorted((k, v) for k, v in req.items() if v > 0)), req
        return None

    def node_local_key(self, pod: dict):
        """The answer depends on the pod's requests and the node's allocatable and pods only."""
        return tuple(sorted((k, v) for k, v in pod_requests(pod).items() if v > 0))

    def filter_batch(self, pod: dict, nodes: list[NodeInfo]) -> list[list[str]]:
        """The usual case (the pod fits) checked inline; reasons worked out only for the rest."""
        if pod is not self._pod:
            self.pre_filter(pod, nodes)
        want, out, fits = self._want, [], FITS
        for ni in nodes:
            m = ni.fit_memo
            if m and m[0] == ni.generation and m[1] == want:
                out.append(fits)
                continue
            alloc, used = ni.alloc, ni.req
            ok = len(ni.pods) < alloc.get("pods", UNLIMITED)
            if ok:
                for name, w in want:
                    if used.get(name, 0) + w > alloc.get(name, 0):
                        ok = False
                        break
            if ok:
                ni.fit_memo = (ni.generation, want)
                out.append(fits)
            else:
                out.append(self.filter(pod, ni))
        return out

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        if pod is not self._pod:
            self.pre_filter(pod, [node])
        alloc, used = node.alloc, node.req
        reasons = []
        if "pods" in alloc and len(node.pods) + 1 > alloc["pods"]:
            reasons.append("Too many pods")
        for name, want in self._want:
            if used.get(name, 0) + want > alloc.get(name, 0):
                reasons.append(f"Insufficient {name}")
        return reasons
