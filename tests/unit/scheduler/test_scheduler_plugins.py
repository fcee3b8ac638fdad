"""Table-driven tests of each scheduler plugin, the FitError message and host selection."""
from __future__ import annotations

import random

import pytest

from labkube.scheduler import quantity
from labkube.scheduler.framework import FitError, NodeInfo, pod_requests
from labkube.scheduler.plugins import default_profile
from labkube.scheduler.plugins.balanced_allocation import BalancedAllocation
from labkube.scheduler.plugins.least_allocated import LeastAllocated
from labkube.scheduler.plugins.node_affinity import NodeAffinity
from labkube.scheduler.plugins.node_name import NodeName
from labkube.scheduler.plugins.node_resources_fit import NodeResourcesFit
from labkube.scheduler.plugins.node_unschedulable import NodeUnschedulable
from labkube.scheduler.plugins.taint_toleration import TaintToleration

from .objs import CP_TAINT, node, pod


@pytest.mark.parametrize("q,name,want", [
    ("100m", "cpu", 100), ("2", "cpu", 2000), ("0.5", "cpu", 500), ("1.5", "cpu", 1500),
    ("128Mi", "memory", 128 * 2 ** 20), ("1G", "memory", 10 ** 9), ("1e3", "memory", 1000),
    ("110", "pods", 110), ("1Ki", "memory", 1024),
])
def test_quantities(q, name, want):
    assert quantity.amount(name, q) == want


def test_pod_requests_init_containers_and_limits():
    p = pod("p", cpu="100m")
    p["spec"]["containers"].append({"name": "d", "resources": {"limits": {"cpu": "200m", "memory": "1Mi"}}})
    p["spec"]["initContainers"] = [{"name": "i", "resources": {"requests": {"cpu": "500m"}}}]
    assert pod_requests(p) == {"cpu": 500, "memory": 2 ** 20}


def test_pod_requests_of_pods_sharing_a_template_and_of_pods_that_do_not():
    """Pods whose view shares its containers list (one template) get the requests worked out for
    the first; a pod with other containers, init containers or overhead gets its own."""
    first = pod("tmpl-1", cpu="100m")
    sibling = pod("tmpl-2")
    sibling["spec"]["containers"] = first["spec"]["containers"]
    with_init = pod("tmpl-3")
    with_init["spec"]["containers"] = first["spec"]["containers"]
    with_init["spec"]["initContainers"] = [{"name": "i", "resources": {"requests": {"cpu": "1"}}}]
    with_overhead = pod("tmpl-4")
    with_overhead["spec"]["containers"] = first["spec"]["containers"]
    with_overhead["spec"]["overhead"] = {"cpu": "50m"}
    other = pod("other", cpu="300m")
    cases = [(first, {"cpu": 100}), (sibling, {"cpu": 100}), (with_init, {"cpu": 1000}),
             (with_overhead, {"cpu": 150}), (other, {"cpu": 300})]
    assert [pod_requests(p) for p, _ in cases] == [want for _, want in cases]
    assert pod_requests(sibling, non_zero=True) == {"cpu": 100, "memory": 200 * 2 ** 20}


AFF_IN = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
    {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]},
    {"matchFields": [{"key": "metadata.name", "operator": "In", "values": ["special"]}]}]}}}

CASES = [
    # (plugin, pod, node, reasons)
    (NodeUnschedulable(), pod("p"), node("n"), []),
    (NodeUnschedulable(), pod("p"), node("n", unschedulable=True), ["node(s) were unschedulable"]),
    (NodeUnschedulable(), pod("p", tolerations=[{"key": "node.kubernetes.io/unschedulable", "operator": "Exists",
                                                 "effect": "NoSchedule"}]), node("n", unschedulable=True), []),
    (NodeName(), pod("p", node_name="a"), node("a"), []),
    (NodeName(), pod("p", node_name="a"), node("b"), ["node(s) didn't match the requested node name"]),
    (NodeAffinity(), pod("p", node_selector={"disk": "ssd"}), node("n", labels={"disk": "ssd"}), []),
    (NodeAffinity(), pod("p", node_selector={"disk": "ssd"}), node("n"),
     ["node(s) didn't match Pod's node affinity/selector"]),
    (NodeAffinity(), pod("p", affinity=AFF_IN), node("n", labels={"zone": "b"}), []),
    (NodeAffinity(), pod("p", affinity=AFF_IN), node("special"), []),
    (NodeAffinity(), pod("p", affinity=AFF_IN), node("n", labels={"zone": "c"}),
     ["node(s) didn't match Pod's node affinity/selector"]),
    (TaintToleration(), pod("p"), node("m", taints=[CP_TAINT]),
     ["node(s) had untolerated taint {node-role.kubernetes.io/control-plane: }"]),
    (TaintToleration(), pod("p", tolerations=[{"key": "node-role.kubernetes.io/control-plane",
                                               "operator": "Exists", "effect": "NoSchedule"}]),
     node("m", taints=[CP_TAINT]), []),
    (TaintToleration(), pod("p", tolerations=[{"operator": "Exists"}]), node("m", taints=[CP_TAINT]), []),
    (TaintToleration(), pod("p", tolerations=[{"key": "k", "value": "v1", "effect": "NoSchedule"}]),
     node("m", taints=[{"key": "k", "value": "v2", "effect": "NoSchedule"}]), ["node(s) had untolerated taint {k: v2}"]),
    (TaintToleration(), pod("p"), node("m", taints=[{"key": "k", "effect": "PreferNoSchedule"}]), []),
    (NodeResourcesFit(), pod("p", cpu="1"), node("n", cpu="2"), []),
    (NodeResourcesFit(), pod("p", cpu="3", memory="8Gi"), node("n", cpu="2"), ["Insufficient cpu", "Insufficient memory"]),
]


@pytest.mark.parametrize("plugin,p,n,want", CASES)
def test_filters(plugin, p, n, want):
    assert plugin.filter(p, NodeInfo(n)) == want


def test_resources_fit_counts_bound_pods_and_pod_limit():
    ni = NodeInfo(node("n", cpu="2", pods="2"), pods=[pod("a", cpu="1500m", node_name="n")])
    assert NodeResourcesFit().filter(pod("p", cpu="500m"), ni) == []
    assert NodeResourcesFit().filter(pod("p", cpu="600m"), ni) == ["Insufficient cpu"]
    ni.add_pod(pod("b", node_name="n"))
    assert NodeResourcesFit().filter(pod("p"), ni) == ["Too many pods"]


def test_scores_prefer_emptier_and_balanced_nodes():
    busy = NodeInfo(node("busy", cpu="2", memory="2Gi"), pods=[pod("a", cpu="1", memory="1Gi", node_name="busy")])
    idle = NodeInfo(node("idle", cpu="2", memory="2Gi"))
    p = pod("p", cpu="100m", memory="100Mi")
    assert LeastAllocated().score(p, idle) > LeastAllocated().score(p, busy)
    skewed = NodeInfo(node("skewed", cpu="2", memory="2Gi"), pods=[pod("b", cpu="1800m", memory="1Mi", node_name="skewed")])
    even = NodeInfo(node("even", cpu="2", memory="2Gi"), pods=[pod("c", cpu="1", memory="1Gi", node_name="even")])
    assert BalancedAllocation().score(p, even) > BalancedAllocation().score(p, skewed)


def test_fit_error_message_matches_kube_scheduler():
    nodes = [NodeInfo(node("m-k8s", taints=[CP_TAINT])), NodeInfo(node("w1-k8s", cpu="1")), NodeInfo(node("w2-k8s", cpu="1"))]
    with pytest.raises(FitError) as ei:
        default_profile().select_host(pod("x", cpu="2"), nodes)
    assert str(ei.value) == ("0/3 nodes are available: 1 node(s) had untolerated taint "
                             "{node-role.kubernetes.io/control-plane: }, 2 Insufficient cpu.")


def test_select_host_picks_least_loaded_worker():
    nodes = [NodeInfo(node("m", taints=[CP_TAINT])),
             NodeInfo(node("w1"), pods=[pod("a", cpu="1", memory="1Gi", node_name="w1")]),
             NodeInfo(node("w2"))]
    for seed in range(5):
        assert default_profile(random.Random(seed)).select_host(pod("p"), nodes) == "w2"


def _hp(port, proto="TCP", ip=None):
    p = pod("p")
    entry = {"containerPort": 80, "hostPort": port, "protocol": proto}
    if ip:
        entry["hostIP"] = ip
    p["spec"]["containers"][0]["ports"] = [entry]
    return p


@pytest.mark.parametrize("existing,new,fits", [
    (_hp(8080), _hp(8080), False),
    (_hp(8080), _hp(8081), True),
    (_hp(8080, "UDP"), _hp(8080), True),
    (_hp(8080, ip="10.0.0.1"), _hp(8080, ip="10.0.0.2"), True),
    (_hp(8080, ip="10.0.0.1"), _hp(8080), False),
    (pod("plain"), _hp(8080), True),
])
def test_node_ports(existing, new, fits):
    from labkube.scheduler.plugins.node_ports import REASON, NodePorts
    ni = NodeInfo(node("n"), pods=[existing])
    assert NodePorts().filter(new, ni) == ([] if fits else [REASON])
