"""Filter NodeUnschedulable: cordoned nodes (spec.unschedulable) take only pods tolerating
node.kubernetes.io/unschedulable:NoSchedule."""
from __future__ import annotations

from ..framework import FilterPlugin, NodeInfo
from .taint_toleration import tolerates

REASON = "node(s) were unschedulable"
TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


class NodeUnschedulable(FilterPlugin):
    name = "NodeUnschedulable"

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        if not (node.node.get("spec") or {}).get("unschedulable"):
            return []
        if tolerates((pod.get("spec") or {}).get("tolerations") or [], TAINT):
            return []
        return [REASON]
