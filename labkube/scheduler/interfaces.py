"""The plugin interfaces: FilterPlugin and ScorePlugin, which every plugin module subclasses, and
the helpers their node_local_key()s use.

A filter plugin returns a list of reasons the node does not fit (empty: fits); a score
plugin returns 0..100 for a node that passed every filter.
"""
from __future__ import annotations

from labkube import jsonio

from .nodeinfo import NodeInfo


def frozen(value) -> bytes:
    """A hashable stand-in for a piece of a pod (lists and dicts, as JSON): for memo keys, where
    two equal values written in another key order only cost a memo miss."""
    return jsonio.dumps(value)


SKIP = "Skip"


class FilterPlugin:
    name = "Filter"

    def node_local_key(self, pod: dict):
        """None, or a hashable summary of the pod such that, once pre_filter() has run,
        filter(pod, node) depends only on it and on the node's own state (NodeInfo.generation):
        then the profile keeps each node's verdict between cycles and runs the filters again only
        for nodes that changed or pods with another summary (kube-scheduler's former equivalence
        cache, kept per node). A plugin whose answer depends on other nodes returns None."""
        return None

    def pre_filter(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        """Called once per cycle with every node, before filter(); for cluster-wide state.
        Returning SKIP (the pod asks nothing of this plugin) spares the filter() calls, as
        kube-scheduler's PreFilter Skip."""

    def filter_skips_by_pod(self, pod: dict) -> bool:
        """True only when pre_filter(pod, nodes) returns SKIP for this pod on every tracking
        NodeList whose indexes (unschedulable, hard_tainted, prefer_tainted, with_anti_affinity)
        are empty, from the pod's spec and metadata (but its name, uid, resourceVersion and
        creationTimestamp) alone: then a pod of the same class skips the call (classplan)."""
        return False

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        raise NotImplementedError

    def filter_batch(self, pod: dict, nodes: list[NodeInfo]) -> list[list[str]]:
        """filter() for several nodes, in order (plugins override this with one tight loop)."""
        return [self.filter(pod, ni) for ni in nodes]


class ScorePlugin:
    name = "Score"
    weight = 1

    def node_local_key(self, pod: dict):
        """None, or a hashable summary of the pod such that the score of a node depends only on
        it and on the node's own state (NodeInfo.generation), never on the other nodes: then the
        profile keeps each node's score between cycles and recomputes it only for nodes that
        changed or pods with another key (most cycles: one node, the previous pod's)."""
        return None

    def pre_score(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        """Called once per cycle with the feasible nodes, before score(). Returning SKIP (every
        node would get the same score) spares the score() calls, as kube-scheduler's PreScore Skip."""

    def score_skips_by_pod(self, pod: dict) -> bool:
        """As FilterPlugin.filter_skips_by_pod, for pre_score(pod, feasible nodes of such a
        NodeList)."""
        return False

    def score(self, pod: dict, node: NodeInfo) -> float:
        raise NotImplementedError

    def score_all(self, pod: dict, nodes: list[NodeInfo]) -> list[float]:
        """Scores of the feasible nodes, in order (plugins override this with one tight loop)."""
        return [self.score(pod, ni) for ni in nodes]

    def cycle_key(self, pod: dict):
        """Asked after a pre_score() that did not return SKIP: None, or a hashable summary of
        what this cycle's scores depend on besides the node, such that until the next
        pre_score(), score_all(pod, nodes) gives each node (of any list) the score it gives
        it among the feasible nodes, from the key and the node's own state (NodeInfo.generation)
        only. The profile then keeps running totals per node with this plugin's score added
        across cycles with the same key (most cycles: the pods of one ReplicaSet)."""
        return None
