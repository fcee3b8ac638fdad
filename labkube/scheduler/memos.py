"""The per-node memos a Profile keeps between cycles: a node's filter verdict and node-local score
sum for a pod class (NodeInfo.filter_memo / score_memo, valid while the node's generation and
the class's interned key are unchanged), and on a tracking NodeList the same as columns per pod
class (`nodelist.column`), refreshed only for the nodes that changed since the last cycle.

`CycleMemos` holds the Profile's paths that read and keep them (cycle.Profile subclasses it and
declares the state they use: `_keys`, `_verdicts`, `_local`, `_fused`); the module-level
helpers below are what those paths and Profile.select_host share.
"""
from __future__ import annotations

from itertools import compress, islice, repeat
from operator import add, attrgetter, itemgetter, mul, ne, not_, truth

from .interfaces import FilterPlugin, ScorePlugin
from .nodeinfo import NodeInfo
from .nodelist import NodeList, column, ranked

FILTER_CHUNK = 64               # nodes per pass of filtering (find_nodes' plain path; _find_memoized: at least)
MAX_INTERNED_KEYS = 4096
FITS: list[str] = []            # the shared "no reasons" verdict (never modified)


class CycleMemos:
    """The memo paths of Profile (a mixin: the state is the Profile's fields, see cycle.Profile)."""

    def _find_tracked(self, pod: dict, active: list[FilterPlugin], fkey: tuple, nodes: NodeList, start: int,
                      want: int, reasons: dict) -> tuple[list[NodeInfo], int, list[int], tuple | None]:
        """find_nodes on a tracking NodeList when every active filter is node-local: the
        verdicts of the class's column, read from `start` round the list; the feasible nodes are
        the first `want` that fit, and the nodes up to the last of them (or all) count as looked
        at (their failures give the reasons). Returns (feasible, looked at, their indexes, and
        (start, want) when they are the `want` nodes from `start` on: see Feasible.run; their
        indexes are then None, listed by Feasible.at when read)."""
        def verdict(ni: NodeInfo) -> list[str]:
            m = ni.filter_memo
            if m and m[1] is fkey and m[0] == ni.generation:
                return m[2]
            return _filter_verdict(pod, active, ni, fkey)

        n = len(nodes)
        verdicts = column(self._verdicts, fkey, nodes, verdict)
        end = start + want
        ranks = ranked(self._verdicts, fkey, truth)
        if (not ranks.holds(True, start, want, n) if ranks is not None
                else not any(verdicts[start:end] if end <= n else verdicts[start:] + verdicts[:end - n])):
            # the usual case: the `want` nodes from `start` on all fit (the column's failing
            # entries, usually none, are kept sorted: a bisection or two tells), so they are the
            # feasible nodes and the nodes looked at, with no reasons; slices, no pass per node
            return nodes.run_from(start, want), want, None, (start, want)
        if start:
            verdicts = verdicts[start:] + verdicts[:start]
            where = nodes.positions()[start:start + n]
        else:
            where = range(n)
        picked = list(islice(compress(range(n), map(not_, verdicts)), want))
        processed = picked[-1] + 1 if len(picked) == want else n
        for i in compress(range(processed), map(truth, verdicts[:processed])):
            reasons[nodes[where[i]].name] = verdicts[i]
        at = list(map(where.__getitem__, picked))
        return list(map(nodes.__getitem__, at)), processed, at, None

    def _intern(self, key: tuple) -> tuple:
        """One object per distinct key, so memos compare keys by identity (`is`)."""
        keys = self._keys
        got = keys.get(key)
        if got is None:
            if len(keys) >= MAX_INTERNED_KEYS:
                keys.clear()            # old memos then miss once: never a wrong answer
            got = keys[key] = key
        return got

    def _filter_key(self, pod: dict, active: list[FilterPlugin]) -> tuple | None:
        """The pod's filter class: every active filter's node_local_key (None: one is not
        node-local, so no node keeps a verdict for it)."""
        parts = []
        for f in active:
            k = f.node_local_key(pod)
            if k is None:
                return None
            parts.append((f.name, k))
        return self._intern(tuple(parts))

    @staticmethod
    def _find_memoized(pod: dict, active: list[FilterPlugin], fkey: tuple, order: list[NodeInfo],
                       want: int, feasible: list, reasons: dict) -> int:
        """find_nodes when every active filter is node-local: each node's verdict from its memo
        when neither the node (generation) nor the pod's class changed, else from the filters in
        order (the first that fails gives the reasons); the feasible nodes are the first `want`
        that fit, in order, and the nodes before the last of them (or all) count as looked at.
        Returns how many that is.

        The memo checks and the picking run a chunk of `want` nodes at a time in C-level map()
        calls (a Python loop over hundreds of nodes per cycle was most of a cycle's cost); only
        the stale memos of a chunk go through the filters, so a new pod class may filter up to a
        chunk more nodes than kube-scheduler would look at, never with another result."""
        processed = 0
        step = max(want, FILTER_CHUNK)
        for at in range(0, len(order), step):
            chunk = order[at:at + step]
            memos = list(map(_filter_memo, chunk))
            for i in _stale(chunk, memos, fkey):
                _filter_verdict(pod, active, chunk[i], fkey)
                memos[i] = chunk[i].filter_memo
            verdicts = list(map(_third, memos))
            need = want - len(feasible)
            picked = list(islice(compress(range(len(chunk)), map(not_, verdicts)), need))
            upto = picked[-1] + 1 if len(picked) == need else len(chunk)
            feasible.extend(map(chunk.__getitem__, picked))
            for i in compress(range(upto), map(truth, verdicts[:upto])):
                reasons[chunk[i].name] = verdicts[i]
            processed += upto
            if len(feasible) >= want:
                break
        return processed

    def _local_prefix(self, pod: dict) -> tuple[int, tuple]:
        """How many leading score plugins are node-local for this pod, and their keys (interned)."""
        keys = []
        for s in self.scores:
            k = s.node_local_key(pod)
            if k is None:
                break
            keys.append(k)
        return len(keys), self._intern(("score", *keys))

    def _node_local_totals(self, pod: dict, feasible: list[NodeInfo], n: int, key: tuple) -> list[float]:
        """The weighted sum of the first `n` (node-local) plugins' scores per node, added in the
        same order as the plain loop, from each node's memo where the node and the pod's key are
        unchanged."""
        if not n:
            return [0] * len(feasible)
        if getattr(feasible, "tracked", False):
            return feasible.pick(self._local_column(pod, feasible.cluster, n, key))
        memos = list(map(_score_memo, feasible))
        stale = _stale(feasible, memos, key)
        if stale:
            nodes = [feasible[i] for i in stale]
            sums = self._weighted_sums(pod, nodes, n)
            for i, ni, v in zip(stale, nodes, sums):
                memos[i] = ni.score_memo = (ni.generation, key, v)
        return list(map(_third, memos))

    def _local_column(self, pod: dict, cluster: NodeList, n: int, key: tuple) -> list[float]:
        """_node_local_totals of every node of the tracking NodeList `cluster`, as the class's
        column: a changed node's entry is computed again at once, in the next cycle of the class,
        whether or not the node is feasible in it (a node-local score depends only on the key and
        the node), so the column never holds a stale or missing entry and the feasible nodes'
        entries are read with no per-node check (a scan of the ~420 entries for a missing one
        took ~8 % of a cycle at 1,000 nodes)."""
        return column(self._local, key, cluster, None, many=lambda nodes: self._weighted_sums(pod, nodes, n))

    def _weighted_sums(self, pod: dict, nodes: list, n: int) -> list[float]:
        """The weighted sum of the first n (node-local) score plugins for each of nodes."""
        sums = [0] * len(nodes)
        for s in self.scores[:n]:
            s.pre_score(pod, nodes)
            w = s.weight
            sums = [t + w * v for t, v in zip(sums, s.score_all(pod, nodes))]
        return sums


def add_scores(base: list, cluster: NodeList, s: ScorePlugin, pod: dict, nodes: list[NodeInfo]) -> list[float]:
    """For each of `nodes` (of the tracking `cluster`): its entry in the column `base` plus the
    weighted score of `s` (whose pre_score ran in this cycle), added as select_host adds it."""
    where = cluster.index_of()
    totals = [base[where[ni.name]] for ni in nodes]
    w, scores = s.weight, s.score_all(pod, nodes)
    return list(map(add, totals, scores if w == 1 else map(mul, repeat(w), scores)))


def _filter_verdict(pod: dict, active: list[FilterPlugin], ni: NodeInfo, fkey: tuple) -> list[str]:
    """The reasons of the first active filter ni fails (FITS when it passes them all), kept as
    ni's filter memo for the pod class `fkey` at its current generation."""
    v = FITS
    for f in active:
        v = f.filter(pod, ni)
        if v:
            break
    ni.filter_memo = (ni.generation, fkey, v)
    return v


_score_memo = attrgetter("score_memo")
_filter_memo = attrgetter("filter_memo")
_generation = attrgetter("generation")
_memo_head = itemgetter(slice(0, 2))
_third = itemgetter(2)


def _stale(nodes: list[NodeInfo], memos: list[tuple], key: tuple) -> list[int]:
    """Indexes of the nodes whose memo, (generation, key, value) or (), is not for `key` at the
    node's current generation (one C-level pass)."""
    return list(compress(range(len(nodes)), map(ne, map(_memo_head, memos),
                                                 zip(map(_generation, nodes), repeat(key)))))
