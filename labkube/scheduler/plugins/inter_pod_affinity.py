"""Filter InterPodAffinity: required pod affinity and anti-affinity (requiredDuringScheduling...).

- every podAffinity term needs a matching pod in the candidate node's topology domain
  (unless no pod matches anywhere and the pod matches its own term: the first of a group);
- no podAntiAffinity term may have a matching pod in the candidate's domain;
- no existing pod's required anti-affinity may match this pod within its domain.
"""
from __future__ import annotations

from ..framework import FilterPlugin, NodeInfo
from .podutil import pods_on, same_domain, term_matches

AFFINITY = "node(s) didn't match pod affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"


def required(pod: dict, kind: str) -> list[dict]:
    aff = ((pod.get("spec") or {}).get("affinity") or {}).get(kind) or {}
    return list(aff.get("requiredDuringSchedulingIgnoredDuringExecution") or [])


class InterPodAffinity(FilterPlugin):
    name = "InterPodAffinity"

    def pre_filter(self, pod: dict, nodes: list[NodeInfo]) -> None:
        self.nodes = nodes

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        ns = pod["metadata"].get("namespace", "default")
        nodes = getattr(self, "nodes", [node])
        for other_ni, other in pods_on(nodes):
            for term in required(other, "podAntiAffinity"):
                if term_matches(term, other["metadata"].get("namespace"), pod) and \
                        same_domain(node, other_ni, term.get("topologyKey", "")):
                    return [EXISTING]
        for term in required(pod, "podAntiAffinity"):
            key = term.get("topologyKey", "")
            if any(term_matches(term, ns, p) and same_domain(node, ni, key) for ni, p in pods_on(nodes)):
                return [ANTI]
        for term in required(pod, "podAffinity"):
            key = term.get("topologyKey", "")
            matches = [(ni, p) for ni, p in pods_on(nodes) if term_matches(term, ns, p)]
            if any(same_domain(node, ni, key) for ni, _ in matches):
                continue
            if not matches and term_matches(term, ns, pod) and node.node["metadata"].get("labels", {}).get(key) is not None:
                continue
            return [AFFINITY]
        return []
