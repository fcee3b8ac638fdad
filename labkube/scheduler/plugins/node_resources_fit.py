"""Filter NodeResourcesFit: pod requests (cpu, memory, pods and any other resource) must fit in
the node's allocatable minus what the pods already on it request."""
from __future__ import annotations

from ..framework import FilterPlugin, NodeInfo, pod_requests


class NodeResourcesFit(FilterPlugin):
    name = "NodeResourcesFit"

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        alloc = node.allocatable()
        used = node.requested()
        reasons = []
        if "pods" in alloc and used.get("pods", 0) + 1 > alloc["pods"]:
            reasons.append("Too many pods")
        for name, want in sorted(pod_requests(pod).items()):
            if want <= 0:
                continue
            if used.get(name, 0) + want > alloc.get(name, 0):
                reasons.append(f"Insufficient {name}")
        return reasons
