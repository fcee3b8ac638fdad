"""The in-memory FakeApi: resourceVersions, generation, status, deletion semantics, watch resume and 410."""
from __future__ import annotations

import pytest

from labkube.client import ApiError
from labkube.client.fake import FakeApi


def pod(name, **spec):
    return {"metadata": {"name": name, "labels": {"app": "a"}}, "spec": {"containers": [{"name": "c"}], **spec}}


async def test_create_get_conflict_generation():
    api = FakeApi()
    p = await api.create("pods", pod("p1"))
    assert p["metadata"]["uid"] and p["status"]["phase"] == "Pending"
    with pytest.raises(ApiError) as ei:
        await api.create("pods", pod("p1"))
    assert ei.value.code == 409 and ei.value.reason == "AlreadyExists"
    d = await api.create("deployments", {"metadata": {"name": "d"}, "spec": {"replicas": 1}})
    assert d["metadata"]["generation"] == 1
    d2 = await api.patch("deployments", "d", {"spec": {"replicas": 2}}, namespace="default")
    assert d2["metadata"]["generation"] == 2
    d3 = await api.replace("deployments", "d", {**d2, "status": {"replicas": 9}}, namespace="default",
                           subresource="status")
    assert d3["metadata"]["generation"] == 2 and d3["status"] == {"replicas": 9}
    with pytest.raises(ApiError) as ei:   # stale resourceVersion
        await api.replace("deployments", "d", d2, namespace="default")
    assert ei.value.code == 409
    with pytest.raises(ApiError):
        await api.create("pods", pod("x"), namespace="nope")


async def test_pod_graceful_delete_and_binding():
    api = FakeApi()
    await api.create("pods", pod("p"))
    await api.post_subresource("pods", "p", "binding", {"target": {"kind": "Node", "name": "w1"}}, "default")
    with pytest.raises(ApiError) as ei:
        await api.post_subresource("pods", "p", "binding", {"target": {"kind": "Node", "name": "w2"}}, "default")
    assert ei.value.code == 409
    out = await api.delete("pods", "p", "default")
    assert out["metadata"]["deletionTimestamp"] and out["metadata"]["deletionGracePeriodSeconds"] == 30
    await api.delete("pods", "p", "default", grace_period_seconds=0)
    assert api.all("pods") == []


async def test_foreground_and_namespace_finalize():
    api = FakeApi()
    await api.create("replicasets", {"metadata": {"name": "r"}, "spec": {}})
    out = await api.delete("replicasets", "r", "default", propagation_policy="Foreground")
    assert out["metadata"]["finalizers"] == ["foregroundDeletion"]
    await api.patch("replicasets", "r", {"metadata": {"finalizers": None}}, namespace="default")
    assert api.all("replicasets") == []
    await api.create("namespaces", {"metadata": {"name": "t"}})
    ns = await api.delete("namespaces", "t")
    assert ns["status"]["phase"] == "Terminating"
    await api.replace("namespaces", "t", {**ns, "spec": {"finalizers": []}}, subresource="finalize")
    with pytest.raises(ApiError):
        await api.get("namespaces", "t")


async def test_watch_resume_and_expired():
    api = FakeApi()
    lst = await api.list_raw("pods", "default")
    rv = lst["metadata"]["resourceVersion"]
    await api.create("pods", pod("a"))
    await api.create("pods", {"metadata": {"name": "b", "labels": {"app": "other"}}, "spec": {}})
    await api.delete("pods", "a", "default")
    api.close_watches()
    w = api.watch("pods", "default", resource_version=rv, label_selector="app=a")
    got = []
    async for ev in w:
        got.append((ev["type"], ev["object"]["metadata"]["name"]))
        if len(got) == 2:
            break
    assert got == [("ADDED", "a"), ("DELETED", "a")]
    api.compact()
    with pytest.raises(ApiError) as ei:
        async for _ in api.watch("pods", "default", resource_version=rv):
            pass
    assert ei.value.code == 410
    raw = [e async for e in api.watch("pods", "default", resource_version=rv, raise_errors=False)]
    assert raw == [{"type": "ERROR", "object": raw[0]["object"]}] and raw[0]["object"]["reason"] == "Expired"


async def test_merge_patch_resource_version_is_a_precondition():
    api = FakeApi()
    p = await api.create("pods", pod("p"))
    await api.patch("pods", "p", {"metadata": {"labels": {"a": "1"}}}, namespace="default")
    with pytest.raises(ApiError) as ei:
        await api.patch("pods", "p", {"metadata": {"labels": {"a": "2"}, "resourceVersion": p["metadata"]["resourceVersion"]}},
                        namespace="default")
    assert ei.value.code == 409
