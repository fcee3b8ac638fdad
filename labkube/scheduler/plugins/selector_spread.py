"""Score SelectorSpread: spread pods of the same controller (ReplicaSet ...) over nodes — a node
already running more of the pod's siblings scores lower (the default spreading lab users expect)."""
from __future__ import annotations

from ..framework import SKIP, NodeInfo, ScorePlugin


def owner_uid(pod: dict) -> str | None:
    for ref in (pod.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref.get("uid")
    return None


class SelectorSpread(ScorePlugin):
    name = "SelectorSpread"

    def pre_score(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        uid = owner_uid(pod)
        self.counts = {ni.name: (ni.owner_counts().get(uid, 0) if uid else 0) for ni in nodes}
        self.high = max(self.counts.values(), default=0)     # once per cycle, not once per node
        return None if self.high else SKIP                    # no siblings anywhere: all 100

    def score(self, pod: dict, node: NodeInfo) -> float:
        counts = getattr(self, "counts", {})
        high = getattr(self, "high", 0)
        return 100.0 * (1 - counts.get(node.name, 0) / high) if high else 100.0
