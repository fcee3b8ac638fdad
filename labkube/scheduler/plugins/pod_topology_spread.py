"""PodTopologySpread: spec.topologySpreadConstraints.

Filter (whenUnsatisfiable: DoNotSchedule): placing the pod must keep
count(domain) - min(count over domains) <= maxSkew, counting pods matching the constraint's
labelSelector in the pod's namespace over nodes that carry the topology key (and match the
pod's node selector/affinity). Score (ScheduleAnyway): fewer matching pods in the domain is better.
"""
from __future__ import annotations

from collections import Counter

from labkube.client.selectors import selector_matches

from ..framework import SKIP, FilterPlugin, NodeInfo, ScorePlugin
from .node_affinity import node_matches
from .podutil import topology_value

REASON = "node(s) didn't match pod topology spread constraints"
MISSING = "node(s) didn't match pod topology spread constraints (missing required label)"


def constraints(pod: dict, mode: str) -> list[dict]:
    return [c for c in (pod.get("spec") or {}).get("topologySpreadConstraints") or []
            if (c.get("whenUnsatisfiable") or "DoNotSchedule") == mode]


def domain_counts(pod: dict, c: dict, nodes: list[NodeInfo]) -> Counter:
    key, ns = c.get("topologyKey", ""), pod["metadata"].get("namespace", "default")
    counts: Counter = Counter()
    for ni in nodes:
        dom = topology_value(ni, key)
        if dom is None or not node_matches(pod, ni.node):
            continue
        counts[dom] += sum(1 for p in ni.pods if p["metadata"].get("namespace") == ns
                           and not p["metadata"].get("deletionTimestamp")
                           and selector_matches(c.get("labelSelector") or {}, p["metadata"].get("labels")))
    return counts


class PodTopologySpread(FilterPlugin, ScorePlugin):
    name = "PodTopologySpread"

    def pre_filter(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        self.hard = [(c, domain_counts(pod, c, nodes)) for c in constraints(pod, "DoNotSchedule")]
        return None if self.hard else SKIP

    def filter_skips_by_pod(self, pod: dict) -> bool:
        return not constraints(pod, "DoNotSchedule")

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        for c, counts in getattr(self, "hard", []):
            dom = topology_value(node, c.get("topologyKey", ""))
            if dom is None:
                return [MISSING]
            self_match = 1 if selector_matches(c.get("labelSelector") or {}, pod["metadata"].get("labels")) else 0
            low = min(counts.values()) if counts else 0
            if counts.get(dom, 0) + self_match - low > int(c.get("maxSkew", 1)):
                return [REASON]
        return []

    def pre_score(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        self.soft = [(c, domain_counts(pod, c, nodes)) for c in constraints(pod, "ScheduleAnyway")]
        return None if self.soft else SKIP

    def score_skips_by_pod(self, pod: dict) -> bool:
        return not constraints(pod, "ScheduleAnyway")

    def score(self, pod: dict, node: NodeInfo) -> float:
        soft = getattr(self, "soft", [])
        if not soft:
            return 0.0
        total = 0.0
        for c, counts in soft:
            dom = topology_value(node, c.get("topologyKey", ""))
            high = max(counts.values()) if counts else 0
            mine = counts.get(dom, high) if dom is not None else high
            total += 100.0 * (1 - mine / high) if high else 100.0
        return total / len(soft)
