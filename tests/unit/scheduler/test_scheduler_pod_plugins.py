"""Table-driven tests of the plugins that look at other pods: inter-pod (anti-)affinity,
topology spread constraints, and spreading of siblings."""
from __future__ import annotations

import pytest

from labkube.scheduler.framework import NodeInfo
from labkube.scheduler.plugins.inter_pod_affinity import AFFINITY, ANTI, EXISTING, InterPodAffinity
from labkube.scheduler.plugins.pod_topology_spread import MISSING, REASON, PodTopologySpread
from labkube.scheduler.plugins.selector_spread import SelectorSpread

from .objs import node, pod

HOST = "kubernetes.io/hostname"


def labeled(p, **labels):
    p["metadata"]["labels"] = labels
    return p


def owned(p, uid):
    p["metadata"]["ownerReferences"] = [{"kind": "ReplicaSet", "name": "rs", "uid": uid, "controller": True}]
    return p


def cluster(placement, zones=None):
    """placement: {node name: [pods]}; zones: {node name: zone}."""
    out = []
    for name, pods in placement.items():
        labels = {"zone": zones[name]} if zones and name in zones else {}
        out.append(NodeInfo(node(name, labels=labels), pods=list(pods)))
    return out


def aff(kind, app, key=HOST):
    return {kind: {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": app}}, "topologyKey": key}]}}


def run_filter(plugin, p, nodes):
    plugin.pre_filter(p, nodes)
    return {ni.name: plugin.filter(p, ni) for ni in nodes}


AFF_CASES = [
    ("anti-affinity keeps web pods apart",
     labeled(pod("new", affinity=aff("podAntiAffinity", "web")), app="web"),
     {"a": [labeled(pod("w1", node_name="a"), app="web")], "b": []}, {"a": [ANTI], "b": []}),
    ("affinity puts cache next to web",
     labeled(pod("new", affinity=aff("podAffinity", "web")), app="cache"),
     {"a": [labeled(pod("w1", node_name="a"), app="web")], "b": []}, {"a": [], "b": [AFFINITY]}),
    ("first pod of a self-affine group may go anywhere",
     labeled(pod("new", affinity=aff("podAffinity", "db")), app="db"),
     {"a": [], "b": []}, {"a": [], "b": []}),
    ("existing pod's anti-affinity repels us",
     labeled(pod("new"), app="noisy"),
     {"a": [labeled(pod("x", node_name="a", affinity=aff("podAntiAffinity", "noisy")), app="quiet")], "b": []},
     {"a": [EXISTING], "b": []}),
    ("other namespaces do not count",
     labeled(pod("new", affinity=aff("podAntiAffinity", "web")), app="web"),
     {"a": [labeled(pod("w1", node_name="a", ns="other"), app="web")]}, {"a": []}),
]


@pytest.mark.parametrize("what,p,placement,want", AFF_CASES, ids=[c[0] for c in AFF_CASES])
def test_inter_pod_affinity(what, p, placement, want):
    assert run_filter(InterPodAffinity(), p, cluster(placement)) == want


def test_anti_affinity_by_zone():
    p = labeled(pod("new", affinity=aff("podAntiAffinity", "web", "zone")), app="web")
    nodes = cluster({"a": [labeled(pod("w", node_name="a"), app="web")], "b": [], "c": []},
                    zones={"a": "z1", "b": "z1", "c": "z2"})
    assert run_filter(InterPodAffinity(), p, nodes) == {"a": [ANTI], "b": [ANTI], "c": []}


def spread_pod(max_skew=1, key="zone", mode="DoNotSchedule"):
    p = labeled(pod("new"), app="web")
    p["spec"]["topologySpreadConstraints"] = [{"maxSkew": max_skew, "topologyKey": key, "whenUnsatisfiable": mode,
                                              "labelSelector": {"matchLabels": {"app": "web"}}}]
    return p


def web(name, node_name):
    return labeled(pod(name, node_name=node_name), app="web")


def test_topology_spread_filter_max_skew_and_missing_label():
    nodes = cluster({"a": [web("1", "a"), web("2", "a")], "b": [web("3", "b")], "c": []},
                    zones={"a": "z1", "b": "z2"})
    assert run_filter(PodTopologySpread(), spread_pod(1), nodes) == {"a": [REASON], "b": [], "c": [MISSING]}
    assert run_filter(PodTopologySpread(), spread_pod(2), nodes) == {"a": [], "b": [], "c": [MISSING]}


def test_topology_spread_score_prefers_emptier_domain():
    nodes = cluster({"a": [web("1", "a"), web("2", "a")], "b": [web("3", "b")]}, zones={"a": "z1", "b": "z2"})
    plugin = PodTopologySpread()
    p = spread_pod(1, mode="ScheduleAnyway")
    plugin.pre_filter(p, nodes)
    assert plugin.filter(p, nodes[0]) == []          # soft constraints never filter
    plugin.pre_score(p, nodes)
    assert plugin.score(p, nodes[1]) > plugin.score(p, nodes[0])


def test_selector_spread_prefers_nodes_without_siblings():
    nodes = cluster({"a": [owned(pod("s1", node_name="a"), "rs1")], "b": [owned(pod("x", node_name="b"), "other")]})
    plugin = SelectorSpread()
    p = owned(pod("s2"), "rs1")
    plugin.pre_score(p, nodes)
    assert plugin.score(p, nodes[1]) == 100 and plugin.score(p, nodes[0]) == 0


def test_preferred_node_affinity_taints_and_pod_affinity_scores():
    from labkube.scheduler.plugins.preferences import (InterPodAffinityPreference, NodeAffinityPreference,
                                                       TaintPreference)
    nodes = [NodeInfo(node("ssd", labels={"disk": "ssd"})), NodeInfo(node("hdd", labels={"disk": "hdd"},
                                                                          taints=[{"key": "old", "effect": "PreferNoSchedule"}]))]
    p = pod("p", affinity={"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}}]}})
    for plugin in (NodeAffinityPreference(), TaintPreference()):
        plugin.pre_score(p, nodes)
        assert (plugin.score(p, nodes[0]), plugin.score(p, nodes[1])) == (100.0, 0.0), plugin.name
    nodes[1].add_pod(labeled(pod("web", node_name="hdd"), app="web"))
    near = pod("cache", affinity={"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 5, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": HOST}}]}})
    far = pod("rival", affinity={"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
        {"weight": 5, "podAffinityTerm": {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": HOST}}]}})
    plugin = InterPodAffinityPreference()
    plugin.pre_score(near, nodes)
    assert plugin.score(near, nodes[1]) > plugin.score(near, nodes[0])
    plugin.pre_score(far, nodes)
    assert plugin.score(far, nodes[0]) > plugin.score(far, nodes[1])


SPREAD_CASES = [  # (what, siblings per node a/b/c, other controllers' pods per node, scores a/b/c)
    ("no siblings anywhere: every node the same", (0, 0, 0), (1, 0, 2), None),
    ("fewer siblings, higher score", (2, 1, 0), (0, 3, 0), (0.0, 50.0, 100.0)),
    ("one node with siblings", (0, 4, 0), (0, 0, 0), (100.0, 0.0, 100.0)),
    ("siblings everywhere alike", (3, 3, 3), (1, 1, 1), (0.0, 0.0, 0.0)),
]


@pytest.mark.parametrize("what,mine,others,want", SPREAD_CASES, ids=[c[0] for c in SPREAD_CASES])
def test_selector_spread_scores_by_sibling_count(what, mine, others, want):
    from labkube.scheduler.framework import SKIP
    pods = {}
    for name, m, o in zip("abc", mine, others):
        pods[name] = ([owned(pod(f"{name}-s{i}", node_name=name), "rs1") for i in range(m)]
                      + [owned(pod(f"{name}-o{i}", node_name=name), "other") for i in range(o)])
    nodes = cluster(pods)
    p = owned(pod("new"), "rs1")
    plugin = SelectorSpread()
    skipped = plugin.pre_score(p, nodes) == SKIP
    assert skipped == (want is None), what
    want = want or (100.0, 100.0, 100.0)
    assert plugin.score_all(p, nodes) == list(want), what                      # the counts of pre_score
    assert plugin.score_all(p, list(nodes)) == list(want), what                # another list: counted again
    assert [plugin.score(p, ni) for ni in nodes] == list(want), what
