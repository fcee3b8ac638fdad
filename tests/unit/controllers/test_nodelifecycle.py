"""Node lifecycle controller on the FakeApi with a fake clock: lease expiry -> Unknown + taints,
pods marked not ready, eviction after pod_eviction_timeout / tolerationSeconds, recovery."""
from __future__ import annotations

from labkube.controllers.nodelifecycle import NodeLifecycleController

from .harness import Harness

SETTINGS = {"node_monitor_grace_period": 40, "pod_eviction_timeout": 300}


def node(name):
    return {"metadata": {"name": name}, "spec": {"taints": [{"key": "keep", "effect": "NoSchedule"}]},
            "status": {"conditions": [{"type": "Ready", "status": "True", "lastHeartbeatTime": "t0"},
                                      {"type": "MemoryPressure", "status": "False"}]}}


def pod(name, tolerations=None):
    return {"metadata": {"name": name}, "spec": {"nodeName": "w1", "tolerations": tolerations or []},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}


async def renew(h, t):
    await h.api.patch("leases", "w1", {"spec": {"renewTime": t}}, namespace="kube-node-lease")


async def tick(h, seconds):
    h.clock.advance(seconds)
    for c in h.controllers:
        for name in c.nodes.keys():
            c.queue.add(name)
    await h.run()


async def setup():
    h = Harness(NodeLifecycleController, settings=SETTINGS)
    await h.api.create("nodes", node("w1"))
    await h.api.create("leases", {"metadata": {"name": "w1"}, "spec": {"renewTime": "r0"}}, namespace="kube-node-lease")
    await h.api.create("pods", pod("plain"))
    await h.api.create("pods", pod("tolerant", [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                                  "effect": "NoExecute", "tolerationSeconds": 30}]))
    await h.api.create("pods", pod("forever", [{"operator": "Exists"}]))
    await h.start()
    await h.run()
    return h


async def test_a_lease_named_like_the_node_elsewhere_is_no_heartbeat():
    h = await setup()
    await h.api.create("leases", {"metadata": {"name": "w1"}, "spec": {"renewTime": "x0"}}, namespace="kube-system")
    for i in range(3):
        await h.api.patch("leases", "w1", {"spec": {"renewTime": f"x{i + 1}"}}, namespace="kube-system")
        await tick(h, 30)
    n = await h.api.get("nodes", "w1")
    assert n["status"]["conditions"][0]["status"] == "Unknown"


def taints(n):
    return sorted((t["key"], t["effect"]) for t in n["spec"].get("taints") or [])


async def test_renewing_node_stays_ready():
    h = await setup()
    for i in range(5):
        await renew(h, f"r{i + 1}")
        await tick(h, 30)
    n = await h.api.get("nodes", "w1")
    assert n["status"]["conditions"][0]["status"] == "True" and taints(n) == [("keep", "NoSchedule")]


async def test_silent_node_goes_unknown_tainted_and_pods_evicted():
    h = await setup()
    await tick(h, 41)
    n = await h.api.get("nodes", "w1")
    assert [(c["type"], c["status"]) for c in n["status"]["conditions"]] == [("Ready", "Unknown"), ("MemoryPressure", "Unknown")]
    assert n["status"]["conditions"][0]["reason"] == "NodeStatusUnknown"
    assert taints(n) == [("keep", "NoSchedule"), ("node.kubernetes.io/unreachable", "NoExecute"),
                         ("node.kubernetes.io/unreachable", "NoSchedule")]
    p = await h.api.get("pods", "plain", "default")
    assert p["status"]["conditions"][0]["status"] == "False"
    assert not any(x["metadata"].get("deletionTimestamp") for x in h.pods())
    await tick(h, 31)          # tolerationSeconds 30 is up
    gone = {x["metadata"]["name"] for x in h.pods() if x["metadata"].get("deletionTimestamp")}
    assert gone == {"tolerant"}
    await tick(h, 270)         # pod_eviction_timeout (300 s after the taint) is up
    gone = {x["metadata"]["name"] for x in h.pods() if x["metadata"].get("deletionTimestamp")}
    assert gone == {"tolerant", "plain"}
    assert h.events("TaintManagerEviction")


async def test_recovered_node_loses_taints():
    h = await setup()
    await tick(h, 41)
    n = await h.api.get("nodes", "w1")
    n["status"]["conditions"][0].update({"status": "True", "lastHeartbeatTime": "t9"})
    await h.api.replace("nodes", "w1", n, subresource="status")
    await renew(h, "r9")
    await tick(h, 1)
    assert taints(await h.api.get("nodes", "w1")) == [("keep", "NoSchedule")]


async def test_not_ready_node_gets_not_ready_taints():
    h = await setup()
    n = await h.api.get("nodes", "w1")
    n["status"]["conditions"][0].update({"status": "False", "lastHeartbeatTime": "t1"})
    await h.api.replace("nodes", "w1", n, subresource="status")
    await tick(h, 1)
    assert ("node.kubernetes.io/not-ready", "NoExecute") in taints(await h.api.get("nodes", "w1"))


async def test_pods_of_a_deleted_node_are_removed():
    h = await setup()
    await h.api.create("pods", {"metadata": {"name": "elsewhere"}, "spec": {"nodeName": "w2"}})
    await h.api.delete("nodes", "w1")
    await h.run()
    assert [p["metadata"]["name"] for p in h.pods()] == ["elsewhere"]
    # w2 never existed either: the periodic pass finds its pods too
    c = h.controllers[0]
    c.queue.add("w2")
    await h.run()
    assert h.pods() == []


async def test_cordon_adds_and_uncordon_removes_the_unschedulable_taint():
    h = await setup()
    await h.api.patch("nodes", "w1", {"spec": {"unschedulable": True}})
    await renew(h, "r1")
    await tick(h, 1)
    assert ("node.kubernetes.io/unschedulable", "NoSchedule") in taints(await h.api.get("nodes", "w1"))
    await h.api.patch("nodes", "w1", {"spec": {"unschedulable": None}})
    await renew(h, "r2")
    await tick(h, 1)
    assert taints(await h.api.get("nodes", "w1")) == [("keep", "NoSchedule")]


async def test_admission_default_tolerations_mean_pod_eviction_timeout():
    h = Harness(NodeLifecycleController, settings={"node_monitor_grace_period": 40, "pod_eviction_timeout": 30})
    await h.api.create("nodes", node("w1"))
    default = [{"key": k, "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 300}
               for k in ("node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable")]
    await h.api.create("pods", pod("defaulted", default))
    await h.api.create("pods", pod("patient", [{"key": "node.kubernetes.io/unreachable", "operator": "Exists",
                                                 "effect": "NoExecute", "tolerationSeconds": 301}]))
    await h.start()
    await h.run()
    await tick(h, 41)
    await tick(h, 31)
    gone = {x["metadata"]["name"] for x in h.pods() if x["metadata"].get("deletionTimestamp")}
    assert gone == {"defaulted"}


async def test_new_node_without_conditions_gets_the_grace_period():
    h = Harness(NodeLifecycleController, settings=SETTINGS)
    await h.api.create("nodes", {"metadata": {"name": "fresh"}, "spec": {}, "status": {}})
    await h.start()
    await h.run()
    await tick(h, 10)
    assert taints(await h.api.get("nodes", "fresh")) == []
    await tick(h, 35)
    n = await h.api.get("nodes", "fresh")
    assert n["status"]["conditions"][0]["reason"] == "NodeStatusNeverUpdated"
    assert ("node.kubernetes.io/unreachable", "NoExecute") in taints(n)
