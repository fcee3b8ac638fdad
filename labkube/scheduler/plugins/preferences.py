"""Scores from soft preferences, each normalised to 0..100 over the feasible nodes:

- NodeAffinityPreference: sum of the weights of matching preferredDuringScheduling node terms;
- TaintPreference: fewer untolerated PreferNoSchedule taints is better;
- InterPodAffinityPreference: preferred pod affinity (+weight per matching pod in the
  node's topology domain) and anti-affinity (-weight).
"""
from __future__ import annotations

from ..framework import SKIP, NodeInfo, ScorePlugin
from .node_affinity import term_matches as node_term_matches
from .podutil import pods_on, same_domain, term_matches
from .taint_toleration import tolerates


class _Normalised(ScorePlugin):
    def raw(self, pod: dict, node: NodeInfo, nodes: list[NodeInfo]) -> float:
        raise NotImplementedError

    def wants(self, pod: dict) -> bool:
        """False when the pod has nothing this plugin scores (every node: 0)."""
        return True

    def pre_score(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        if not self.wants(pod):
            self.scores = {}
            return SKIP
        raws = {ni.name: self.raw(pod, ni, nodes) for ni in nodes}
        lo, hi = min(raws.values(), default=0), max(raws.values(), default=0)
        self.scores = {n: (100.0 * (v - lo) / (hi - lo) if hi > lo else 0.0) for n, v in raws.items()}
        return None if hi > lo else SKIP

    def score_skips_by_pod(self, pod: dict) -> bool:
        return not self.wants(pod)

    def score(self, pod: dict, node: NodeInfo) -> float:
        return getattr(self, "scores", {}).get(node.name, 0.0)


class NodeAffinityPreference(_Normalised):
    name = "NodeAffinity"

    def wants(self, pod):
        return bool((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
                    .get("preferredDuringSchedulingIgnoredDuringExecution"))

    def raw(self, pod, node, nodes):
        prefs = ((((pod.get("spec") or {}).get("affinity") or {}).get("nodeAffinity") or {})
                 .get("preferredDuringSchedulingIgnoredDuringExecution") or [])
        return sum(int(p.get("weight", 0)) for p in prefs if node_term_matches(p.get("preference") or {}, node.node))


class TaintPreference(_Normalised):
    name = "TaintToleration"

    def pre_score(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        # the usual case: no node of the cluster has such a taint (the cache's index says so
        # without a scan), so every node scores 0
        known = getattr(getattr(nodes, "cluster", None), "prefer_tainted", None)
        if (known is not None and not known) or not any(ni.prefer_taints for ni in nodes):
            self.scores = {}
            return SKIP
        return super().pre_score(pod, nodes)

    def score_skips_by_pod(self, pod: dict) -> bool:
        return True                 # no node has a PreferNoSchedule taint: SKIP

    def raw(self, pod, node, nodes):
        tols = (pod.get("spec") or {}).get("tolerations") or []
        return -sum(1 for t in node.prefer_taints if not tolerates(tols, t))


class InterPodAffinityPreference(_Normalised):
    name = "InterPodAffinity"

    def wants(self, pod):
        aff = (pod.get("spec") or {}).get("affinity") or {}
        return any((aff.get(k) or {}).get("preferredDuringSchedulingIgnoredDuringExecution")
                   for k in ("podAffinity", "podAntiAffinity"))

    def raw(self, pod, node, nodes):
        aff = (pod.get("spec") or {}).get("affinity") or {}
        ns = pod["metadata"].get("namespace", "default")
        total = 0.0
        for kind, sign in (("podAffinity", 1), ("podAntiAffinity", -1)):
            for w in (aff.get(kind) or {}).get("preferredDuringSchedulingIgnoredDuringExecution") or []:
                term = w.get("podAffinityTerm") or {}
                key = term.get("topologyKey", "")
                hits = sum(1 for ni, p in pods_on(nodes) if term_matches(term, ns, p) and same_domain(node, ni, key))
                total += sign * int(w.get("weight", 0)) * hits
        return total
