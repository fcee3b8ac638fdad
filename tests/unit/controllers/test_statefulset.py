"""StatefulSet controller (with a simulated kubelet) on the FakeApi: ordered creation and removal,
Parallel, identity, claims, rolling update with partition, OnDelete, status."""
from __future__ import annotations

from labkube.controllers.statefulset import StatefulSetController

from .harness import Harness


def sts(replicas=3, image="busybox:1", **spec):
    return {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
            "spec": {"replicas": replicas, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                     "template": {"metadata": {"labels": {"app": "db"}},
                                  "spec": {"containers": [{"name": "c", "image": image}]}}, **spec}}


async def make(obj, kubelet=True):
    h = Harness(StatefulSetController)
    await h.api.create("statefulsets", obj)
    await h.start()
    h.kubelet = kubelet
    await h.run()
    return h


def names(h):
    return sorted(p["metadata"]["name"] for p in h.pods() if not p["metadata"].get("deletionTimestamp"))


def images(h):
    return {p["metadata"]["name"]: p["spec"]["containers"][0]["image"] for p in h.pods()}


async def test_ordered_creation_waits_for_each_pod():
    h = await make(sts(3), kubelet=False)
    assert names(h) == ["db-0"]                 # db-0 is not ready yet
    await h.ready("db-0")
    await h.run()
    assert names(h) == ["db-0", "db-1"]
    p = await h.api.get("pods", "db-1", "default")
    assert p["spec"]["hostname"] == "db-1" and p["spec"]["subdomain"] == "db"
    assert p["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == "db-1"
    assert p["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == "1"


async def test_parallel_and_status():
    h = await make(sts(3, podManagementPolicy="Parallel"))
    assert names(h) == ["db-0", "db-1", "db-2"]
    s = (await h.api.get("statefulsets", "db", "default"))["status"]
    assert (s["replicas"], s["readyReplicas"], s["updatedReplicas"], s["currentReplicas"]) == (3, 3, 3, 3)
    assert s["currentRevision"] == s["updateRevision"] and s["updateRevision"].startswith("db-")


async def test_scale_down_from_the_highest_ordinal_and_claims():
    claim = {"metadata": {"name": "data"}, "spec": {"accessModes": ["ReadWriteOnce"],
                                                     "resources": {"requests": {"storage": "1Gi"}}}}
    h = await make(sts(3, volumeClaimTemplates=[claim]))
    assert sorted(c["metadata"]["name"] for c in h.api.all("persistentvolumeclaims")) == ["data-db-0", "data-db-1", "data-db-2"]
    vol = (await h.api.get("pods", "db-2", "default"))["spec"]["volumes"]
    assert vol == [{"name": "data", "persistentVolumeClaim": {"claimName": "data-db-2"}}]
    h.kubelet = False
    await h.api.patch("statefulsets", "db", {"spec": {"replicas": 1}}, namespace="default")
    await h.run()
    terminating = [p["metadata"]["name"] for p in h.pods() if p["metadata"].get("deletionTimestamp")]
    assert terminating == ["db-2"]              # one at a time, highest first
    h.kubelet = True
    await h.run()
    assert names(h) == ["db-0"]
    assert len(h.api.all("persistentvolumeclaims")) == 3      # claims are kept


async def test_rolling_update_with_partition_then_all():
    h = await make(sts(3, updateStrategy={"type": "RollingUpdate", "rollingUpdate": {"partition": 1}}))
    await h.api.patch("statefulsets", "db", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:2"}]}}}}, namespace="default")
    await h.run()
    assert images(h) == {"db-0": "busybox:1", "db-1": "busybox:2", "db-2": "busybox:2"}
    s = (await h.api.get("statefulsets", "db", "default"))["status"]
    assert s["updatedReplicas"] == 2 and s["currentRevision"] != s["updateRevision"]
    await h.api.patch("statefulsets", "db", {"spec": {"updateStrategy": {"rollingUpdate": {"partition": 0}}}},
                      namespace="default")
    await h.run()
    assert set(images(h).values()) == {"busybox:2"}
    s = (await h.api.get("statefulsets", "db", "default"))["status"]
    assert s["currentRevision"] == s["updateRevision"] and s["currentReplicas"] == 3


async def test_on_delete_and_failed_pod_recreated():
    h = await make(sts(2, updateStrategy={"type": "OnDelete"}))
    await h.api.patch("statefulsets", "db", {"spec": {"template": {"spec": {"containers": [
        {"name": "c", "image": "busybox:2"}]}}}}, namespace="default")
    await h.run()
    assert set(images(h).values()) == {"busybox:1"}
    await h.api.delete("pods", "db-1", "default")
    await h.run()
    assert images(h) == {"db-0": "busybox:1", "db-1": "busybox:2"}
    p = await h.api.get("pods", "db-0", "default")
    p["status"]["phase"] = "Failed"
    await h.api.replace("pods", "db-0", p, "default", subresource="status")
    await h.run()
    assert images(h) == {"db-0": "busybox:2", "db-1": "busybox:2"}
