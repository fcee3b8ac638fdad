"""Score SelectorSpread: spread pods of the same controller (ReplicaSet ...) over nodes — a node
already running more of the pod's siblings scores lower (the default spreading lab users expect)."""
from __future__ import annotations

from ..framework import SKIP, NodeInfo, ScorePlugin, controller_uid

owner_uid = controller_uid


class SelectorSpread(ScorePlugin):
    name = "SelectorSpread"

    def pre_score(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        uid = owner_uid(pod)
        counts = [ni.owners.get(uid, 0) for ni in nodes] if uid else []
        self.high = max(counts, default=0)                    # once per cycle, not once per node
        self.counts = {ni.name: c for ni, c in zip(nodes, counts) if c}
        return None if self.high else SKIP                    # no siblings anywhere: all 100

    def score(self, pod: dict, node: NodeInfo) -> float:
        high = getattr(self, "high", 0)
        return 100.0 * (1 - getattr(self, "counts", {}).get(node.name, 0) / high) if high else 100.0

    def score_all(self, pod: dict, nodes: list[NodeInfo]) -> list[float]:
        high, counts = getattr(self, "high", 0), getattr(self, "counts", {})
        if not high:
            return [100.0] * len(nodes)
        return [100.0 * (1 - counts.get(ni.name, 0) / high) for ni in nodes]
