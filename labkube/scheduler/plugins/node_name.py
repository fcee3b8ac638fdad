"""Filter NodeName: a pod asking for a node by name (spec.nodeName used as a constraint)."""
from __future__ import annotations

from ..framework import SKIP, FilterPlugin, NodeInfo

REASON = "node(s) didn't match the requested node name"


class NodeName(FilterPlugin):
    name = "NodeName"

    def pre_filter(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        return None if (pod.get("spec") or {}).get("nodeName") else SKIP

    def filter_skips_by_pod(self, pod: dict) -> bool:
        return self.pre_filter(pod, []) == SKIP

    def node_local_key(self, pod: dict):
        return (pod.get("spec") or {}).get("nodeName") or ""

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        want = (pod.get("spec") or {}).get("nodeName")
        return [REASON] if want and want != node.name else []
