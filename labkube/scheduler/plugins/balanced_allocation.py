"""Score NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory use stay balanced
(score = (1 - standard deviation of the used fractions) * 100)."""
from __future__ import annotations

from ..framework import NodeInfo, ScorePlugin
from .least_allocated import all_fractions, request_key


class BalancedAllocation(ScorePlugin):
    name = "NodeResourcesBalancedAllocation"

    def node_local_key(self, pod: dict):
        return request_key(pod)

    def score(self, pod: dict, node: NodeInfo) -> float:
        return self.score_all(pod, [node])[0]

    def score_all(self, pod: dict, nodes: list[NodeInfo]) -> list[float]:
        # population standard deviation of two values: half their distance
        return [(1 - abs(fc - fm) / 2) * 100 for fc, fm in all_fractions(pod, nodes)]
