"""The PersistentVolume controller on the FakeApi: which volume a claim gets (table), binding
both ways, hostPath provisioning for the lab's StorageClass, and what happens to a volume
when its claim is deleted (Delete removes a provisioned one, Retain leaves it Released)."""
from __future__ import annotations

import os

import pytest

from labkube.controllers.persistentvolume import (BIND_COMPLETED, PROVISIONED_BY, PROVISIONER,
                                                  PersistentVolumeController, best_match)

from .harness import Harness


def pv(name, size="1Gi", modes=("ReadWriteOnce",), cls="", labels=None, policy="Retain", claim=None, phase=None,
       mode=None):
    obj = {"metadata": {"name": name, "labels": labels or {}},
           "spec": {"capacity": {"storage": size}, "accessModes": list(modes), "storageClassName": cls,
                    "persistentVolumeReclaimPolicy": policy, "hostPath": {"path": f"/data/{name}"}}}
    if claim:
        obj["spec"]["claimRef"] = {"namespace": "default", "name": claim}
    if phase:
        obj["status"] = {"phase": phase}
    if mode:
        obj["spec"]["volumeMode"] = mode
    return obj


def pvc(name, size="1Gi", modes=("ReadWriteOnce",), cls=None, selector=None, volume=None):
    spec = {"accessModes": list(modes), "resources": {"requests": {"storage": size}}}
    if cls is not None:
        spec["storageClassName"] = cls
    if selector:
        spec["selector"] = selector
    if volume:
        spec["volumeName"] = volume
    return {"metadata": {"name": name, "namespace": "default"}, "spec": spec,
            "status": {"phase": "Pending"}}                     # as the apiserver defaults it


VOLUMES = [pv("small", "500Mi"), pv("one", "1Gi"), pv("two", "2Gi"), pv("rwx", "1Gi", ("ReadWriteMany",)),
           pv("fast", "1Gi", cls="fast"), pv("labelled", "5Gi", labels={"tier": "gold"}),
           pv("taken", "1Gi", claim="other"), pv("released", "1Gi", phase="Released"),
           pv("block", "1Gi", mode="Block")]


@pytest.mark.parametrize("claim,want", [
    (pvc("c", "1Gi"), "one"),                                           # smallest that fits
    (pvc("c", "600Mi"), "one"),
    (pvc("c", "300Mi"), "small"),
    (pvc("c", "1500Mi"), "two"),
    (pvc("c", "1Gi", ("ReadWriteMany",)), "rwx"),                       # access modes contained
    (pvc("c", "1Gi", ("ReadWriteOnce", "ReadOnlyMany")), None),
    (pvc("c", "1Gi", cls="fast"), "fast"),                              # same class only
    (pvc("c", "1Gi", cls="slow"), None),
    (pvc("c", "1Gi", selector={"matchLabels": {"tier": "gold"}}), "labelled"),
    (pvc("c", "1Gi", selector={"matchExpressions": [{"key": "tier", "operator": "In", "values": ["silver"]}]}), None),
    (pvc("c", "10Gi"), None),                                           # nothing big enough
])
def test_best_match(claim, want):
    got = best_match(claim, VOLUMES)
    assert (got["metadata"]["name"] if got else None) == want


async def h_with(*objs, classes=(), tmp=None):
    h = Harness(PersistentVolumeController, settings={"volume_dir": str(tmp)} if tmp else None)
    for sc in classes:
        await h.api.create("storageclasses", sc)
    for o in objs:
        await h.api.create("persistentvolumes" if "namespace" not in o["metadata"] else "persistentvolumeclaims", o)
    await h.start()
    await h.run()
    return h


async def state(h, claim):
    c = await h.api.get("persistentvolumeclaims", claim, "default")
    return c


def standard(policy="Delete", provisioner=PROVISIONER, name="standard"):
    return {"metadata": {"name": name}, "provisioner": provisioner, "reclaimPolicy": policy,
            "volumeBindingMode": "Immediate"}


async def test_binds_a_claim_to_the_matching_volume_both_ways():
    h = await h_with(pv("big", "5Gi"), pv("fit", "1Gi"), pvc("data", "1Gi", cls=""))
    c = await state(h, "data")
    v = await h.api.get("persistentvolumes", "fit")
    assert c["spec"]["volumeName"] == "fit" and c["metadata"]["annotations"][BIND_COMPLETED] == "yes"
    assert c["status"] == {"phase": "Bound", "accessModes": ["ReadWriteOnce"], "capacity": {"storage": "1Gi"}}
    assert v["spec"]["claimRef"]["name"] == "data" and v["spec"]["claimRef"]["uid"] == c["metadata"]["uid"]
    assert v["status"]["phase"] == "Bound"
    assert (await h.api.get("persistentvolumes", "big"))["status"]["phase"] == "Available"


async def test_a_claim_without_volume_waits_and_binds_when_one_appears():
    h = await h_with(pvc("data", "1Gi", cls=""))
    assert (await state(h, "data"))["status"]["phase"] == "Pending"
    assert [e["message"] for e in h.events("FailedBinding")] == [
        "no persistent volumes available for this claim and no storage class is set"]
    await h.api.create("persistentvolumes", pv("late", "2Gi"))
    await h.run()
    assert (await state(h, "data"))["spec"]["volumeName"] == "late"


@pytest.mark.parametrize("claim,volume,bound", [
    (pvc("data", cls="", volume="mine"), pv("mine"), True),             # claim names a free volume
    (pvc("data", cls=""), pv("mine", claim="data"), True),              # volume pre-bound to the claim
    (pvc("data", cls="", volume="mine"), pv("mine", claim="other"), False),   # volume promised elsewhere
])
async def test_prebinding(claim, volume, bound):
    h = await h_with(volume, pv("spare"), claim)
    c = await state(h, "data")
    assert (c["status"]["phase"] == "Bound" and c["spec"]["volumeName"] == "mine") is bound
    assert (await h.api.get("persistentvolumes", "spare"))["status"]["phase"] == "Available"


async def test_provisions_a_hostpath_volume_for_the_class(tmp_path):
    h = await h_with(pvc("www", "1Gi", cls="standard"), classes=[standard()], tmp=tmp_path)
    c = await state(h, "www")
    name = f"pvc-{c['metadata']['uid']}"
    v = await h.api.get("persistentvolumes", name)
    assert v["spec"]["hostPath"] == {"path": os.path.join(str(tmp_path), name), "type": "DirectoryOrCreate"}
    assert (v["spec"]["capacity"], v["spec"]["persistentVolumeReclaimPolicy"], v["spec"]["storageClassName"]) == (
        {"storage": "1Gi"}, "Delete", "standard")
    assert v["metadata"]["annotations"][PROVISIONED_BY] == PROVISIONER and v["status"]["phase"] == "Bound"
    assert c["spec"]["volumeName"] == name and c["status"]["phase"] == "Bound"
    assert [e["reason"] for e in h.events("ProvisioningSucceeded")] == ["ProvisioningSucceeded"]


@pytest.mark.parametrize("cls,reason,message", [
    ("missing", "ProvisioningFailed", 'storageclass.storage.k8s.io "missing" not found'),
    ("ebs", "ExternalProvisioning", "Waiting for a volume to be created either by the external provisioner "
                                    "'ebs.csi.aws.com'"),
])
async def test_claims_no_volume_is_made_for(cls, reason, message):
    h = await h_with(pvc("data", cls=cls), classes=[standard(provisioner="ebs.csi.aws.com", name="ebs")])
    assert (await state(h, "data"))["status"]["phase"] == "Pending"
    assert h.api.all("persistentvolumes") == []
    assert [e["message"] for e in h.events(reason)][0].startswith(message)


@pytest.mark.parametrize("policy,remains", [("Delete", None), ("Retain", "Released")])
async def test_deleting_the_claim_reclaims_the_provisioned_volume(tmp_path, policy, remains):
    h = await h_with(pvc("www", cls="standard"), classes=[standard(policy)], tmp=tmp_path)
    name = (await state(h, "www"))["spec"]["volumeName"]
    os.makedirs(tmp_path / name)
    (tmp_path / name / "index.html").write_text("hello")
    await h.api.delete("persistentvolumeclaims", "www", "default")
    await h.run()
    left = [v for v in h.api.all("persistentvolumes") if v["metadata"]["name"] == name]
    assert [v["status"]["phase"] for v in left] == ([remains] if remains else [])
    assert (tmp_path / name).exists() is bool(remains)


async def test_a_manual_volume_with_delete_policy_fails_to_reclaim_and_a_retained_one_is_not_reused():
    h = await h_with(pv("manual", policy="Delete"), pv("kept", "2Gi"), pvc("a", cls=""), pvc("b", "2Gi", cls=""))
    await h.api.delete("persistentvolumeclaims", "a", "default")
    await h.api.delete("persistentvolumeclaims", "b", "default")
    await h.run()
    assert (await h.api.get("persistentvolumes", "manual"))["status"]["phase"] == "Failed"
    assert (await h.api.get("persistentvolumes", "kept"))["status"]["phase"] == "Released"
    await h.api.create("persistentvolumeclaims", pvc("again", "1Gi", cls=""))
    await h.run()
    assert (await state(h, "again"))["status"]["phase"] == "Pending"      # Released volumes are not rebound


async def test_sync_is_idempotent():
    h = await h_with(pv("fit"), pvc("data", cls=""))
    before = {(o["metadata"]["name"], o["metadata"]["resourceVersion"])
              for r in ("persistentvolumes", "persistentvolumeclaims") for o in h.api.all(r)}
    ctl = h.controllers[0]
    ctl.queue.add("default/data")
    ctl.queue.add("fit")
    await h.run()
    after = {(o["metadata"]["name"], o["metadata"]["resourceVersion"])
             for r in ("persistentvolumes", "persistentvolumeclaims") for o in h.api.all(r)}
    assert after == before


async def test_wait_for_first_consumer_binds_once_a_pod_using_the_claim_is_scheduled(tmp_path):
    local = {**standard(name="local"), "volumeBindingMode": "WaitForFirstConsumer"}
    h = await h_with(pvc("data", cls="local"), classes=[local], tmp=tmp_path)
    assert (await state(h, "data"))["status"]["phase"] == "Pending" and h.api.all("persistentvolumes") == []
    assert [e["message"] for e in h.events("WaitForFirstConsumer")][0] == (
        "waiting for first consumer to be created before binding")
    user = {"metadata": {"name": "user", "namespace": "default"},
            "spec": {"containers": [{"name": "c", "image": "busybox"}],
                     "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "data"}}]}}
    await h.api.create("pods", user)
    await h.run()
    assert (await state(h, "data"))["status"]["phase"] == "Pending"          # created, not yet scheduled
    await h.api.post_subresource("pods", "user", "binding", {"target": {"name": "w2"}}, "default")
    await h.run()
    c = await state(h, "data")
    assert c["status"]["phase"] == "Bound"
    v = await h.api.get("persistentvolumes", c["spec"]["volumeName"])
    assert v["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["w2"]}]


async def test_wait_for_first_consumer_provisions_on_the_node_the_scheduler_selected(tmp_path):
    """The scheduler's selected-node annotation is enough (no pod needs to be bound yet), and an
    Available volume of the class is not taken: the scheduler found none on that node."""
    local = {**standard(name="local"), "volumeBindingMode": "WaitForFirstConsumer"}
    elsewhere = pv("on-w1", cls="local")
    h = await h_with(elsewhere, pvc("data", cls="local"), classes=[local], tmp=tmp_path)
    assert (await state(h, "data"))["status"]["phase"] == "Pending"
    await h.api.patch("persistentvolumeclaims", "data",
                      {"metadata": {"annotations": {"volume.kubernetes.io/selected-node": "w3"}}}, "default")
    await h.run()
    c = await state(h, "data")
    assert c["status"]["phase"] == "Bound" and c["spec"]["volumeName"].startswith("pvc-")
    v = await h.api.get("persistentvolumes", c["spec"]["volumeName"])
    assert v["spec"]["nodeAffinity"]["required"]["nodeSelectorTerms"][0]["matchExpressions"] == [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": ["w3"]}]
    assert (await h.api.get("persistentvolumes", "on-w1"))["status"]["phase"] == "Available"


async def test_wait_for_first_consumer_completes_a_volume_the_scheduler_pre_bound():
    local = {**standard(name="local", provisioner="kubernetes.io/no-provisioner"),
             "volumeBindingMode": "WaitForFirstConsumer"}
    h = await h_with(pv("local-w2", cls="local"), pvc("data", cls="local"), classes=[local])
    claim = await state(h, "data")
    await h.api.patch("persistentvolumes", "local-w2", {"spec": {"claimRef": {
        "namespace": "default", "name": "data", "uid": claim["metadata"]["uid"]}}})
    await h.run()
    c = await state(h, "data")
    assert c["status"]["phase"] == "Bound" and c["spec"]["volumeName"] == "local-w2"
