"""Columns of per-node verdicts and scores kept between cycles on the cache's tracking NodeList
(`framework.column`, NodeList's change log): a cycle over them picks the same nodes, for the
same reasons, as a cycle over a plain list of the same nodes (where every node's memo is
checked), whatever changed in between: pods assumed or deleted, nodes tainted, filled, added
or removed, the change log restarting."""
from __future__ import annotations

import itertools
import random

import pytest

from labkube.scheduler.cache import SchedulerCache
from labkube.scheduler.framework import FitError, feasible_nodes_to_find
from labkube.scheduler.nodeinfo import NodeInfo
from labkube.scheduler.nodelist import Feasible, NodeList, NodesAt, any_where, column, nodes_where
from labkube.scheduler.plugins import default_profile

from .objs import node, pod

NODES = [f"n{i:03d}" for i in range(150)]       # over 100: the search stops early and round robin
TAINT = {"key": "dedicated", "value": "x", "effect": "NoSchedule"}
UIDS = itertools.count()                # requests are cached per pod uid: every pod gets its own


def owned(name, uid, cpu="100m", **kw):
    p = pod(name, cpu=cpu, **kw)
    p["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": uid, "uid": uid, "controller": True}]
    p["metadata"].update(resourceVersion="1", uid=f"columns-{next(UIDS)}")
    return p


class Twin:
    """The same events applied to two caches; cycles run on one's tracking NodeList and on a
    plain list of the other's nodes, with profiles seeded alike."""

    def __init__(self):
        self.caches = (SchedulerCache(), SchedulerCache())
        self.profiles = (default_profile(random.Random(7)), default_profile(random.Random(7)))
        self.n = 0

    def apply(self, op: str, *args) -> None:
        for c in self.caches:
            getattr(c, op)(*[dict(a) if isinstance(a, dict) else a for a in args])

    def cycle(self, p: dict):
        picks = []
        for c, prof, nodes in zip(self.caches, self.profiles, (self.caches[0].snapshot(),
                                                               list(self.caches[1].snapshot()))):
            try:
                host = prof.select_host(p, nodes)
                picks.append((host, prof.next_start))
                c.assume(p, host)
            except FitError as e:
                picks.append((e.message(), prof.next_start))
        assert picks[0] == picks[1]
        return picks[0][0]

    def schedule(self, count: int, uid: str = "rs1", **kw) -> list[str]:
        out = []
        for _ in range(count):
            self.n += 1
            out.append(self.cycle(owned(f"p{self.n}", uid, **kw)))
        return out


def nodes_up(t: Twin, names=NODES, **kw):
    for n in names:
        t.apply("set_node", node(n, cpu="2", **kw))


def assume_a_backlog(t):
    t.schedule(40)
    t.schedule(40, uid="rs2")


def taint_nodes_between_cycles(t):
    t.schedule(10)
    for n in NODES[::3]:
        t.apply("set_node", node(n, cpu="2", taints=[TAINT]))
    assert not {h for h in t.schedule(30)} & set(NODES[::3])


def fill_nodes(t):
    t.schedule(200, cpu="600m")            # three fit per node: the search goes further each round


def delete_pods_and_nodes(t):
    t.schedule(30)
    for k in list(t.caches[0].assumed)[:10]:
        t.apply("forget", k)
    t.apply("remove_node", NODES[5])
    t.apply("set_node", node("n000a", cpu="2"))
    t.schedule(30)


def nothing_fits(t):
    assert "Insufficient cpu" in t.schedule(1, cpu="3")[0]
    t.schedule(5)


def restart_the_log(t):
    NodeList.MAX_LOG = 0
    t.schedule(60)
    for n in NODES[:120]:                   # far more changes than 4 per node: the log restarts
        t.apply("set_node", node(n, cpu="2", labels={"round": "2"}))
    t.schedule(60)


@pytest.mark.parametrize("story", [assume_a_backlog, taint_nodes_between_cycles, fill_nodes,
                                   delete_pods_and_nodes, nothing_fits, restart_the_log])
def test_tracked_cycles_pick_as_plain_ones(story, monkeypatch):
    monkeypatch.setattr(NodeList, "MAX_LOG", NodeList.MAX_LOG)
    t = Twin()
    nodes_up(t)
    story(t)


def test_a_column_recomputes_only_changed_nodes():
    c = SchedulerCache()
    for n in ("a", "b", "c"):
        c.set_node(node(n))
    memo, seen = {}, []

    def pods_on(ni):
        seen.append(ni.name)
        return len(ni.pods)

    nodes = c.snapshot()
    assert column(memo, "k", nodes, pods_on) == [0, 0, 0] and seen == ["a", "b", "c"]
    seen.clear()
    c.set_pod(pod("x", node_name="b"))
    c.set_pod(pod("y", node_name="b"))
    assert column(memo, "k", nodes, pods_on) == [0, 2, 0] and seen == ["b"]
    seen.clear()
    assert column(memo, "k", nodes, pods_on) == [0, 2, 0] and seen == []
    c.set_node(node("aa"))                  # a node added: indexes shift, all computed again
    assert column(memo, "k", nodes, pods_on) == [0, 0, 2, 0] and seen == ["a", "aa", "b", "c"]


@pytest.mark.parametrize("start, count, want", [
    (0, 4, [0, 1, 2, 3]), (2, 3, [2, 3, 4]), (3, 4, [3, 4, 0, 1]), (4, 5, [4, 0, 1, 2, 3]), (0, 5, [0, 1, 2, 3, 4]),
])
def test_a_run_of_nodes_goes_round_the_end_of_the_list(start, count, want):
    c = SchedulerCache()
    for n in "abcde":
        c.set_node(node(n))
    nodes = c.snapshot()
    assert nodes.run_from(start, count) == [nodes[i] for i in want]
    feasible = Feasible(nodes[i] for i in want)
    feasible.at, feasible.run = want, (start, count)
    column_values = [f"v{i}" for i in range(5)]
    assert feasible.pick(column_values) == [f"v{i}" for i in want]
    feasible.run = None                                                 # the general case: by index
    assert feasible.pick(column_values) == [f"v{i}" for i in want]


@pytest.mark.parametrize("failing", [(), (3,), (0, 149), tuple(range(0, 150, 7)), tuple(range(60, 150))])
def test_every_start_finds_the_nodes_a_plain_list_finds(failing):
    """find_nodes from each round-robin start on the tracking list (where a run of fitting nodes
    is taken as one slice) against a plain list: the same nodes and next start."""
    t = Twin()
    nodes_up(t)
    for i in failing:
        t.apply("set_node", node(NODES[i], cpu="2", taints=[TAINT]))
    tracked, plain = t.caches[0].snapshot(), list(t.caches[1].snapshot())
    p = owned("probe", "rs1")
    for start in range(len(NODES)):
        found, got = [], []
        for prof, nodes in zip(t.profiles, (tracked, plain)):
            prof.next_start = start
            got.append(prof.find_nodes(p, nodes))
            found.append(([ni.name for ni in got[-1]], prof.next_start))
        assert found[0] == found[1], start
        on_tracked = got[0]
        looked_at = {(start + k) % len(NODES) for k in range(feasible_nodes_to_find(len(NODES)))}
        assert (on_tracked.run is not None) == looked_at.isdisjoint(failing), start
        assert on_tracked.pick(list(range(len(NODES)))) == on_tracked.at


@pytest.mark.parametrize("cordoned, gone, plain, want", [
    ((), (), False, False), (("b",), (), False, True), (("b",), ("b",), False, False),
    ((), (), True, False), (("a", "c"), (), True, True),
])
def test_any_where_answers_as_nodes_where_does(cordoned, gone, plain, want):
    """From the NodeList's index (a node it names but no longer holds does not count) or, on a
    plain list, by looking at each node."""
    c = SchedulerCache()
    for n in "abc":
        c.set_node(node(n, unschedulable=n in cordoned))
    for n in gone:
        c.remove_node(n)
    nodes = list(c.snapshot()) if plain else c.snapshot()
    if gone:
        nodes.unschedulable.update(gone)        # a stale name in the index
    cordoned_test = lambda ni: ni.unschedulable          # noqa: E731
    assert any_where(nodes, "unschedulable", cordoned_test) is want
    assert bool(nodes_where(nodes, "unschedulable", cordoned_test)) is want



def _pick_before(rng, cluster, tied):
    """Profile.select_host's pick among tied nodes before it drew from a NodesAt view (reference)."""
    return rng.choice(list(map(cluster.__getitem__, tied))).name


TIES = [[0], [3, 4], [149, 0, 1], list(range(0, 150, 7)), list(range(40, 150)) + list(range(40)), list(range(150))]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("tied", TIES, ids=lambda t: f"{len(t)}tied")
def test_a_tie_is_broken_by_drawing_from_a_view_as_from_the_list_of_nodes(seed, tied):
    """select_host draws one of the tied nodes from NodesAt(cluster, tied): the same node, and
    the generator left in the same state, as drawing from the list of their NodeInfos; the view
    reads as that list (length, items, slices, iteration)."""
    cluster = NodeList(tracking=True)
    for i, name in enumerate(NODES):
        cluster.insert_node(i, NodeInfo(node(name)))
    before, after = random.Random(seed), random.Random(seed)
    for _ in range(5):
        assert after.choice(NodesAt(cluster, tied)).name == _pick_before(before, cluster, tied)
    assert after.getstate() == before.getstate()
    view, listed = NodesAt(cluster, tied), [cluster[i] for i in tied]
    assert len(view) == len(listed) and list(view) == listed and view[-1] is listed[-1]
    assert view[1:4] == listed[1:4] and view[::-2] == listed[::-2]
    with pytest.raises(IndexError):
        view[len(tied)]
