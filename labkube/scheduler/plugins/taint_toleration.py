"""Filter TaintToleration: a node's NoSchedule/NoExecute taints must each be tolerated by the pod.

Also the shared toleration matching used by the node lifecycle controller.
"""
from __future__ import annotations

from ..framework import FilterPlugin, NodeInfo


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

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        tols = (pod.get("spec") or {}).get("tolerations") or []
        for taint in (node.node.get("spec") or {}).get("taints") or []:
            if taint.get("effect") not in ("NoSchedule", "NoExecute"):
                continue
            if not tolerates(tols, taint):
                return [f"node(s) had untolerated taint {taint_text(taint)}"]
        return []
