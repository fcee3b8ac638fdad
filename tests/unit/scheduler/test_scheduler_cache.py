"""SchedulerCache: node infos updated in place from informer events, assumed pods, and the
cluster-wide indexes plugins read instead of scanning every node."""
from __future__ import annotations

from collections import Counter

import pytest

from labkube.scheduler.cache import SchedulerCache
from labkube.scheduler.framework import NodeInfo

from .objs import CP_TAINT, node, pod

ANTI = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
    {"labelSelector": {"matchLabels": {"app": "x"}}, "topologyKey": "kubernetes.io/hostname"}]}}


def names(cache):
    return [ni.name for ni in cache.snapshot()]


def on(cache, name):
    return sorted(p["metadata"]["name"] for p in cache.infos[name].pods)


def bound(name, node_name, **kw):
    return pod(name, node_name=node_name, **kw)


def test_nodes_stay_in_name_order_and_are_updated_in_place():
    c = SchedulerCache()
    for n in ("w2", "m", "w1"):
        c.set_node(node(n))
    assert names(c) == ["m", "w1", "w2"]
    w1 = c.infos["w1"]
    c.set_node(node("w1", cpu="8"))
    assert c.infos["w1"] is w1 and w1.alloc["cpu"] == 8000
    c.remove_node("m")
    assert names(c) == ["w1", "w2"] and "m" not in c.infos


def test_pods_are_counted_on_their_node_until_terminal_or_deleted():
    c = SchedulerCache()
    c.set_node(node("w1"))
    a = bound("a", "w1", cpu="500m")
    c.set_pod(a)
    c.set_pod(pod("pending", cpu="1"))                       # not bound: takes no room
    assert on(c, "w1") == ["a"] and c.infos["w1"].requested()["cpu"] == 500
    c.set_pod({**a, "status": {"phase": "Succeeded"}})
    assert on(c, "w1") == [] and c.infos["w1"].requested()["cpu"] == 0
    c.set_pod(bound("b", "w1"))
    c.remove_pod(bound("b", "w1"))
    assert on(c, "w1") == []


def test_pods_bound_to_an_unknown_node_join_it_when_it_appears_and_survive_its_deletion():
    c = SchedulerCache()
    c.set_pod(bound("early", "w9", cpu="1"))
    assert names(c) == []
    c.set_node(node("w9"))
    assert on(c, "w9") == ["early"] and c.infos["w9"].requested()["cpu"] == 1000
    c.remove_node("w9")
    c.set_node(node("w9"))
    assert on(c, "w9") == ["early"]


def test_assumed_pod_counts_at_once_then_gives_way_to_the_informer_view():
    c = SchedulerCache()
    c.set_node(node("w1"))
    c.set_node(node("w2"))
    p = pod("p", cpu="1")
    assumed = c.assume(p, "w1")
    assert assumed["spec"]["nodeName"] == "w1" and "nodeName" not in p["spec"]   # the informer's copy is untouched
    assert c.is_assumed("default/p") and on(c, "w1") == ["p"]
    c.set_pod({**p, "status": {"phase": "Pending", "conditions": []}})            # still pending: stays assumed
    assert c.is_assumed("default/p") and on(c, "w1") == ["p"]
    c.set_pod(bound("p", "w2", cpu="1"))                     # bound elsewhere (another scheduler won)
    assert not c.is_assumed("default/p")
    assert on(c, "w1") == [] and on(c, "w2") == ["p"]


def test_forget_frees_the_room_of_a_failed_binding():
    c = SchedulerCache()
    c.set_node(node("w1", cpu="1"))
    c.assume(pod("p", cpu="1"), "w1")
    assert c.infos["w1"].requested()["cpu"] == 1000
    c.forget("default/p")
    assert not c.is_assumed("default/p") and c.infos["w1"].requested() == {"pods": 0, "cpu": 0}
    c.forget("default/p")                                    # twice: harmless


def test_deleting_an_assumed_pod_frees_its_room():
    c = SchedulerCache()
    c.set_node(node("w1"))
    c.assume(pod("p"), "w1")
    c.remove_pod(pod("p"))
    assert on(c, "w1") == [] and not c.assumed


def test_indexes_follow_node_and_pod_changes():
    c = SchedulerCache()
    c.set_node(node("m", taints=[CP_TAINT]))
    c.set_node(node("w1", unschedulable=True))
    c.set_node(node("w2"))
    snap = c.snapshot()
    assert (snap.hard_tainted, snap.unschedulable, snap.with_anti_affinity) == ({"m"}, {"w1"}, set())
    c.set_node(node("w1"))                                   # uncordoned
    c.set_pod(bound("repel", "w2", affinity=ANTI))
    assert (snap.unschedulable, snap.with_anti_affinity) == (set(), {"w2"})
    c.remove_pod(bound("repel", "w2"))
    c.remove_node("m")
    assert (snap.hard_tainted, snap.with_anti_affinity) == (set(), set())
    assert snap.prefer_tainted == set()
    c.set_node(node("w2", taints=[{"key": "k", "effect": "PreferNoSchedule"}]))
    assert (snap.prefer_tainted, snap.hard_tainted) == ({"w2"}, set())
    c.set_node(node("w2"))
    assert snap.prefer_tainted == set()
    c.set_node(node("w3", taints=[{"key": "k", "effect": "PreferNoSchedule"}]))
    c.remove_node("w3")
    assert snap.prefer_tainted == set()


def test_node_info_aggregates_follow_add_and_remove():
    owned = pod("o", cpu="100m")
    owned["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "uid": "rs1", "controller": True}]
    ni = NodeInfo(node("w1"), [pod("plain")])
    ni.add_pod(owned)
    ni.add_pod(pod("repel", affinity=ANTI))
    cases = [  # (what, got, want)
        ("pods", ni.requested()["pods"], 3),
        ("cpu as requested", ni.requested()["cpu"], 100),
        ("cpu with scoring defaults", ni.requested(non_zero=True)["cpu"], 300),
        ("owners", dict(ni.owner_counts()), {"rs1": 1}),
        ("anti-affinity pods", [p["metadata"]["name"] for p in ni.anti_affinity_pods()], ["repel"]),
    ]
    for what, got, want in cases:
        assert got == want, what
    assert ni.remove_pod("default/o")["metadata"]["name"] == "o"
    assert ni.remove_pod("default/repel") is not None and ni.remove_pod("default/nope") is None
    assert (ni.requested()["pods"], ni.requested()["cpu"], ni.owner_counts(), ni.anti_affinity_pods()) == (1, 0, {}, [])


def _owned(p, uid="rs1"):
    p["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "uid": uid, "controller": True}]
    return p


def _running(p):
    return {**p, "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


REACCOUNT_CASES = [  # (what changed in the update of a pod bound to w1, re-accounted: new generation)
    ("status only (Running, Ready)", _running, False),
    ("labels", lambda p: {**p, "metadata": {**p["metadata"], "labels": {"app": "other"}}}, True),
    ("owner", lambda p: _owned({**p, "metadata": dict(p["metadata"])}, uid="rs2"), True),
    ("spec", lambda p: {**p, "spec": {**p["spec"], "priority": 7}}, True),
    ("moved to w2", lambda p: {**p, "spec": {**p["spec"], "nodeName": "w2"}}, True),
    ("terminal", lambda p: {**p, "status": {"phase": "Failed"}}, True),
]


def test_status_writes_of_bound_pods_replace_the_pod_without_re_accounting():
    for what, change, reaccounted in REACCOUNT_CASES:
        c = SchedulerCache()
        c.set_node(node("w1"))
        c.set_node(node("w2"))
        p = _owned(bound("p", "w1", cpu="500m", affinity=ANTI))
        c.set_pod(p)
        ni = c.infos["w1"]
        gen, req = ni.generation, ni.requested()
        new = change(p)
        c.set_pod(new)
        assert (ni.generation != gen) == reaccounted, what
        on_w1 = [q for q in ni.pods if q["metadata"]["name"] == "p"]
        if new["spec"].get("nodeName") == "w1" and new.get("status", {}).get("phase") != "Failed":
            assert on_w1 == [new] and on_w1[0] is new, what          # the newest object is kept
            assert ni.requested() == req and ni.owner_counts() == Counter({
                new["metadata"]["ownerReferences"][0]["uid"]: 1}), what
            assert [a["metadata"]["name"] for a in ni.anti_affinity_pods()] == ["p"], what
            assert ni.anti_affinity_pods()[0] is new, what
        else:
            assert on_w1 == [] and ni.requested()["pods"] == 0 and ni.requested()["cpu"] == 0, what


def test_a_status_write_of_an_assumed_pod_still_replaces_the_assumed_copy():
    c = SchedulerCache()
    c.set_node(node("w1"))
    c.assume(pod("p", cpu="1"), "w1")
    gen = c.infos["w1"].generation
    seen = _running(bound("p", "w1", cpu="1"))
    c.set_pod(seen)                                          # the binding seen (with a status already)
    assert not c.is_assumed("default/p") and on(c, "w1") == ["p"] and c.infos["w1"].pods[0] is seen
    # the same pod for plugins: put in place of the assumed copy without re-accounting, so the
    # node's generation (and the cycles' cached verdicts and scores for it) stay as they were
    assert c.infos["w1"].generation == gen and c.infos["w1"].requested()["cpu"] == 1000


def test_the_binding_of_an_assumed_pod_that_changed_meanwhile_is_accounted_again():
    c = SchedulerCache()
    c.set_node(node("w1"))
    c.assume(pod("p", cpu="1"), "w1")
    gen = c.infos["w1"].generation
    c.set_pod(bound("p", "w1", cpu="2"))                     # not what was assumed (another writer)
    assert not c.is_assumed("default/p") and on(c, "w1") == ["p"]
    assert c.infos["w1"].generation != gen and c.infos["w1"].requested()["cpu"] == 2000


@pytest.mark.parametrize("key, removed, left", [
    ("b/p", ("b", "p"), [("a", "p"), ("a", "q")]),       # same name, other namespace
    ("a/p", ("a", "p"), [("b", "p"), ("a", "q")]),
    ("a/q", ("a", "q"), [("a", "p"), ("b", "p")]),
    ("c/p", None, [("a", "p"), ("b", "p"), ("a", "q")]),  # not there
    ("a/x", None, [("a", "p"), ("b", "p"), ("a", "q")]),
])
def test_node_pods_are_found_by_namespace_and_name(key, removed, left):
    def pods():
        return [bound("p", "w1", ns="a", cpu="1"), bound("p", "w1", ns="b", cpu="2"), bound("q", "w1", ns="a")]

    def ids(ni):
        return [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in ni.pods]
    ni = NodeInfo(node("w1"), pods())
    got = ni.remove_pod(key)
    assert (got and (got["metadata"]["namespace"], got["metadata"]["name"])) == (removed or None)
    assert ids(ni) == left
    ni = NodeInfo(node("w1"), pods())
    gen, fresh = ni.generation, dict(zip(("a/p", "b/p", "a/q"), pods())).get(key)
    status_write = {**fresh, "status": {"phase": "Running"}} if fresh else bound("x", "w1", ns="a")
    assert ni.replace_pod(key, status_write) is bool(removed)
    assert (status_write in ni.pods) is bool(removed) and ni.generation == gen and len(ni.pods) == 3
