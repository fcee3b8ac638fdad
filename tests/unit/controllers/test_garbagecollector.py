"""Garbage collector on the FakeApi: background collection, partial owners, foreground and orphan deletion."""
from __future__ import annotations

import pytest

from labkube.api.resources import Resource, register_custom, unregister_custom
from labkube.controllers.deployment import DeploymentController
from labkube.controllers.garbagecollector import GarbageCollector, custom_resource
from labkube.controllers.replicaset import ReplicaSetController

from .harness import Harness, deploy_obj


def ref(owner, block=True):
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": block}


async def make(*classes):
    h = Harness(GarbageCollector, *classes)
    await h.start()
    return h


async def test_deletes_dependents_of_deleted_owner_and_keeps_others():
    h = await make()
    cm = await h.api.create("configmaps", {"metadata": {"name": "owner"}})
    await h.api.create("pods", {"metadata": {"name": "dep", "ownerReferences": [ref(cm)]}, "spec": {}})
    await h.api.create("pods", {"metadata": {"name": "free"}, "spec": {}})
    await h.run()
    assert len(h.pods()) == 2
    await h.api.delete("configmaps", "owner", "default")
    await h.run()
    assert [p["metadata"]["name"] for p in h.pods()] == ["free"]


async def test_owner_with_same_name_but_new_uid_does_not_count():
    h = await make()
    await h.api.create("pods", {"metadata": {"name": "dep", "ownerReferences": [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": "stale-uid"}]}, "spec": {}})
    await h.api.create("configmaps", {"metadata": {"name": "owner"}})
    await h.run()
    assert h.pods() == []


async def test_partial_owners_only_drop_the_dangling_reference():
    h = await make()
    a = await h.api.create("configmaps", {"metadata": {"name": "a"}})
    b = await h.api.create("configmaps", {"metadata": {"name": "b"}})
    await h.api.create("pods", {"metadata": {"name": "dep", "ownerReferences": [ref(a), ref(b, False)]}, "spec": {}})
    await h.api.delete("configmaps", "a", "default")
    await h.run()
    (p,) = h.pods()
    assert [r["name"] for r in p["metadata"]["ownerReferences"]] == ["b"]


async def test_foreground_deletion_waits_for_blocking_dependents():
    h = await make()
    cm = await h.api.create("configmaps", {"metadata": {"name": "owner"}})
    await h.api.create("pods", {"metadata": {"name": "dep", "ownerReferences": [ref(cm)]},
                                "spec": {"nodeName": "w1"}})
    await h.run()
    await h.api.delete("configmaps", "owner", "default", propagation_policy="Foreground")
    await h.run()
    # the bound pod is terminating (graceful): the owner must still exist
    assert h.pods()[0]["metadata"].get("deletionTimestamp")
    owner = await h.api.get("configmaps", "owner", "default")
    assert owner["metadata"]["finalizers"] == ["foregroundDeletion"]
    await h.api.delete("pods", "dep", "default", grace_period_seconds=0)   # the kubelet finishes
    await h.run()
    assert h.api.all("configmaps") == []


async def test_orphan_deletion_strips_owner_refs():
    h = await make()
    cm = await h.api.create("configmaps", {"metadata": {"name": "owner"}})
    await h.api.create("pods", {"metadata": {"name": "dep", "ownerReferences": [ref(cm)]}, "spec": {}})
    await h.run()
    await h.api.delete("configmaps", "owner", "default", propagation_policy="Orphan")
    await h.run()
    assert h.api.all("configmaps") == []
    (p,) = h.pods()
    assert p["metadata"]["ownerReferences"] == []


async def test_deleting_a_deployment_cascades_to_replicasets_and_pods():
    h = await make(DeploymentController, ReplicaSetController)
    h.kubelet = True
    await h.api.create("deployments", deploy_obj("web", 2))
    await h.run()
    assert len(h.pods()) == 2 and len(h.api.all("replicasets")) == 1
    await h.api.delete("deployments", "web", "default")
    await h.run()
    assert h.api.all("replicasets") == [] and h.pods() == []


async def test_graph_forgets_deleted_objects():
    h = await make(DeploymentController, ReplicaSetController)
    h.kubelet = True
    await h.api.create("deployments", deploy_obj("web", 2))
    await h.run()
    await h.api.delete("deployments", "web", "default")
    await h.run()
    gc = h.controllers[0]
    assert gc.dependents == {} and not any(k[0] in ("pods", "replicasets") for k in gc._owners_of)


# -- custom resources as owners ----------------------------------------------------------------

GREETINGS = Resource("greetings", "Greeting", "lab.example", "v1", True, singular="greeting", custom=True)
GREETING_CRD = {"metadata": {"name": "greetings.lab.example"}, "spec": {
    "group": "lab.example", "scope": "Namespaced",
    "names": {"plural": "greetings", "singular": "greeting", "kind": "Greeting"},
    "versions": [{"name": "v1beta1", "served": True, "storage": False},
                 {"name": "v1", "served": True, "storage": True}]}}


@pytest.fixture
def greetings():
    register_custom(GREETINGS)            # what the apiserver does for a CRD (the FakeApi needs it)
    yield GREETINGS
    unregister_custom("lab.example", "greetings")


def test_custom_resource_of_a_crd_is_its_storage_version_or_the_asked_served_one():
    assert custom_resource(GREETING_CRD) == GREETINGS
    assert custom_resource(GREETING_CRD, "v1beta1").version == "v1beta1"
    assert custom_resource(GREETING_CRD, "v2") == GREETINGS
    assert custom_resource({"metadata": {"name": "x"}, "spec": {"versions": []}}) is None


async def test_dependents_of_a_deleted_custom_resource_are_collected(greetings):
    h = await make()
    await h.api.create("customresourcedefinitions", GREETING_CRD)
    await h.run()
    owner = await h.api.create(greetings, {"metadata": {"name": "hi"}, "spec": {}})
    await h.api.create("configmaps", {"metadata": {"name": "hi-greeting", "ownerReferences": [ref(owner)]}})
    await h.api.create("configmaps", {"metadata": {"name": "free"}})
    await h.run()
    assert [c["metadata"]["name"] for c in h.api.all("configmaps")] == ["free", "hi-greeting"]
    await h.api.delete(greetings, "hi", "default")
    await h.run()
    assert [c["metadata"]["name"] for c in h.api.all("configmaps")] == ["free"]


async def test_owner_of_a_kind_no_crd_serves_is_never_collected_on(greetings):
    h = await make()
    await h.api.create("configmaps", {"metadata": {"name": "dep", "ownerReferences": [
        {"apiVersion": "lab.example/v1", "kind": "Greeting", "name": "gone", "uid": "u-1"}]}})
    await h.run()
    assert [c["metadata"]["name"] for c in h.api.all("configmaps")] == ["dep"]


async def test_deleting_the_crd_stops_watching_its_resource(greetings):
    h = await make()
    crd = await h.api.create("customresourcedefinitions", GREETING_CRD)
    await h.run()
    (gc,) = h.controllers
    assert "greetings.lab.example" in gc.infs
    await h.api.delete("customresourcedefinitions", crd["metadata"]["name"])
    await h.run()
    assert "greetings.lab.example" not in gc.infs and ("greetings", None) not in h.factory.informers


UPDATE_CASES = [  # (what, change to a pod with an owner, whether the collector looks at it again)
    ("a status write", {"status": {"phase": "Running"}}, False),
    ("a label change", {"metadata": {"labels": {"a": "b"}}}, False),
    ("every owner reference removed (no owner left to look for)", {"metadata": {"ownerReferences": []}}, False),
    ("an owner reference replaced",
     {"metadata": {"ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "x", "uid": "gone"}]}}, True),
    ("a finalizer added", {"metadata": {"finalizers": ["example.com/hold"]}}, True),
]


@pytest.mark.parametrize("what,patch,queued", UPDATE_CASES, ids=[c[0] for c in UPDATE_CASES])
async def test_an_update_is_looked_at_only_when_it_changes_owners_finalizers_or_deletion(what, patch, queued):
    h = await make()
    cm = await h.api.create("configmaps", {"metadata": {"name": "owner"}})
    await h.api.create("pods", {"metadata": {"name": "dep", "ownerReferences": [ref(cm)]}, "spec": {}})
    await h.run()
    gc = h.controllers[0]
    assert gc.queue.get_nowait() is None
    if "status" in patch:
        await h.api.patch("pods", "dep", patch, namespace="default", subresource="status")
    else:
        await h.api.patch("pods", "dep", patch, namespace="default")
    await h.api.settle()
    assert (gc.queue.get_nowait() == "pods|default/dep") is queued, what
