"""Filter NodeUnschedulable: cordoned nodes (spec.unschedulable) take only pods tolerating
node.kubernetes.io/unschedulable:NoSchedule."""
from __future__ import annotations

from ..framework import SKIP, FilterPlugin, NodeInfo
from ..nodelist import any_where
from .taint_toleration import tolerates

REASON = "node(s) were unschedulable"
TAINT = {"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"}


class NodeUnschedulable(FilterPlugin):
    name = "NodeUnschedulable"

    def pre_filter(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        """Nothing to check when no node is cordoned (or the pod tolerates it anyway)."""
        if not any_where(nodes, "unschedulable", lambda ni: ni.unschedulable):
            return SKIP
        return SKIP if tolerates((pod.get("spec") or {}).get("tolerations") or [], TAINT) else None

    def filter_skips_by_pod(self, pod: dict) -> bool:
        return True                 # no node cordoned: SKIP

    def node_local_key(self, pod: dict):
        return tolerates((pod.get("spec") or {}).get("tolerations") or [], TAINT)

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        if not node.unschedulable:
            return []
        if tolerates((pod.get("spec") or {}).get("tolerations") or [], TAINT):
            return []
        return [REASON]
