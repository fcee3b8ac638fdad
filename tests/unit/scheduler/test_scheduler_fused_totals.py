"""select_host on the cache's tracking NodeList keeps its running score totals as columns of
every node (`Profile._fused`) while the plugins after the node-local ones are node-local for the
cycle (`ScorePlugin.cycle_key`: SelectorSpread's controller and sibling high mark). The earlier
select_host (kept here as the oracle: per-cycle lists over the feasible nodes) must choose among
the very same tied nodes, hence the same host, cycle after cycle, on twin caches fed the same
events: several ReplicaSets interleaved, pods without a controller, soft topology spread
(no cycle key: the list path), a heavier SelectorSpread weight, nodes tainted, added, removed,
filled, and the change log restarting."""
from __future__ import annotations

import itertools
import random
from itertools import compress, repeat
from operator import add, ge, mul

import pytest

from labkube.scheduler.cache import SchedulerCache
from labkube.scheduler.framework import SKIP, FitError, Profile
from labkube.scheduler.nodelist import NodeList
from labkube.scheduler.plugins import default_profile
from labkube.scheduler.plugins.selector_spread import SelectorSpread

from .objs import node, pod

NODES = [f"n{i:03d}" for i in range(160)]
UIDS = itertools.count()
TAINT = {"key": "dedicated", "value": "x", "effect": "NoSchedule"}
SPREAD = [{"maxSkew": 1, "topologyKey": "zone", "whenUnsatisfiable": "ScheduleAnyway",
           "labelSelector": {"matchLabels": {"app": "web"}}}]


class OldProfile(Profile):
    """select_host as it was before the fused columns (per-cycle totals lists)."""

    def select_host(self, pod, nodes):
        feasible = self.find_nodes(pod, nodes)
        if len(feasible) == 1:
            return feasible[0].name
        n, key = self._local_prefix(pod)
        totals = self._node_local_totals(pod, feasible, n, key)
        for s in self.scores[n:]:
            if s.pre_score(pod, feasible) == SKIP:
                continue
            w, scores = s.weight, s.score_all(pod, feasible)
            totals = list(map(add, totals, scores if w == 1 else map(mul, repeat(w), scores)))
        best = max(totals) - 1e-9
        return self.rng.choice(list(compress(feasible, map(ge, totals, repeat(best))))).name


class Recording(random.Random):
    """Records every set of tied nodes a cycle chooses from."""

    def __init__(self, seed):
        super().__init__(seed)
        self.ties = []

    def choice(self, seq):
        self.ties.append([ni.name for ni in seq])
        return super().choice(seq)


def profiles(spread_weight=1):
    out = []
    for cls in (Profile, OldProfile):
        p = default_profile()
        prof = cls(filters=p.filters, scores=p.scores, rng=Recording(11))
        for s in prof.scores:
            if isinstance(s, SelectorSpread):
                s.weight = spread_weight
        out.append(prof)
    return out


class Twin:
    def __init__(self, spread_weight=1):
        self.caches = (SchedulerCache(), SchedulerCache())
        self.profiles = profiles(spread_weight)
        self.n = 0

    def apply(self, op, *args):
        for c in self.caches:
            getattr(c, op)(*[dict(a) if isinstance(a, dict) else a for a in args])

    def cycle(self, p):
        picks = []
        for c, prof in zip(self.caches, self.profiles):
            try:
                host = prof.select_host(p, c.snapshot())
                c.assume(p, host)
                picks.append((host, prof.next_start))
            except FitError as e:
                picks.append((e.message(), prof.next_start))
        assert picks[0] == picks[1]
        assert self.profiles[0].rng.ties == self.profiles[1].rng.ties
        return picks[0][0]

    def schedule(self, count, uid="rs1", cpu="100m", labels=None, spread=None):
        out = []
        for _ in range(count):
            self.n += 1
            p = pod(f"p{self.n}", cpu=cpu)
            md = p["metadata"]
            md.update(resourceVersion="1", uid=f"fused-{next(UIDS)}", labels=dict(labels or {}))
            if uid:
                md["ownerReferences"] = [{"kind": "ReplicaSet", "name": uid, "uid": uid, "controller": True}]
            if spread:
                p["spec"]["topologySpreadConstraints"] = spread
            out.append(self.cycle(p))
        return out


def one_replicaset(t):
    t.schedule(400)


def interleaved_replicasets(t):
    for _ in range(60):
        t.schedule(1, uid="rs1")
        t.schedule(2, uid="rs2")
        t.schedule(1, uid="rs3", cpu="250m")


def no_controller(t):
    t.schedule(30, uid=None)
    t.schedule(30)
    t.schedule(10, uid=None)


def soft_spread(t):
    t.schedule(20, labels={"app": "web"}, spread=SPREAD)
    t.schedule(20)
    t.schedule(20, labels={"app": "web"}, spread=SPREAD)


def nodes_change(t):
    t.schedule(50)
    for n in NODES[::4]:
        t.apply("set_node", node(n, cpu="2", taints=[TAINT], labels={"zone": "a"}))
    t.schedule(40)
    for k in list(t.caches[0].assumed)[:15]:
        t.apply("forget", k)
    t.apply("remove_node", NODES[7])
    t.apply("set_node", node("n000b", cpu="2", labels={"zone": "b"}))
    t.schedule(40)
    t.schedule(20, uid="rs2")


def fill(t):
    t.schedule(500, cpu="600m")


def restart_the_log(t):
    NodeList.MAX_LOG = 0
    t.schedule(80)
    for n in NODES[:140]:
        t.apply("set_node", node(n, cpu="2", labels={"round": "2"}))
    t.schedule(80)


@pytest.mark.parametrize("spread_weight", [1, 3])
@pytest.mark.parametrize("story", [one_replicaset, interleaved_replicasets, no_controller, soft_spread,
                                   nodes_change, fill, restart_the_log])
def test_fused_totals_choose_among_the_same_ties_as_the_earlier_lists(story, spread_weight, monkeypatch):
    monkeypatch.setattr(NodeList, "MAX_LOG", NodeList.MAX_LOG)
    t = Twin(spread_weight)
    for i, n in enumerate(NODES):
        t.apply("set_node", node(n, cpu="2", labels={"zone": "ab"[i % 2]}))
    t.apply("set_pod", {**pod("old1", cpu="300m", node_name=NODES[3]),
                        "metadata": {"name": "old1", "namespace": "default", "uid": "o1",
                                     "ownerReferences": [{"kind": "ReplicaSet", "name": "rs1", "uid": "rs1",
                                                          "controller": True}]}})
    story(t)
    assert t.profiles[0].rng.ties and len(t.profiles[0].rng.ties) == len(t.profiles[1].rng.ties)


def test_the_fused_column_is_used_and_kept_per_cycle_key():
    t = Twin()
    for n in NODES:
        t.apply("set_node", node(n, cpu="2"))
    t.schedule(200)
    fused = t.profiles[0]._fused
    highs = sorted(k[3][1] for k in fused)
    assert fused and all(k[3][0] == "rs1" for k in fused) and highs == sorted(set(highs))
    assert not t.profiles[1]._fused


def test_selector_spread_cycle_key():
    s = SelectorSpread()
    c = SchedulerCache()
    for n in ("a", "b"):
        c.set_node(node(n))
    owned = pod("x")
    owned["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "r", "uid": "r", "controller": True}]
    assert s.pre_score(owned, list(c.snapshot())) == SKIP and s.cycle_key(owned) is None
    sib = pod("y", node_name="a")
    sib["metadata"]["ownerReferences"] = owned["metadata"]["ownerReferences"]
    c.set_pod(sib)
    assert s.pre_score(owned, list(c.snapshot())) is None and s.cycle_key(owned) == ("r", 1)
    assert s.cycle_key(pod("z")) is None
