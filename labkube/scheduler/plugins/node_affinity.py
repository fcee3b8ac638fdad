"""Filter NodeAffinity: spec.nodeSelector and requiredDuringSchedulingIgnoredDuringExecution
node selector terms (matchExpressions on labels, matchFields on metadata.name); terms are ORed."""
from __future__ import annotations

from labkube.client.selectors import requirement_matches

from ..framework import SKIP, FilterPlugin, NodeInfo, frozen

REASON = "node(s) didn't match Pod's node affinity/selector"


def term_matches(term: dict, node: dict) -> bool:
    labels = (node.get("metadata") or {}).get("labels") or {}
    exprs = term.get("matchExpressions") or []
    fields = term.get("matchFields") or []
    if not exprs and not fields:
        return False        # an empty term matches nothing
    for e in exprs:
        if not requirement_matches(labels, e["key"], e["operator"], list(e.get("values") or [])):
            return False
    for f in fields:
        if f["key"] != "metadata.name":
            return False
        if not requirement_matches({"metadata.name": node["metadata"]["name"]}, f["key"],
                                   f["operator"], list(f.get("values") or [])):
            return False
    return True


def node_matches(pod: dict, node: dict) -> bool:
    spec = pod.get("spec") or {}
    labels = (node.get("metadata") or {}).get("labels") or {}
    for k, v in (spec.get("nodeSelector") or {}).items():
        if labels.get(k) != v:
            return False
    req = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
           .get("requiredDuringSchedulingIgnoredDuringExecution"))
    if req is None:
        return True
    return any(term_matches(t, node) for t in req.get("nodeSelectorTerms") or [])


class NodeAffinity(FilterPlugin):
    name = "NodeAffinity"

    def pre_filter(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        spec = pod.get("spec") or {}
        required = (((spec.get("affinity") or {}).get("nodeAffinity") or {})
                    .get("requiredDuringSchedulingIgnoredDuringExecution"))
        return None if spec.get("nodeSelector") or required is not None else SKIP

    def filter_skips_by_pod(self, pod: dict) -> bool:
        return self.pre_filter(pod, []) == SKIP

    def node_local_key(self, pod: dict):
        """nodeSelector and required node affinity match the node's labels and name only."""
        spec = pod.get("spec") or {}
        return frozen([spec.get("nodeSelector"), ((spec.get("affinity") or {}).get("nodeAffinity") or {})
                       .get("requiredDuringSchedulingIgnoredDuringExecution")])

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        return [] if node_matches(pod, node.node) else [REASON]
