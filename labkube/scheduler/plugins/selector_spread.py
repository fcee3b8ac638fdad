"""Score SelectorSpread: spread pods of the same controller (ReplicaSet ...) over nodes — a node
already running more of the pod's siblings scores lower (the default spreading lab users expect).

It runs over every feasible node of every cycle (hundreds with 1,000 nodes), so the sibling
counts are read once per cycle with C-level map() calls, and score_all reuses them when it gets
the same node list pre_score saw (the profile passes one list to both), turning each count into
its score through a table of the few distinct counts."""
from __future__ import annotations

from itertools import repeat
from operator import attrgetter

from ..framework import SKIP, NodeInfo, ScorePlugin, controller_uid
from ..nodelist import column, ranked

owner_uid = controller_uid
MAX_CONTROLLERS = 512       # controllers whose counts per node are kept (8 KB each at 1,000 nodes)
_owners = attrgetter("owners")


def sibling_counts(uid: str, nodes: list[NodeInfo]) -> list[int]:
    """How many pods of controller `uid` each node runs, in node order."""
    return list(map(dict.get, map(_owners, nodes), repeat(uid, len(nodes)), repeat(0, len(nodes))))


class SelectorSpread(ScorePlugin):
    name = "SelectorSpread"

    def pre_score(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        uid = owner_uid(pod)
        if uid and getattr(nodes, "tracked", False):
            cluster = nodes.cluster
            # the feasible nodes of a tracking NodeList: the controller's counts per node are
            # kept between cycles (only nodes whose pods changed are counted again)
            cols = self.__dict__.setdefault("_columns", {})
            col = column(cols, uid, cluster, lambda ni: ni.owners.get(uid, 0), MAX_CONTROLLERS)
            run = nodes.run
            ranks = ranked(cols, uid) if run is not None else None
            if ranks is not None:
                # one run of the list: the most siblings a node of it runs, from the column's
                # Ranks (the few distinct counts, each with its nodes sorted); the counts of the
                # run are read only if score_all asks for them
                self.high = ranks.highest(run[0], run[1], len(cluster))
                self._seen, self._run_column = (pod, nodes, None), col
                return None if self.high else SKIP
            counts = nodes.pick(col)
        else:
            counts = sibling_counts(uid, nodes) if uid else []
        self.high = max(counts, default=0)                    # once per cycle, not once per node
        self._seen = (pod, nodes, counts)
        return None if self.high else SKIP                    # no siblings anywhere: all 100

    def cycle_key(self, pod: dict):
        """After pre_score: a node's score depends only on the controller, the most siblings
        any feasible node runs (`high`) and the node's own pods."""
        uid = owner_uid(pod)
        return (uid, self.high) if uid and getattr(self, "high", 0) else None

    def _count(self, pod: dict, node: NodeInfo) -> int:
        uid = owner_uid(pod)
        return node.owners.get(uid, 0) if uid else 0

    def score(self, pod: dict, node: NodeInfo) -> float:
        high = getattr(self, "high", 0)
        return 100.0 * (1 - self._count(pod, node) / high) if high else 100.0

    def score_all(self, pod: dict, nodes: list[NodeInfo]) -> list[float]:
        high = getattr(self, "high", 0)
        if not high:
            return [100.0] * len(nodes)
        seen_pod, seen_nodes, counts = getattr(self, "_seen", (None, None, None))
        if seen_pod is pod and seen_nodes is nodes and counts is None:
            counts = nodes.pick(self._run_column)   # pre_score read the run's counts from their column
        if seen_pod is not pod or seen_nodes is not nodes:
            uid = owner_uid(pod)
            counts = sibling_counts(uid, nodes) if uid else [0] * len(nodes)
            return [100.0 * (1 - c / high) for c in counts]
        # the counts pre_score saw are 0..high: one score per count, looked up per node
        table = [100.0 * (1 - c / high) for c in range(high + 1)]
        return list(map(table.__getitem__, counts))
