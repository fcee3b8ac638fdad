"""The cache's list of nodes for a cycle and the per-node columns the profile keeps along it.

`NodeList` holds the NodeInfos in name order with cluster-wide indexes (unschedulable, tainted,
nodes with anti-affinity pods) and, when tracking, a change log of the NodeInfos that got a new
generation; `column()` keeps one value per node for a key (a pod class's filter verdicts, its
node-local score sums, a controller's pod counts) and refreshes only the nodes logged since the
last call (and the column's `Ranks`, once `ranked()` asked for them: window queries). `Feasible`
is what the filters leave for the score plugins; `NodesAt`, a view of the nodes at some indexes of a list.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from .ranks import Ranks

if TYPE_CHECKING:
    from .nodeinfo import NodeInfo


class NodeList(list):
    """The nodes of one cycle, as the scheduler's cache keeps them (in name order), with
    cluster-wide facts kept incrementally so plugins need not scan every node to learn them.
    Plugins also accept a plain list (then they scan).

    A tracking NodeList (`tracking=True`, the cache's) also keeps a change log: its NodeInfos
    append themselves to `changed` on every new generation, and `epoch` moves when nodes are
    added or removed (indexes shift). The profile keeps per-node verdicts and scores per pod
    class in columns aligned with the list and refreshes only the nodes logged since, instead of
    checking every node's memo on every cycle. Nodes must then go in and out through
    `insert_node`/`remove_at`."""

    MAX_LOG = 1024                  # plus 4 entries per node: then the log restarts (columns recompute)

    def __init__(self, *args, tracking: bool = False):
        super().__init__(*args)
        self.by_name: dict[str, NodeInfo] = {}
        self.unschedulable: set[str] = set()           # node names
        self.hard_tainted: set[str] = set()
        self.prefer_tainted: set[str] = set()          # nodes with PreferNoSchedule taints
        self.with_anti_affinity: set[str] = set()      # nodes with pods that have required anti-affinity
        self.tracking = tracking
        self.epoch = 0
        self.changed: list[NodeInfo] = []
        self.changed_base = 0           # log entries dropped so far
        self._index: dict[str, int] | None = None
        self._twice: list[int] | None = None
        self._twice_nodes: tuple[int, list] | None = None      # (epoch, the NodeInfos twice)
        self._since: tuple[int, int, list] | None = None        # changed_since's last (mark, end, answer)

    def insert_node(self, i: int, ni: NodeInfo) -> None:
        self.insert(i, ni)
        if self.tracking:
            ni.log = self.changed
        self.epoch += 1
        self._index = None

    def remove_at(self, i: int) -> NodeInfo:
        ni = self.pop(i)
        ni.log = None
        self.epoch += 1
        self._index = None
        return ni

    def index_of(self) -> dict[str, int]:
        """Node name -> its index in the list."""
        if self._index is None:
            self._index = {ni.name: i for i, ni in enumerate(self)}
        return self._index

    def positions(self) -> list[int]:
        """0 .. len-1 twice: any rotation of the indexes is one slice of it."""
        if self._twice is None or len(self._twice) != 2 * len(self):
            self._twice = list(range(len(self))) * 2
        return self._twice

    def run_from(self, start: int, count: int) -> list[NodeInfo]:
        """The `count` NodeInfos from index `start` on, round the end of the list to its start
        (count <= len): one slice of the list held twice, kept until nodes come or go."""
        held = self._twice_nodes
        if held is None or held[0] != self.epoch or len(held[1]) != 2 * len(self):
            held = self._twice_nodes = (self.epoch, list(self) * 2)
        return held[1][start:start + count]

    def mark(self) -> int:
        """A position in the change log (for `changed_since`)."""
        if len(self.changed) > self.MAX_LOG + 4 * len(self):
            self.changed_base += len(self.changed)
            self.changed.clear()
        return self.changed_base + len(self.changed)

    def changed_since(self, mark: int) -> list[NodeInfo] | None:
        """The NodeInfos that got a new generation since `mark` (each once), or None when the log
        no longer reaches back that far. The list is shared by the callers asking from the same
        mark before the log grows (a cycle's columns, usually all from one mark): not to be
        modified."""
        if mark < self.changed_base:
            return None
        end = self.changed_base + len(self.changed)
        held = self._since
        if held is not None and held[0] == mark and held[1] == end:
            return held[2]
        out = list(dict.fromkeys(self.changed[mark - self.changed_base:]))
        self._since = (mark, end, out)
        return out


class Feasible(list):
    """The nodes that passed the filters in one cycle (what score plugins get), with `cluster`:
    the list they were picked from, whose indexes (a NodeList's) tell what no node has, `at`:
    their indexes in a tracking `cluster` (None otherwise), and `run`: (start, count) when those
    indexes are one run of `cluster` from `start` on, round its end (the usual cycle: every node
    looked at fits; `at` is then listed only when read). `tracked`: whether `at` is known."""
    cluster: list | None = None
    run: tuple[int, int] | None = None
    plan = None                     # the cycle's ClassPlan (classplan), if any
    _at: list[int] | None = None

    @property
    def at(self) -> list[int] | None:
        if self._at is None and self.run is not None:
            start, count = self.run
            self._at = self.cluster.positions()[start:start + count]
        return self._at

    @at.setter
    def at(self, value: list[int] | None) -> None:
        self._at = value

    @property
    def tracked(self) -> bool:
        """Whether these are nodes of a tracking `cluster` with their indexes known (`at`)."""
        return (self._at is not None or self.run is not None) and getattr(self.cluster, "tracking", False)

    def pick(self, values: list) -> list:
        """The entries of `values` (a column: one per node of the tracking `cluster`, in its
        order) for these nodes, in their order: a slice or two when they are one run."""
        if self.run is not None:
            start, count = self.run
            end = start + count
            return values[start:end] if end <= len(values) else values[start:] + values[:end - len(values)]
        return list(map(values.__getitem__, self.at))


class NodesAt(Sequence):
    """The nodes of `nodes` at the indexes `at`, in that order, as a read-only sequence that
    lists nothing: a cycle draws one of its tied nodes (Random.choice reads the length and one
    item) without building the list of the ~200 NodeInfos first."""

    __slots__ = ("nodes", "at")

    def __init__(self, nodes: list[NodeInfo], at: list[int]):
        self.nodes, self.at = nodes, at

    def __len__(self) -> int:
        return len(self.at)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self.nodes[j] for j in self.at[i]]
        return self.nodes[self.at[i]]


def nodes_where(nodes: list[NodeInfo], attr: str, test) -> list[NodeInfo]:
    """The nodes for which test(NodeInfo) holds: from the NodeList's index `attr` when there is
    one, else by scanning."""
    names = getattr(nodes, attr, None)
    if names is not None:
        by = nodes.by_name
        return [by[n] for n in sorted(names) if n in by]
    return [ni for ni in nodes if test(ni)]


def any_where(nodes: list[NodeInfo], attr: str, test) -> bool:
    """Whether nodes_where(nodes, attr, test) has a node, without listing them (the usual answer
    from an index: no node is cordoned, none is tainted)."""
    names = getattr(nodes, attr, None)
    if names is not None:
        by = nodes.by_name
        return any(n in by for n in names)
    return any(test(ni) for ni in nodes)


MAX_COLUMNS = 64                # pod classes with a column of per-node values kept (then they restart)


def column(memo: dict, key, nodes: NodeList, compute, limit: int = MAX_COLUMNS, many=None) -> list:
    """The values per node of the tracking NodeList `nodes` for `key` (a pod class, a
    controller), in list order, kept in `memo`: from the last call for that key with
    compute(node) again for each node logged as changed since, or all computed afresh (first
    call, nodes added or removed, log restarted). compute(node) must depend only on the key and
    the node's own state (its generation). `many`, when given, is used instead: many(list of
    nodes) -> their values, in order (one call for all the nodes to compute). At most `limit`
    keys are kept (then all restart)."""
    col = memo.get(key)
    changed = None
    if col is not None and col[0] is nodes and col[1] == nodes.epoch:
        changed = nodes.changed_since(col[2])
    if changed is None:
        if len(memo) >= limit:
            memo.clear()
        values = many(list(nodes)) if many is not None else list(map(compute, nodes))
        memo[key] = [nodes, nodes.epoch, nodes.mark(), values, None]
        return values
    values, ranks = col[3], col[4]
    if changed:
        where = nodes.index_of()
        for ni, v in zip(changed, many(changed)) if many is not None else zip(changed, map(compute, changed)):
            i = where[ni.name]
            if ranks:
                ranks.move(i, values[i], v)
            values[i] = v
    col[2] = nodes.mark()
    return values


def ranked(memo: dict, key, group=None) -> Ranks | None:
    """The Ranks of the column kept in `memo` for `key` (grouped by `group`), kept up to date by
    `column()` once made; call it right after column(memo, key, ...). None the first time a
    column is asked (the caller scans instead): Ranks are made on the second, so a column that
    lives for one cycle (pod classes interleaved beyond MAX_COLUMNS) never pays for them."""
    col = memo[key]
    ranks = col[4]
    if ranks is None:
        col[4] = False
        return None
    if ranks is False:
        ranks = col[4] = Ranks(col[3], group)
    return ranks
