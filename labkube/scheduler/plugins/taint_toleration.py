"""Filter TaintToleration: a node's NoSchedule/NoExecute taints must each be tolerated by the pod.

Also the shared toleration matching used by the node lifecycle controller.
"""
from __future__ import annotations

from ..framework import SKIP, FilterPlugin, NodeInfo, frozen
from ..nodelist import any_where


def toleration_matches(tol: dict, taint: dict) -> bool:
    if tol.get("effect") and tol["effect"] != taint.get("effect"):
        return False
    op = tol.get("operator") or "Equal"
    if not tol.get("key"):
        return op == "Exists"           # empty key + Exists tolerates everything
    if tol["key"] != taint.get("key"):
        return False
    if op == "Exists":
        return True
    return (tol.get("value") or "") == (taint.get("value") or "")


def tolerates(tolerations: list[dict], taint: dict) -> bool:
    return any(toleration_matches(t, taint) for t in tolerations)


def taint_text(taint: dict) -> str:
    return "{%s: %s}" % (taint.get("key", ""), taint.get("value") or "")


class TaintToleration(FilterPlugin):
    name = "TaintToleration"

    def pre_filter(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        """Nothing to check when no node has a NoSchedule/NoExecute taint."""
        return None if any_where(nodes, "hard_tainted", lambda ni: ni.hard_taints) else SKIP

    def filter_skips_by_pod(self, pod: dict) -> bool:
        return True                 # no node tainted: SKIP

    def node_local_key(self, pod: dict):
        return frozen((pod.get("spec") or {}).get("tolerations") or [])

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        if not node.hard_taints:
            return []
        tols = (pod.get("spec") or {}).get("tolerations") or []
        for taint in node.hard_taints:
            if not tolerates(tols, taint):
                return [f"node(s) had untolerated taint {taint_text(taint)}"]
        return []
