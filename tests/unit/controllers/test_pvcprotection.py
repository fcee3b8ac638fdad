"""The PVC protection controller on the FakeApi: a claim being deleted stays while a pod that
has not finished uses it, and goes once no such pod is left."""
from __future__ import annotations

import pytest

from labkube.controllers.pvcprotection import FINALIZER, PVCProtectionController

from .harness import Harness


def claim(name="www", ns="default"):
    return {"metadata": {"name": name, "namespace": ns, "finalizers": [FINALIZER]},
            "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}


def pod(name, claim_name="www", ns="default", phase="Running"):
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"containers": [{"name": "c", "image": "busybox"}],
                     "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": claim_name}}]},
            "status": {"phase": phase}}


def claim_names(h):
    return [c["metadata"]["name"] for c in h.api.all("persistentvolumeclaims", "default")]


@pytest.mark.parametrize("pods,kept", [
    ([], False),
    ([pod("user")], True),                                   # in use: Terminating
    ([pod("done", phase="Succeeded"), pod("crashed", phase="Failed")], False),   # finished pods do not count
    ([pod("other", claim_name="logs")], False),               # another claim
    ([pod("elsewhere", ns="shop")], False),                   # same claim name, another namespace
])
async def test_a_deleted_claim_waits_only_for_pods_that_use_it(pods, kept):
    h = Harness(PVCProtectionController)
    await h.api.create("namespaces", {"metadata": {"name": "shop"}})
    await h.api.create("persistentvolumeclaims", claim())
    for p in pods:
        await h.api.create("pods", p)
    await h.start()
    await h.api.delete("persistentvolumeclaims", "www", "default")
    await h.run()
    assert claim_names(h) == (["www"] if kept else [])
    if kept:
        left = h.api.all("persistentvolumeclaims", "default")[0]
        assert left["metadata"]["deletionTimestamp"] and left["metadata"]["finalizers"] == [FINALIZER]


async def test_the_claim_goes_when_its_last_pod_is_deleted():
    h = Harness(PVCProtectionController)
    await h.api.create("persistentvolumeclaims", claim())
    await h.api.create("pods", pod("a"))
    await h.api.create("pods", pod("b"))
    await h.start()
    await h.api.delete("persistentvolumeclaims", "www", "default")
    await h.run()
    await h.api.delete("pods", "a", "default")
    await h.run()
    assert claim_names(h) == ["www"]
    await h.api.delete("pods", "b", "default")
    await h.run()
    assert claim_names(h) == []


async def test_a_claim_not_being_deleted_is_left_alone():
    h = Harness(PVCProtectionController)
    await h.api.create("persistentvolumeclaims", claim())
    await h.start()
    before = h.api.all("persistentvolumeclaims", "default")[0]["metadata"]["resourceVersion"]
    h.controllers[0].queue.add("default/www")
    await h.run()
    assert h.api.all("persistentvolumeclaims", "default")[0]["metadata"]["resourceVersion"] == before
