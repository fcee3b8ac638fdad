"""Score NodeResourcesBalancedAllocation: prefer nodes whose cpu and memory use stay balanced
(score = (1 - standard deviation of the used fractions) * 100)."""
from __future__ import annotations

import math

from ..framework import NodeInfo, ScorePlugin
from .least_allocated import fractions


class BalancedAllocation(ScorePlugin):
    name = "NodeResourcesBalancedAllocation"

    def score(self, pod: dict, node: NodeInfo) -> float:
        f = list(fractions(pod, node).values())
        mean = sum(f) / len(f)
        std = math.sqrt(sum((x - mean) ** 2 for x in f) / len(f))     # population standard deviation
        return (1 - std) * 100
