"""Filter InterPodAffinity: required pod affinity and anti-affinity (requiredDuringScheduling...).

- every podAffinity term needs a matching pod in the candidate node's topology domain
  (unless no pod matches anywhere and the pod matches its own term: the first of a group);
- no podAntiAffinity term may have a matching pod in the candidate's domain;
- no existing pod's required anti-affinity may match this pod within its domain.
"""
from __future__ import annotations

from ..framework import SKIP, FilterPlugin, NodeInfo
from ..nodelist import nodes_where
from .podutil import pods_on, same_domain, term_matches

AFFINITY = "node(s) didn't match pod affinity rules"
ANTI = "node(s) didn't match pod anti-affinity rules"
EXISTING = "node(s) didn't satisfy existing pods anti-affinity rules"


def required(pod: dict, kind: str) -> list[dict]:
    aff = ((pod.get("spec") or {}).get("affinity") or {}).get(kind) or {}
    return list(aff.get("requiredDuringSchedulingIgnoredDuringExecution") or [])


class InterPodAffinity(FilterPlugin):
    name = "InterPodAffinity"

    def pre_filter(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        """Work out once per cycle which pods each term is about; filter() then only compares domains."""
        ns = pod["metadata"].get("namespace", "default")
        # existing pods whose required anti-affinity matches this pod: (their node, topology key)
        holders = nodes_where(nodes, "with_anti_affinity", lambda ni: ni.anti_affinity_pods())
        self.repelling = [(ni, term.get("topologyKey", "")) for ni in holders for other in ni.anti_affinity_pods()
                          for term in required(other, "podAntiAffinity")
                          if term_matches(term, other["metadata"].get("namespace"), pod)]
        self.anti = [(term.get("topologyKey", ""), [ni for ni, p in pods_on(nodes) if term_matches(term, ns, p)])
                     for term in required(pod, "podAntiAffinity")]
        self.affinity = [(term, [ni for ni, p in pods_on(nodes) if term_matches(term, ns, p)])
                         for term in required(pod, "podAffinity")]
        return None if self.repelling or self.anti or self.affinity else SKIP

    def filter_skips_by_pod(self, pod: dict) -> bool:
        """No node holds a pod with required anti-affinity: SKIP unless the pod has terms."""
        return not required(pod, "podAntiAffinity") and not required(pod, "podAffinity")

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        if not hasattr(self, "repelling"):
            self.pre_filter(pod, [node])
        if any(same_domain(node, ni, key) for ni, key in self.repelling):
            return [EXISTING]
        for key, holders in self.anti:
            if any(same_domain(node, ni, key) for ni in holders):
                return [ANTI]
        ns = pod["metadata"].get("namespace", "default")
        for term, holders in self.affinity:
            key = term.get("topologyKey", "")
            if any(same_domain(node, ni, key) for ni in holders):
                continue
            if not holders and term_matches(term, ns, pod) and node.node["metadata"].get("labels", {}).get(key) is not None:
                continue
            return [AFFINITY]
        return []
