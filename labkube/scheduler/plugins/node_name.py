"""Filter NodeName: a pod asking for a node by name (spec.nodeName used as a constraint)."""
from __future__ import annotations

from ..framework import FilterPlugin, NodeInfo

REASON = "node(s) didn't match the requested node name"


class NodeName(FilterPlugin):
    name = "NodeName"

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        want = (pod.get("spec") or {}).get("nodeName")
        return [REASON] if want and want != node.name else []
