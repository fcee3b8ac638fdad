"""Hollow nodes (`python -m labkube.kubelet.hollow`, many nodes in one process) against the
real apiserver, scheduler and controller-manager on 127.0.0.1: the nodes register and are
Ready with Leases, a Deployment's pods run on them, and deleting pods/nodes' work finishes."""
from __future__ import annotations

import asyncio
import time

import pytest

from labkube.client import Client, KubeConfig
from labkube.kubelet.hollow.__main__ import main as hollow_main
from labkube.kubelet.hollow.node import HollowNode, NodeConfig, pod_cidr
from labkube.kubelet.hollow.pods import pod_view, running_status
from labkube.testing import LocalCluster


async def eventually(fn, timeout=60.0, what=""):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = await fn()
        if last:
            return last
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


def test_running_status_and_pod_cidr():
    pod = {"metadata": {"uid": "u-1"}, "spec": {"initContainers": [{"name": "i", "image": "busybox"}],
                                                "containers": [{"name": "c", "image": "nginx"}]}, "status": {}}
    st = running_status(pod, "127.0.0.1", "10.128.0.2", now=0)
    assert st["phase"] == "Running" and st["podIP"] == "10.128.0.2" and st["hostIP"] == "127.0.0.1"
    assert {c["type"]: c["status"] for c in st["conditions"]}["Ready"] == "True"
    assert "running" in st["containerStatuses"][0]["state"] and st["containerStatuses"][0]["ready"]
    assert st["initContainerStatuses"][0]["state"]["terminated"]["reason"] == "Completed"
    assert [pod_cidr(0), pod_cidr(1), pod_cidr(256)] == ["10.128.0.0/24", "10.128.1.0/24", "10.129.0.0/24"]


@pytest.mark.parametrize("cidr", [pod_cidr(0), pod_cidr(1), pod_cidr(255), pod_cidr(32767), "10.0.0.0/30",
                                  "fd00::/120", "::/120"])
def test_pod_ips_are_the_addresses_ipaddress_gives(cidr):
    """pod_ip formats IPv4 addresses itself: the same sequence (wrapping around) as ipaddress's."""
    import ipaddress
    node = HollowNode(None, NodeConfig(node_name="n", pod_cidr=cidr))
    net = ipaddress.ip_network(cidr)
    base, size = int(net.network_address) + 2, net.num_addresses - 3
    assert [node.pod_ip() for _ in range(600)] == [str(ipaddress.ip_address(base + i % size)) for i in range(600)]


FULL_POD = {
    "apiVersion": "v1", "kind": "Pod",
    "metadata": {"name": "web-1", "namespace": "shop", "uid": "u-9", "resourceVersion": "42",
                 "labels": {"app": "web"}, "annotations": {"a": "b"}, "managedFields": [{"manager": "x"}],
                 "ownerReferences": [{"kind": "ReplicaSet", "name": "web", "uid": "rs", "controller": True}]},
    "spec": {"nodeName": "hollow-3", "restartPolicy": "Always", "schedulerName": "default-scheduler",
             "volumes": [{"name": "v", "emptyDir": {}}], "tolerations": [{"operator": "Exists"}],
             "initContainers": [{"name": "init", "image": "busybox", "command": ["true"]}],
             "containers": [{"name": "c", "image": "nginx", "env": [{"name": "X", "value": "1"}],
                             "resources": {"requests": {"cpu": "10m"}, "limits": {"cpu": "10m", "memory": "16Mi"}},
                             "volumeMounts": [{"name": "v", "mountPath": "/v"}]},
                            {"name": "side", "image": "busybox", "resources": {}}]},
    "status": {"phase": "Pending", "qosClass": "Burstable",
               "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-01T00:00:00Z"}]},
}


@pytest.mark.parametrize("change", ["as is", "host network", "terminal", "being deleted", "never restart", "no init"])
def test_the_informer_view_gives_the_same_running_status(change):
    """The hollow informer keeps a view of each pod; the status sent for it and the decisions made
    on it are the ones the whole pod would give."""
    import copy
    pod = copy.deepcopy(FULL_POD)
    if change == "host network":
        pod["spec"]["hostNetwork"] = True
    elif change == "terminal":
        pod["status"]["phase"] = "Succeeded"
    elif change == "being deleted":
        pod["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:10Z"
    elif change == "never restart":
        pod["spec"]["restartPolicy"] = "Never"
    elif change == "no init":
        del pod["spec"]["initContainers"]
    view = pod_view(copy.deepcopy(pod))
    assert running_status(view, "127.0.0.1", "10.128.3.2", now=5) == running_status(pod, "127.0.0.1", "10.128.3.2", now=5)
    for path in (("metadata", "name"), ("metadata", "namespace"), ("metadata", "uid"), ("spec", "nodeName"),
                 ("status", "phase")):
        assert view[path[0]].get(path[1]) == pod[path[0]].get(path[1])
    assert view["metadata"].get("deletionTimestamp") == pod["metadata"].get("deletionTimestamp")
    assert "volumes" not in view["spec"] and "annotations" not in view["metadata"]
    assert "env" not in view["spec"]["containers"][0]


QUEUE_CASES = [  # (what, pod of node "h1" after its Running status was sent or not, queued)
    ("bound, status not sent yet", {"nodeName": "h1"}, False, None, True),
    ("another node's pod", {"nodeName": "h2"}, False, None, False),
    ("the echo of its Running status", {"nodeName": "h1"}, True, None, False),
    ("being deleted after it ran", {"nodeName": "h1"}, True, "2026-01-01T00:00:00Z", True),
]


@pytest.mark.parametrize("what,spec,sent,deleting,queued", QUEUE_CASES, ids=[c[0] for c in QUEUE_CASES])
def test_which_pod_events_queue_a_sync(what, spec, sent, deleting, queued):
    from labkube.kubelet.hollow.pods import HollowPods
    pods = HollowPods(client=None, nodes={"h1": object()})
    md = {"name": "p", "namespace": "default", "uid": "u-1"}
    if deleting:
        md["deletionTimestamp"] = deleting
    if sent:
        pods._reported.add("u-1")
    pods._on_pod({"metadata": md, "spec": spec, "status": {"phase": "Running" if sent else "Pending"}})
    assert (pods.queue.get_nowait() == "default/p") is queued


async def test_queued_pods_sync_at_most_workers_at_once_and_failures_retry():
    from labkube.kubelet.hollow.pods import HollowPods
    pods = HollowPods(client=None, nodes={}, workers=3)
    running, most, seen, release = set(), 0, [], asyncio.Event()

    async def sync(key):
        nonlocal most
        running.add(key)
        most = max(most, len(running))
        seen.append(key)
        await release.wait()
        running.discard(key)
        if key == "default/p0" and seen.count(key) == 1:
            raise RuntimeError("apiserver busy")    # retried with backoff

    async def until(cond, what):
        for _ in range(500):
            if cond():
                return
            await asyncio.sleep(0.01)
        raise AssertionError(f"timed out waiting for {what}")
    pods.sync = sync
    for i in range(8):
        pods.queue.add(f"default/p{i}")
    task = asyncio.create_task(pods._dispatch())
    await until(lambda: len(running) == 3, "three syncs running")
    await asyncio.sleep(0.05)
    assert len(seen) == 3                          # the other five wait for a slot
    release.set()
    await until(lambda: len(seen) == 9, "every key synced, p0 again after its failure")
    assert most == 3 and sorted(set(seen)) == [f"default/p{i}" for i in range(8)] and seen.count("default/p0") == 2
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


def test_bad_kubeconfig_exits_2(tmp_path, capsys):
    assert hollow_main(["--kubeconfig", str(tmp_path / "nope"), "--nodes", "2"]) == 2
    assert "kubeconfig" in capsys.readouterr().err


@pytest.fixture
def cluster(tmp_path):
    c = LocalCluster(tmp_path, apiserver_cfg={"storage": {"fsync": False}}).start()
    yield c
    rcs = c.stop()
    assert rcs == {"apiserver": 0, "scheduler": 0, "controllers": 0, "hollow": 0}, rcs
    assert "Traceback" not in c.log("hollow"), c.log("hollow")


async def test_hollow_nodes_run_a_deployment(cluster):
    cluster.start_hollow(3, "--prefix", "h-", "--lease-interval", "1")
    async with Client(KubeConfig.load(cluster.kubeconfig)) as c:
        async def ready_nodes():
            nodes = await c.list("nodes")
            return len([n for n in nodes if any(x["type"] == "Ready" and x["status"] == "True"
                                                for x in n["status"].get("conditions") or [])]) == 3 and nodes
        nodes = await eventually(ready_nodes, what="3 hollow nodes Ready")
        assert sorted(n["metadata"]["name"] for n in nodes) == ["h-0", "h-1", "h-2"]
        assert nodes[0]["metadata"]["labels"]["kubernetes.io/hostname"] == nodes[0]["metadata"]["name"]
        async def lease_of_h1():
            return [x for x in await c.list("leases", namespace="kube-node-lease") if x["metadata"]["name"] == "h-1"]
        (lease,) = await eventually(lease_of_h1, what="Lease of h-1")
        first = lease["spec"]["renewTime"]
        assert lease["spec"]["holderIdentity"] == "h-1"

        labels = {"app": "web"}
        await c.create("deployments", {"metadata": {"name": "web"}, "spec": {
            "replicas": 6, "selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels},
                                                                             "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}},
            namespace="default")

        async def running():
            pods = await c.list("pods", namespace="default", label_selector="app=web")
            ok = [p for p in pods if p["status"].get("phase") == "Running" and p["status"].get("podIP")]
            return len(ok) == 6 and len(pods) == 6 and pods
        pods = await eventually(running, what="6 pods Running")
        assert {p["spec"]["nodeName"] for p in pods} <= {"h-0", "h-1", "h-2"}
        assert all({x["type"]: x["status"] for x in p["status"]["conditions"]}["Ready"] == "True" for p in pods)

        async def available():
            d = await c.get("deployments", "web", namespace="default")
            return d["status"].get("availableReplicas") == 6
        await eventually(available, what="deployment available")

        # graceful deletion: the hollow kubelet finishes it; the ReplicaSet replaces the pod
        victim = pods[0]["metadata"]["name"]
        await c.delete("pods", victim, namespace="default")

        async def replaced():
            pods = await c.list("pods", namespace="default", label_selector="app=web")
            names = {p["metadata"]["name"] for p in pods}
            return victim not in names and len([p for p in pods if p["status"].get("phase") == "Running"]) == 6
        await eventually(replaced, what="deleted pod gone and replaced")

        await c.delete("deployments", "web", namespace="default", propagation_policy="Foreground")

        async def all_gone():
            return not await c.list("pods", namespace="default") and not await c.list("deployments", namespace="default")
        await eventually(all_gone, what="deployment and pods deleted")
        async def renewed():                                  # heartbeats keep coming
            lease = await c.get("leases", "h-1", namespace="kube-node-lease")
            return lease["spec"]["renewTime"] != first
        await eventually(renewed, what="h-1's Lease renewed")


async def test_the_fleet_caches_only_its_nodes_pods_and_skips_unbound_pod_lines():
    from labkube.client.fake import FakeApi
    from labkube.kubelet.hollow.pods import HollowPods
    api = FakeApi()
    pods = HollowPods(api, nodes={"hollow-0": None, "hollow-1": None})
    pods.informer.start()
    await api.settle()
    for name, node in (("waiting", None), ("elsewhere", "real-node"), ("ours", "hollow-1"), ("later", None)):
        await api.create("pods", {"metadata": {"name": name}, "spec": {"nodeName": node} if node else {}})
    await api.patch("pods", "later", {"spec": {"nodeName": "hollow-0"}}, namespace="default")
    await api.settle()
    assert sorted(pods.informer.keys()) == ["default/later", "default/ours"]
    # "waiting" and "later" created unbound: not decoded; the lines with a nodeName are read by
    # the fleet's LineReader (handed to the informer from there)
    assert api.skipped_lines - pods.lines.read == 2 and pods.lines.read == 3
    assert sorted([pods.queue.get_nowait(), pods.queue.get_nowait()]) == ["default/later", "default/ours"]
    await pods.informer.stop()


async def test_the_fleets_pod_status_writes_go_through_the_pipelined_client():
    """HollowFleet gives its pods' Running status writes to Client.pipelined(STATUS_CONNECTIONS)
    when the client has it (its deletes, Leases and watches stay on the client), else the client."""
    from labkube.client.fake import FakeApi
    from labkube.kubelet.hollow.fleet import STATUS_CONNECTIONS, HollowFleet
    plain = FakeApi()
    assert HollowFleet(plain, 1).pods.status_client is plain
    api = FakeApi()
    patched, asked = [], []

    class Pipelined:
        async def patch(self, res, name, body, **kw):
            patched.append(name)
            return await api.patch(res, name, body, **kw)

    api.pipelined = lambda n: asked.append(n) or Pipelined()
    fleet = HollowFleet(api, 1)
    assert asked == [STATUS_CONNECTIONS] and fleet.pods.client is api
    await api.create("pods", {"metadata": {"name": "p"}, "spec": {"nodeName": "hollow-0", "containers": [
        {"name": "c", "image": "i"}]}})
    fleet.pods.informer.start()
    await api.settle()
    await fleet.pods.sync("default/p")
    assert patched == ["p"] and (await api.get("pods", "p", namespace="default"))["status"]["phase"] == "Running"
    await fleet.pods.informer.stop()


@pytest.mark.parametrize("fails", [None, 404, 500])
async def test_sync_expects_the_status_it_writes_and_forgets_it_when_the_write_fails(fails):
    """The Running status is handed to the LineReader (its echo is matched against it) before it
    is written, and taken back when the write fails (a 404 ends the sync, another error raises)."""
    from labkube.kubelet.hollow.pods import HollowPods

    class Error(Exception):
        code = fails
    seen = []

    class StatusClient:
        async def patch(self, res, name, body, **kw):
            seen.append((dict(pods.lines._expected), body["status"]))
            if fails:
                raise Error("no")

    pods = HollowPods(None, nodes={"hollow-3": HollowNode(None, NodeConfig(node_name="hollow-3", pod_cidr=pod_cidr(3)))},
                      status_client=StatusClient())
    pods.informer.handle_event({"type": "ADDED", "object": FULL_POD})
    if fails == 500:
        with pytest.raises(Error):
            await pods.sync("shop/web-1")
    else:
        await pods.sync("shop/web-1")
    (expected, sent), = seen
    assert expected == {"shop/web-1": sent} and expected["shop/web-1"] is sent
    assert pods.lines._expected == ({} if fails else {"shop/web-1": sent})
    assert pods.running_sent == (0 if fails else 1)
