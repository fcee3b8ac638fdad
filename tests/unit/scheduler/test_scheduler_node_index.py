"""NodeInfo finds its pods by key through an index (`_first`, `_index`) instead of reading every
pod's metadata (`nodeinfo._at`, kept as the oracle here), and the node-local score column is
computed for every changed node at once (`column(..., many=)`) instead of holding None until the
node is feasible: the same pods, indexes and scores as before, whatever the operations."""
from __future__ import annotations

import random

import pytest

from labkube.scheduler.cache import SchedulerCache
from labkube.scheduler.framework import NodeInfo, pod_key
from labkube.scheduler.nodeinfo import _at
from labkube.scheduler.nodelist import NodeList, column
from labkube.scheduler.plugins import default_profile

from .objs import node, pod


class OldNode:
    """The pod list as NodeInfo kept it before the index: every lookup by `_at`."""

    def __init__(self, pods=()):
        self.pods = list(pods)

    def add_pod(self, p, key=None):
        self.pods.append(p)

    def remove_pod(self, key):
        i = _at(self.pods, key)
        return None if i < 0 else self.pods.pop(i)

    def replace_pod(self, key, p):
        i = _at(self.pods, key)
        if i < 0:
            return False
        old = self.pods[i]
        same = (old.get("spec") == p.get("spec") and old["metadata"].get("labels") == p["metadata"].get("labels")
                and old["metadata"].get("namespace") == p["metadata"].get("namespace")
                and old["metadata"].get("uid") == p["metadata"].get("uid")
                and old["metadata"].get("ownerReferences") == p["metadata"].get("ownerReferences"))
        if same:
            self.pods[i] = p
        return same


def mk(name, ns="default", uid=None, cpu="100m"):
    p = pod(name, cpu=cpu, ns=ns)
    if ns is None:
        del p["metadata"]["namespace"]
    p["metadata"]["uid"] = uid or f"u-{ns}-{name}"
    return p


A, B, C = mk("a"), mk("b"), mk("c")
A_OTHER_NS = mk("a", ns="other")
A_AGAIN = mk("a")                              # the same key as A, another object (a duplicate)
NO_NS = mk("x", ns=None)
A_STATUS = dict(A, status={"phase": "Running"})            # a status write: plugins see no change
A_BIGGER = mk("a", cpu="200m")                 # the spec changed: not replaced
B_RENAMED = dict(mk("b"), metadata=dict(mk("b")["metadata"], name="b2"))   # another key, same uid

# (operations, keys probed after each): ("add", pod), ("add_key", pod, key), ("remove", key),
# ("replace", key, pod)
CASES = {
    "add and find": ([("add", A), ("add", B), ("add", C)], ["default/a", "default/b", "default/c", "default/z"]),
    "names in two namespaces": ([("add", A_OTHER_NS), ("add", A), ("remove", "other/a"), ("add", A_OTHER_NS)],
                                ["default/a", "other/a"]),
    "no namespace": ([("add", NO_NS), ("add", A), ("remove", "x"), ("remove", "x")], ["x", "default/x"]),
    "remove from the middle": ([("add", A), ("add", B), ("add", C), ("remove", "default/b"), ("add", B)],
                               ["default/a", "default/b", "default/c"]),
    "remove what is not there": ([("add", A), ("remove", "default/b"), ("remove", "default/a"),
                                  ("remove", "default/a")], ["default/a"]),
    "a status write replaces": ([("add", A), ("add", B), ("replace", "default/a", A_STATUS),
                                 ("remove", "default/a")], ["default/a", "default/b"]),
    "a spec change does not": ([("add", A), ("replace", "default/a", A_BIGGER), ("replace", "default/z", A)],
                               ["default/a"]),
    "duplicates: first one first": ([("add", A), ("add", B), ("add", A_AGAIN), ("replace", "default/a", A_STATUS),
                                     ("remove", "default/a"), ("remove", "default/a"), ("remove", "default/a")],
                                    ["default/a", "default/b"]),
    "duplicates added by key": ([("add_key", A, "default/a"), ("add_key", A_AGAIN, "default/a"),
                                 ("remove", "default/a"), ("add_key", A, "default/a"), ("remove", "default/a")],
                                ["default/a"]),
    "replaced under another key": ([("add", A), ("add", B), ("replace", "default/b", B_RENAMED)],
                                   ["default/b", "default/b2", "default/a"]),
}


@pytest.mark.parametrize("ops,probes", CASES.values(), ids=CASES.keys())
def test_lookups_by_key_answer_as_the_scan_did(ops, probes):
    new, old = NodeInfo(node("w1")), OldNode()
    for op, *args in ops:
        if op == "add":
            new.add_pod(*args)
            old.add_pod(*args)
        elif op == "add_key":
            new.add_pod(*args)
            old.add_pod(*args)
        elif op == "remove":
            assert new.remove_pod(*args) is old.remove_pod(*args)
        else:
            assert new.replace_pod(*args) == old.replace_pod(*args)
        assert [id(p) for p in new.pods] == [id(p) for p in old.pods]
        for key in probes:
            assert new._index(key) == _at(new.pods, key)


def test_random_operations_keep_the_index_exact():
    rng = random.Random(5)
    pool = [mk(n, ns=ns, uid=f"{ns}-{n}-{v}") for n in "abcd" for ns in ("default", "kube-system") for v in (1, 2)]
    keys = sorted({pod_key(p) for p in pool}) + ["default/zz"]
    new, old = NodeInfo(node("w1")), OldNode()
    for _ in range(3000):
        r = rng.random()
        if r < 0.45:
            p = rng.choice(pool)
            new.add_pod(p)
            old.add_pod(p)
        elif r < 0.8:
            k = rng.choice(keys)
            assert new.remove_pod(k) is old.remove_pod(k)
        else:
            p = rng.choice(pool)
            k = pod_key(p)
            assert new.replace_pod(k, p) == old.replace_pod(k, p)
        assert [id(p) for p in new.pods] == [id(p) for p in old.pods]
        for k in keys:
            assert new._index(k) == _at(new.pods, k)
    assert new.req == NodeInfo(node("w1"), old.pods).req


def tracked(n=30):
    nl = NodeList(tracking=True)
    for i in range(n):
        ni = NodeInfo(node(f"n{i:02d}"))
        nl.insert_node(i, ni)
        nl.by_name[ni.name] = ni
    return nl


def test_a_column_computed_many_at_a_time_equals_one_at_a_time():
    nl, rng = tracked(), random.Random(3)
    one, many, calls = {}, {}, []

    def value(ni):
        return (ni.name, ni.generation, len(ni.pods))

    def values(nodes):
        calls.append(len(nodes))
        return [value(ni) for ni in nodes]

    for step in range(200):
        for _ in range(rng.randrange(3)):
            ni = rng.choice(nl)
            if ni.pods and rng.random() < 0.3:
                ni.remove_pod(pod_key(ni.pods[0]))
            else:
                ni.add_pod(mk(f"p{step}-{rng.randrange(10 ** 6)}"))
        assert column(many, "k", nl, None, many=values) == column(one, "k", nl, value) == list(map(value, nl))
    assert calls[0] == len(nl) and max(calls[1:]) <= 2          # afresh once, then only the changed nodes


def test_tracked_local_scores_equal_fresh_ones_every_cycle():
    cache = SchedulerCache()
    for i in range(150):                                     # over 100: round robin, part of the nodes
        cache.set_node(node(f"n{i:03d}", cpu="4"))
    prof = default_profile(random.Random(1))
    for i in range(300):
        p = mk(f"p{i}", cpu=("100m", "250m")[i % 2])     # two classes, each with its own column
        p["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "uid": "rs", "controller": True}]
        nodes = cache.snapshot()
        feasible = prof.find_nodes(p, nodes)
        n, key = prof._local_prefix(p)
        assert prof._node_local_totals(p, feasible, n, key) == prof._weighted_sums(p, list(feasible), n)
        cache.assume(p, prof.select_host(p, nodes))
        if i % 50 == 49:
            cache.remove_pod(p)                              # a node whose pods go down again
