"""Score NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory use stay balanced
(score = (1 - standard deviation of the used fractions) * 100)."""
from __future__ import annotations

import statistics

from ..framework import NodeInfo, ScorePlugin
from .least_allocated import fractions


class BalancedAllocation(ScorePlugin):
    name = "NodeResourcesBalancedAllocation"

    def score(self, pod: dict, node: NodeInfo) -> float:
        f = list(fractions(pod, node).values())
        return (1 - statistics.pstdev(f)) * 100
