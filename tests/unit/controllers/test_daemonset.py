"""DaemonSet controller (with a simulated kubelet) on the FakeApi: one pod per eligible node,
taints/selectors, node changes, rolling update with maxUnavailable and maxSurge, revisions, status."""
from __future__ import annotations

import re

from labkube.controllers.daemonset import DaemonSetController, should_run, target_node
from labkube.controllers.util import is_ready

import pytest

from .harness import Harness

CP = {"key": "node-role.kubernetes.io/control-plane", "effect": "NoSchedule"}


def node(name, taints=(), labels=None):
    return {"metadata": {"name": name, "labels": labels or {}}, "spec": {"taints": list(taints)}, "status": {}}


def ds(name="agent", image="busybox:1", tolerations=None, node_selector=None, strategy=None):
    spec = {"containers": [{"name": "c", "image": image}]}
    if tolerations:
        spec["tolerations"] = tolerations
    if node_selector:
        spec["nodeSelector"] = node_selector
    d = {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": name},
         "spec": {"selector": {"matchLabels": {"app": name}},
                  "template": {"metadata": {"labels": {"app": name}}, "spec": spec}}}
    if strategy:
        d["spec"]["updateStrategy"] = strategy
    return d


async def make(d, nodes=("m", "w1", "w2")):
    h = Harness(DaemonSetController)
    for n in nodes:
        await h.api.create("nodes", node(n, [CP] if n == "m" else ()))
    await h.api.create("daemonsets", d)
    await h.start()
    h.kubelet = True
    await h.run()
    return h


def placement(h):
    return sorted((p["spec"].get("nodeName"), p["spec"]["containers"][0]["image"]) for p in h.pods()
                  if not p["metadata"].get("deletionTimestamp"))


@pytest.mark.parametrize("tols,sel,labels,taints,want", [
    (None, None, {}, [], True),
    (None, None, {}, [CP], False),
    ([{"key": "node-role.kubernetes.io/control-plane", "operator": "Exists", "effect": "NoSchedule"}], None, {}, [CP], True),
    (None, None, {}, [{"key": "node.kubernetes.io/unreachable", "effect": "NoExecute"}], True),
    (None, {"disk": "ssd"}, {"disk": "hdd"}, [], False),
    (None, {"disk": "ssd"}, {"disk": "ssd"}, [], True),
])
def test_should_run(tols, sel, labels, taints, want):
    assert should_run(ds(tolerations=tols, node_selector=sel), node("n", taints, labels)) is want


async def test_one_pod_per_worker_and_follows_nodes():
    h = await make(ds())
    assert placement(h) == [("w1", "busybox:1"), ("w2", "busybox:1")]
    p = h.pods()[0]
    assert target_node(p) == p["spec"]["nodeName"] and p["metadata"]["labels"]["controller-revision-hash"]
    assert all(re.fullmatch(r"agent-[a-z0-9]{5}", p["metadata"]["name"]) for p in h.pods())
    d = await h.api.get("daemonsets", "agent", "default")
    st = d["status"]
    assert (st["desiredNumberScheduled"], st["currentNumberScheduled"], st["numberReady"], st["updatedNumberScheduled"],
            st["numberAvailable"], st["numberMisscheduled"]) == (2, 2, 2, 2, 2, 0)
    await h.api.create("nodes", node("w3"))
    await h.run()
    assert [n for n, _ in placement(h)] == ["w1", "w2", "w3"]
    await h.api.patch("nodes", "w1", {"spec": {"taints": [{"key": "gpu", "effect": "NoExecute"}]}})
    await h.run()
    assert [n for n, _ in placement(h)] == ["w2", "w3"]
    (rev,) = h.api.all("controllerrevisions")
    assert rev["revision"] == 1 and rev["metadata"]["ownerReferences"][0]["kind"] == "DaemonSet"


async def test_rolling_update_one_node_at_a_time():
    h = await make(ds(), nodes=("w1", "w2", "w3"))
    await h.api.patch("daemonsets", "agent", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:2"}]}}}}, namespace="default")
    worst = {"unavailable": 0}

    def check(h):
        live = [p for p in h.pods() if not p["metadata"].get("deletionTimestamp") and is_ready(p)]
        worst["unavailable"] = max(worst["unavailable"], 3 - len(live))
    await h.run(check=check)
    assert placement(h) == [("w1", "busybox:2"), ("w2", "busybox:2"), ("w3", "busybox:2")]
    assert worst["unavailable"] == 1
    revs = sorted(r["revision"] for r in h.api.all("controllerrevisions"))
    assert revs == [1, 2]


async def test_surge_update_starts_new_pod_first():
    h = await make(ds(strategy={"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}}),
                   nodes=("w1",))
    await h.api.patch("daemonsets", "agent", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:2"}]}}}}, namespace="default")
    worst = {"ready": 9}

    def check(h):
        worst["ready"] = min(worst["ready"], sum(1 for p in h.pods() if is_ready(p)
                                                  and not p["metadata"].get("deletionTimestamp")))
    await h.run(check=check)
    assert placement(h) == [("w1", "busybox:2")] and worst["ready"] >= 1


async def test_on_delete_strategy_waits():
    h = await make(ds(strategy={"type": "OnDelete"}), nodes=("w1",))
    await h.api.patch("daemonsets", "agent", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:2"}]}}}}, namespace="default")
    await h.run()
    assert placement(h) == [("w1", "busybox:1")]
    await h.api.delete("pods", h.pods()[0]["metadata"]["name"], "default")
    await h.run()
    assert placement(h) == [("w1", "busybox:2")]
