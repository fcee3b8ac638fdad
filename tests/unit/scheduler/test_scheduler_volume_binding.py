"""VolumeBinding through the whole Scheduler against the FakeApi: claims bound to pinned
volumes, unbound claims of Immediate classes, WaitForFirstConsumer classes (a static volume
pre-bound on the chosen node, or the selected-node annotation for the provisioner)."""
from __future__ import annotations

import pytest

from labkube.client.errors import ApiError
from labkube.scheduler.plugins.volume_binding import SELECTED_NODE
from labkube.scheduler.views import pod_view

from .harness import run_queue, setup
from .objs import node, pod

NODES = [node("w1-k8s"), node("w2-k8s"), node("w3-k8s")]


def pinned(node_name):
    return {"required": {"nodeSelectorTerms": [{"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": [node_name]}]}]}}


def volume(name, cls="", node_name=None, claim=None, size="1Gi"):
    spec = {"capacity": {"storage": size}, "accessModes": ["ReadWriteOnce"], "storageClassName": cls,
            "local": {"path": f"/mnt/{name}"}}
    if node_name:
        spec["nodeAffinity"] = pinned(node_name)
    if claim:
        spec["claimRef"] = {"namespace": "default", "name": claim}
    return {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": name}, "spec": spec,
            "status": {"phase": "Bound" if claim else "Available"}}


def claim(name, cls=None, volume_name=None):
    spec = {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}
    if cls is not None:
        spec["storageClassName"] = cls
    if volume_name:
        spec["volumeName"] = volume_name
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim", "metadata": {"name": name, "namespace": "default"},
            "spec": spec, "status": {"phase": "Bound" if volume_name else "Pending"}}


def storage_class(name, provisioner="labkube.io/hostpath", mode="WaitForFirstConsumer", **extra):
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": name},
            "provisioner": provisioner, "volumeBindingMode": mode, **extra}


def claim_pod(name, *claims):
    p = pod(name)
    p["spec"]["volumes"] = [{"name": f"v{i}", "persistentVolumeClaim": {"claimName": c}} for i, c in enumerate(claims)]
    return p


async def cluster(*objects):
    return await setup(NODES, objects)


async def node_of(api, name):
    return (await api.get("pods", name, "default"))["spec"].get("nodeName")


def failed(api):
    return [e["message"] for e in api.all("events") if e["reason"] == "FailedScheduling"]


async def test_a_claim_bound_to_a_pinned_volume_draws_the_pod_to_that_node():
    api, s, _ = await cluster(volume("local-w2", node_name="w2-k8s", claim="data"), claim("data", "", "local-w2"),
                              claim_pod("app", "data"))
    await run_queue(api, s)
    assert await node_of(api, "app") == "w2-k8s"


async def test_a_pinned_volume_and_a_node_selector_elsewhere_conflict():
    p = claim_pod("app", "data")
    p["spec"]["nodeSelector"] = {"kubernetes.io/hostname": "w1-k8s"}
    api, s, _ = await cluster(volume("local-w2", node_name="w2-k8s", claim="data"), claim("data", "", "local-w2"), p)
    await run_queue(api, s)
    assert await node_of(api, "app") is None
    assert failed(api) == ["0/3 nodes are available: 1 node(s) had volume node affinity conflict, "
                           "2 node(s) didn't match Pod's node affinity/selector."]


@pytest.mark.parametrize("claim_class", ["standard", ""])
async def test_an_unbound_immediate_claim_keeps_the_pod_waiting_until_it_is_bound(claim_class):
    api, s, clock = await cluster(storage_class("standard", mode="Immediate"), claim("data", claim_class),
                                  claim_pod("app", "data"))
    await run_queue(api, s)
    assert await node_of(api, "app") is None
    assert failed(api) == ["0/3 nodes are available: 3 pod has unbound immediate PersistentVolumeClaims."]
    await api.create("persistentvolumes", volume("pv-1", cls=claim_class, claim="data"))
    c = await api.get("persistentvolumeclaims", "data", "default")
    c["spec"]["volumeName"] = "pv-1"
    await api.replace("persistentvolumeclaims", "data", c, "default")     # the PV controller bound it
    await api.settle()
    clock.advance(1)                                                        # the pod's backoff
    await run_queue(api, s)
    assert await node_of(api, "app") is not None


@pytest.mark.parametrize("pod_claims, says", [
    (["nosuch"], 'persistentvolumeclaim "nosuch" not found'),
    (["orphan"], "pvc(s) bound to non-existent pv(s)"),
])
async def test_claims_that_cannot_be_used(pod_claims, says):
    api, s, _ = await cluster(claim("orphan", "", "gone-pv"), claim_pod("app", *pod_claims))
    await run_queue(api, s)
    assert await node_of(api, "app") is None
    assert failed(api) == [f"0/3 nodes are available: 3 {says}."]


async def test_wait_for_first_consumer_provisions_where_the_scheduler_put_the_pod():
    api, s, _ = await cluster(storage_class("wait"), claim("data", "wait"), claim_pod("app", "data"))
    await run_queue(api, s)
    chosen = await node_of(api, "app")
    assert chosen in {"w1-k8s", "w2-k8s", "w3-k8s"}
    c = await api.get("persistentvolumeclaims", "data", "default")
    assert c["metadata"]["annotations"][SELECTED_NODE] == chosen
    patch = next(i for i, a in enumerate(api.actions) if a[:2] == ("update", "persistentvolumeclaims"))
    binding = next(i for i, a in enumerate(api.actions) if a[0] == "create/binding")
    assert patch < binding                                   # annotated before the pod is bound (PreBind)


async def test_wait_for_first_consumer_takes_a_static_volume_on_its_node():
    """A local-storage class (no provisioner): only the node with a free volume fits, and that
    volume is pre-bound to the claim before the pod is bound."""
    api, s, _ = await cluster(storage_class("local", provisioner="kubernetes.io/no-provisioner"),
                              volume("local-w3", cls="local", node_name="w3-k8s"),
                              volume("small-w1", cls="local", node_name="w1-k8s", size="100Mi"),
                              claim("data", "local"), claim_pod("app", "data"))
    await run_queue(api, s)
    assert await node_of(api, "app") == "w3-k8s"
    pv = await api.get("persistentvolumes", "local-w3")
    assert pv["spec"]["claimRef"]["name"] == "data" and pv["spec"]["claimRef"]["namespace"] == "default"
    assert SELECTED_NODE not in ((await api.get("persistentvolumeclaims", "data", "default"))["metadata"]
                                 .get("annotations") or {})


async def test_wait_for_first_consumer_without_volume_or_provisioner_waits():
    api, s, _ = await cluster(storage_class("local", provisioner="kubernetes.io/no-provisioner"),
                              claim("data", "local"), claim_pod("app", "data"))
    await run_queue(api, s)
    assert await node_of(api, "app") is None
    assert failed(api) == ["0/3 nodes are available: 3 node(s) didn't find available persistent volumes to bind."]


async def test_allowed_topologies_limit_where_a_class_provisions():
    sc = storage_class("zoned", allowedTopologies=[{"matchLabelExpressions": [
        {"key": "kubernetes.io/hostname", "values": ["w1-k8s"]}]}])
    api, s, _ = await cluster(sc, claim("data", "zoned"), claim_pod("app", "data"))
    await run_queue(api, s)
    assert await node_of(api, "app") == "w1-k8s"


async def test_pods_without_claims_are_not_its_business():
    api, s, _ = await cluster(pod("plain"))
    await run_queue(api, s)
    assert await node_of(api, "plain") is not None
    assert not [a for a in api.actions if a[1] in ("persistentvolumeclaims", "persistentvolumes")
                and a[0] not in ("list", "watch")]


def test_the_scheduler_keeps_only_claim_volumes_of_a_pod():
    p = claim_pod("app", "data")
    p["spec"]["volumes"].append({"name": "tmp", "emptyDir": {}})
    assert pod_view(p)["spec"]["volumes"] == [{"name": "v0", "persistentVolumeClaim": {"claimName": "data"}}]


async def test_a_volume_taken_meanwhile_sends_the_pod_back_to_the_queue():
    """The volume's pre-binding is refused (409: another claim took it first): the pod is not
    bound, and it is tried again after its backoff."""
    api, s, clock = await cluster(storage_class("local", provisioner="kubernetes.io/no-provisioner"),
                                  volume("local-w3", cls="local", node_name="w3-k8s"),
                                  claim("data", "local"), claim_pod("app", "data"))
    refused = []

    def conflict_once(verb, resource, ns, name, body):
        if resource == "persistentvolumes" and verb == "update" and not refused:
            refused.append(name)
            raise ApiError(409, "Conflict", f'persistentvolumes "{name}": the object has been modified')
    api.reactors.append(conflict_once)
    await run_queue(api, s)
    assert refused == ["local-w3"] and await node_of(api, "app") is None
    assert "default/app" in s.queue
    clock.advance(10)
    await run_queue(api, s)
    assert await node_of(api, "app") == "w3-k8s"
