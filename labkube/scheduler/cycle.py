"""One scheduling cycle: Profile runs the filter plugins over the nodes (find_nodes), scores the
feasible ones and picks a host (select_host); FitError when no node fits. The memos that let a
cycle skip the plugins for unchanged nodes are in `memos` (Profile's CycleMemos base).

The FitError message is built the way kube-scheduler words it: "0/3 nodes are available:
1 node(s) had untolerated taint {...}, 2 Insufficient cpu."
"""
from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from functools import partial
from itertools import compress, repeat
from operator import add, ge, is_, mul

from .classplan import ClassPlan, PodClass, class_slot, keep_plan, plain_indexes, plan_for
from .interfaces import SKIP, FilterPlugin, ScorePlugin
from .memos import FILTER_CHUNK, CycleMemos, add_scores
from .nodeinfo import NodeInfo
from .nodelist import Feasible, NodesAt, column, ranked


class FitError(Exception):
    def __init__(self, pod: dict, num_nodes: int, reasons: dict[str, list[str]]):
        self.pod = pod
        self.num_nodes = num_nodes
        self.reasons = reasons      # node name -> reasons
        super().__init__(self.message())

    def message(self) -> str:
        counts = Counter(r for rs in self.reasons.values() for r in rs)
        parts = sorted(f"{n} {r}" for r, n in counts.items())
        if self.num_nodes == 0:
            return "0/0 nodes are available: no nodes available to schedule pods."
        return f"0/{self.num_nodes} nodes are available: {', '.join(parts)}."


MIN_FEASIBLE_NODES = 100


def feasible_nodes_to_find(num_nodes: int, percentage: int = 0) -> int:
    """kube-scheduler's percentageOfNodesToScore: with 100 nodes or more, filtering stops once
    this many feasible nodes are found (0 = adaptive: 50 % minus 1 % per 125 nodes, at least 5 %)."""
    if num_nodes < MIN_FEASIBLE_NODES or percentage >= 100:
        return num_nodes
    pct = percentage if percentage > 0 else max(50 - num_nodes // 125, 5)
    return max(num_nodes * pct // 100, MIN_FEASIBLE_NODES)


@dataclass
class Profile(CycleMemos):
    filters: list[FilterPlugin]
    scores: list[ScorePlugin]
    rng: random.Random = field(default_factory=random.Random)
    percentage_of_nodes_to_score: int = 0
    next_start: int = 0              # where the next cycle starts looking (round robin, as kube-scheduler)
    _keys: dict = field(default_factory=dict, repr=False)     # interned memo keys
    # per pod class, values per node of a tracking NodeList: [list, epoch, log mark, values]
    _verdicts: dict = field(default_factory=dict, repr=False)   # filter key -> reasons per node
    _local: dict = field(default_factory=dict, repr=False)      # score key -> node-local score sum per node
    # (score key, then per later plugin: its name, weight and cycle key) -> running total per node
    _fused: dict = field(default_factory=dict, repr=False)
    _plans: dict = field(default_factory=dict, repr=False)      # class slot -> ClassPlan (classplan)

    def find_nodes(self, pod: dict, nodes: list[NodeInfo]) -> list[NodeInfo]:
        """Nodes passing every filter (enough of them: `feasible_nodes_to_find`); FitError naming
        the reasons when there are none."""
        feasible, reasons = [], {}
        plan = plan_for(self._plans, pod, nodes, self.filters, self.scores)
        if plan is not None:
            # a pod of a class seen before on this node list: only the filters that did not
            # answer SKIP for it by the pod alone are asked again (classplan)
            active = [f for f in plan.filter_calls if f.pre_filter(pod, nodes) != SKIP]
            fkey = plan.fkey if active == plan.active else (self._filter_key(pod, active) if active else None)
        else:
            answers = [f.pre_filter(pod, nodes) for f in self.filters]
            active = [f for f, a in zip(self.filters, answers) if a != SKIP]
            fkey = self._filter_key(pod, active) if active else None
            if plain_indexes(nodes):
                plan = ClassPlan(PodClass(pod), class_slot(pod), nodes,
                                 list(self.filters), list(self.scores),
                                 [f for f, a in zip(self.filters, answers)
                                  if a != SKIP or not f.filter_skips_by_pod(pod)], active, fkey)
                keep_plan(self._plans, plan)
        n = len(nodes)
        want = feasible_nodes_to_find(n, self.percentage_of_nodes_to_score)
        start = self.next_start % n if want < n else 0
        feasible_at = run = None
        if not active:                  # nothing to check: the first `want` nodes
            feasible = list((nodes[start:] + nodes[:start] if start else nodes)[:want])
            processed = len(feasible)
        elif fkey is not None and getattr(nodes, "tracking", False):
            feasible, processed, feasible_at, run = self._find_tracked(pod, active, fkey, nodes, start, want,
                                                                       reasons)
        elif fkey is not None:
            order = nodes[start:] + nodes[:start] if start else nodes
            processed = self._find_memoized(pod, active, fkey, order, want, feasible, reasons)
        else:
            order = nodes[start:] + nodes[:start] if start else nodes
            processed = 0
            # nodes go through the filters a chunk at a time (each filter sees only the nodes that
            # passed the ones before it); the result is as if node after node were filtered and
            # the search stopped at the `want`-th feasible one
            for at in range(0, n, FILTER_CHUNK):
                chunk = order[at:at + FILTER_CHUNK]
                why: list = [None] * len(chunk)
                left = list(range(len(chunk)))
                for f in active:
                    verdicts = f.filter_batch(pod, [chunk[j] for j in left])
                    for j, v in zip(left, verdicts):
                        if v:
                            why[j] = v
                    left = [j for j in left if not why[j]]
                    if not left:
                        break
                for ni, v in zip(chunk, why):
                    processed += 1
                    if v:
                        reasons[ni.name] = v
                    else:
                        feasible.append(ni)
                        if len(feasible) >= want:
                            break
                if len(feasible) >= want:
                    break
        if want < n:
            self.next_start = (start + processed) % n
        if not feasible:
            raise FitError(pod, len(nodes), reasons)
        out = Feasible(feasible)
        out.cluster = nodes
        out.at = feasible_at
        out.run = run
        out.plan = plan
        return out

    def select_host(self, pod: dict, nodes: list[NodeInfo]) -> str:
        feasible = self.find_nodes(pod, nodes)
        if len(feasible) == 1:
            return feasible[0].name
        plan = getattr(feasible, "plan", None)
        if plan is None:
            n, key = self._local_prefix(pod)
            scorers, skipped = self.scores[n:], None
        else:
            if plan.prefix is None:
                plan.prefix = self._local_prefix(pod)
            n, key = plan.prefix
            # the score plugins still to ask (all of them after the prefix the first time, when
            # the ones that SKIP by the pod alone are noted)
            scorers = plan.score_calls
            skipped = [] if scorers is None else None
            if scorers is None:
                scorers = self.scores[n:]
        cluster, col = getattr(feasible, "cluster", None), None
        if n and getattr(feasible, "tracked", False):
            # the running totals stay a column of every node of the tracking NodeList while the
            # plugins after the node-local ones are node-local for this cycle (cycle_key): each
            # such plugin's weighted score is added into a column kept per (totals so far, its
            # cycle key), in which only changed nodes are added again; the feasible nodes'
            # totals are then read at the end with one slice (the same floats, added in the same
            # order, as the per-cycle lists below)
            col = self._local_column(pod, cluster, n, key)
            memo, memo_key = self._local, key        # where `col` is kept (for its Ranks)
            totals = None
        else:
            totals = self._node_local_totals(pod, feasible, n, key)
        for s in scorers:
            if s.pre_score(pod, feasible) == SKIP:
                if skipped is not None and s.score_skips_by_pod(pod):
                    skipped.append(s)
                continue
            if col is not None:
                ck = s.cycle_key(pod)
                if ck is not None:
                    key = (key, s.name, s.weight, ck)
                    col = column(self._fused, key, cluster, None,
                                 many=partial(add_scores, col, cluster, s, pod))
                    memo, memo_key = self._fused, key
                    continue
                totals, col = feasible.pick(col), None
            w, scores = s.weight, s.score_all(pod, feasible)
            totals = list(map(add, totals, scores if w == 1 else map(mul, repeat(w), scores)))
        if skipped is not None:
            plan.score_calls = [s for s in scorers if not any(map(is_, skipped, repeat(s)))]
        if col is not None:
            run = feasible.run
            ranks = ranked(memo, memo_key) if run is not None else None
            if ranks is not None:
                # the feasible nodes are one run of the column: its Ranks name the top-scoring
                # nodes of the run in run order, the same list the compress below gives, without
                # slicing, scanning and compressing the run's ~420 totals every cycle
                # (drawn from a view of the tied nodes, not a list of their ~200 NodeInfos built
                # first: choice draws the same position of either sequence)
                tied = ranks.top(run[0], run[1], len(cluster), 1e-9)
                return self.rng.choice(NodesAt(cluster, tied)).name
            totals = feasible.pick(col)
        # one of the top-scoring nodes at random, as kube-scheduler's selectHost; the tied nodes
        # are taken in the order the cycle looked at them (round robin from `next_start`), not
        # sorted by name: identical hollow nodes tie by the hundred, and sorting their names was
        # ~6 % of the scheduler's CPU in a drain
        # (ge over repeat(best): one C call per node instead of a bound method-wrapper's)
        best = max(totals) - 1e-9
        return self.rng.choice(list(compress(feasible, map(ge, totals, repeat(best))))).name
