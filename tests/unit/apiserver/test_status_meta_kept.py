"""A pure status write whose mutation hands the metadata back as it got it (registry._meta_kept: the
stored metadata, which prepare_update keeps) neither type-checks nor (for a pod, whose spec is kept
too) validates that metadata again. On a table of status patches (with and without metadata, spec or
odd top-level members, invalid ones, preconditions), on stored pods with several field managers and
on a Deployment, each applied twice through rest.patch_stored as the direct path calls it, the
replies, errors, stored texts and revisions equal those of the earlier path (_meta_kept False)."""
import copy

import pytest

from labkube import jsonio
from labkube.api import managedfields
from labkube.api.managedfields import Manager
from labkube.api.patch import JSON, MERGE, STRATEGIC
from labkube.api.resources import resource
from labkube.api.shape import shape_error
from labkube.api.validation import validate
from labkube.apiserver import registry as registry_module
from labkube.apiserver.allocator import ServiceAllocator
from labkube.apiserver.registry import Registry
from labkube.apiserver.rest import patch_stored
from labkube.apiserver.routing import plain_target
from labkube.storage import open_storage

PODS, DEPLOYMENTS = resource("pods"), resource("deployments")
KUBELET = Manager("kubelet", "Update", "status")
OTHER = Manager("node-problem-detector", "Update", "status")
RUNNING = {"phase": "Running", "podIP": "10.244.1.5", "hostIP": "10.200.0.10", "hostIPs": [{"ip": "10.200.0.10"}],
           "startTime": "2026-12-03T10:00:00Z",
           "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": "2026-12-03T10:00:00Z"},
                          {"type": "PodScheduled", "status": "True", "lastProbeTime": None}],
           "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                  "state": {"running": {"startedAt": "2026-12-03T10:00:00Z"}}}]}

PODS_STORED = {  # name -> (pod as created, writes before the table's patch: (sub, manager, ct, body))
    "plain": ({"metadata": {"name": "plain"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}, []),
    "owned": ({"metadata": {"name": "owned", "generateName": "rs-", "labels": {"app": "web", "tier": "x"},
                            "annotations": {"a": "b"}, "finalizers": ["example.com/keep"],
                            "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                                                 "uid": "0d1f2a3b-1111", "controller": True,
                                                 "blockOwnerDeletion": True}]},
               "spec": {"containers": [{"name": "c", "image": "nginx",
                                        "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
                        "nodeName": "n1"}},
              [(None, Manager("labeller", "Update"), MERGE, {"metadata": {"labels": {"team": "a"}}}),
               ("status", KUBELET, STRATEGIC, {"status": {"phase": "Pending", "conditions": [
                   {"type": "PodScheduled", "status": "True"}]}}),
               ("status", OTHER, MERGE, {"status": {"message": "hello"}})]),
}

PATCHES = [  # (what, content type, patch body)
    ("strategic: the kubelet's Running status", STRATEGIC, {"status": RUNNING}),
    ("merge: status", MERGE, {"status": {"phase": "Running", "reason": "r"}}),
    ("merge: a status member removed", MERGE, {"status": {"message": None}}),
    ("strategic: a condition deleted", STRATEGIC, {"status": {"conditions": [{"type": "PodScheduled",
                                                                               "$patch": "delete"}]}}),
    ("merge: status null", MERGE, {"status": None}),
    ("merge: status of the wrong type", MERGE, {"status": "Running"}),
    ("strategic: status a list", STRATEGIC, {"status": [1]}),
    ("merge: a label too (ignored)", MERGE, {"metadata": {"labels": {"x": "y"}}, "status": {"phase": "Running"}}),
    ("merge: a label of the wrong type", MERGE, {"metadata": {"labels": {"x": 1}}, "status": {"phase": "Running"}}),
    ("merge: labels of the wrong type", MERGE, {"metadata": {"labels": "x"}}),
    ("merge: an invalid label value (ignored)", MERGE, {"metadata": {"labels": {"x": "a b"}}}),
    ("merge: metadata null", MERGE, {"metadata": None, "status": {"phase": "Running"}}),
    ("merge: metadata of the wrong type", MERGE, {"metadata": "x"}),
    ("merge: generation of the wrong type", MERGE, {"metadata": {"generation": "1"}}),
    ("merge: the name changed", MERGE, {"metadata": {"name": "other"}}),
    ("merge: a stale resourceVersion", MERGE, {"metadata": {"resourceVersion": "1"}, "status": {"phase": "x"}}),
    ("merge: spec changed (ignored)", MERGE, {"spec": {"nodeName": "n9"}, "status": {"phase": "Running"}}),
    ("merge: spec of the wrong type", MERGE, {"spec": {"nodeName": 5}}),
    ("merge: spec null", MERGE, {"spec": None, "status": {"phase": "Running"}}),
    ("merge: an unknown top-level member", MERGE, {"foo": {"bar": 1}, "status": {"phase": "Running"}}),
    ("merge: apiVersion and kind", MERGE, {"apiVersion": "v2", "kind": "Other", "status": {"phase": "Running"}}),
    ("strategic: $retainKeys on status", STRATEGIC, {"status": {"$retainKeys": ["phase"], "phase": "Failed"}}),
    ("json: status phase", JSON, [{"op": "replace", "path": "/status/phase", "value": "Failed"}]),
    ("json: a label", JSON, [{"op": "add", "path": "/metadata/labels", "value": {"x": "y"}}]),
    ("empty merge patch", MERGE, {}),
]


async def _run(tmp_path, tag: str, stored: str, ct: str, body, kept: bool) -> list:
    storage = await open_storage({"backend": "sqlite", "path": str(tmp_path / f"{tag}{kept}.db"), "fsync": False})
    reg = Registry(storage, ServiceAllocator("10.96.0.0/12"))
    out = []
    try:
        await reg.create(resource("namespaces"), None, {"metadata": {"name": "d"}})
        pod, before = PODS_STORED[stored]
        await reg.create(PODS, "d", copy.deepcopy(pod), manager=Manager("kube-controller-manager", "Update"))
        name = pod["metadata"]["name"]
        k = f"/registry/pods/d/{name}"
        obj, _ = await storage.get(k)
        obj["metadata"]["uid"], obj["metadata"]["creationTimestamp"] = "u", "2026-12-03T09:00:00Z"
        await storage.update(k, obj)
        for sub, m, bct, b in before:
            t = plain_target(f"/api/v1/namespaces/d/pods/{name}" + (f"/{sub}" if sub else ""))
            await patch_stored(reg, t, sub, bct, copy.deepcopy(b), False, m)
        t = plain_target(f"/api/v1/namespaces/d/pods/{name}/status")
        for _ in range(2):  # the second write of the same patch may change nothing
            text = jsonio.dumps(body)
            try:
                got, created, reply = await patch_stored(reg, t, "status", ct, jsonio.loads(text), False, KUBELET,
                                                         lambda: jsonio.loads(text))
                out.append((jsonio.dumps_str(got), created, reply))
            except Exception as e:  # noqa: BLE001 - the same error either way
                out.append(repr(e))
            out.append(await storage.get_raw(k))
    finally:
        await storage.close()
    return out


@pytest.mark.parametrize("stored", sorted(PODS_STORED))
@pytest.mark.parametrize("what,ct,body", PATCHES, ids=[p[0] for p in PATCHES])
async def test_a_status_patch_keeping_the_metadata_answers_and_stores_as_before(what, ct, body, stored, tmp_path,
                                                                                monkeypatch):
    monkeypatch.setattr(managedfields, "_now", lambda: "2026-12-03T10:00:01Z")
    got = await _run(tmp_path, "new", stored, ct, body, True)
    with monkeypatch.context() as m:
        m.setattr(registry_module, "_meta_kept", lambda shared, new, handed: False)  # the earlier path
        want = await _run(tmp_path, "old", stored, ct, body, False)
    assert got == want, what


DEPLOYMENT = {"metadata": {"name": "web", "labels": {"app": "web"}},
              "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                       "template": {"metadata": {"labels": {"app": "web"}},
                                    "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
DEPLOYMENT_PATCHES = [
    ("merge: status", MERGE, {"status": {"replicas": 2, "readyReplicas": 1}}),
    ("merge: status of the wrong type", MERGE, {"status": 3}),
    ("merge: a label too (ignored)", MERGE, {"metadata": {"labels": {"x": "y"}}, "status": {"replicas": 1}}),
    ("merge: labels of the wrong type", MERGE, {"metadata": {"labels": ["x"]}}),
    ("merge: spec of the wrong type", MERGE, {"spec": {"replicas": "2"}}),
]


@pytest.mark.parametrize("what,ct,body", DEPLOYMENT_PATCHES, ids=[p[0] for p in DEPLOYMENT_PATCHES])
async def test_a_deployment_status_patch_answers_and_stores_as_before(what, ct, body, tmp_path, monkeypatch):
    monkeypatch.setattr(managedfields, "_now", lambda: "2026-12-03T10:00:01Z")
    results = []
    for kept in (True, False):
        storage = await open_storage({"backend": "sqlite", "path": str(tmp_path / f"{kept}.db"), "fsync": False})
        reg = Registry(storage, ServiceAllocator("10.96.0.0/12"))
        try:
            await reg.create(resource("namespaces"), None, {"metadata": {"name": "d"}})
            await reg.create(DEPLOYMENTS, "d", copy.deepcopy(DEPLOYMENT), manager=Manager("kubectl", "Update"))
            k = "/registry/deployments/d/web"
            obj, _ = await storage.get(k)
            obj["metadata"]["uid"], obj["metadata"]["creationTimestamp"] = "u", "2026-12-03T09:00:00Z"
            await storage.update(k, obj)
            t = plain_target("/apis/apps/v1/namespaces/d/deployments/web/status")
            out = []
            with monkeypatch.context() as m:
                if not kept:
                    m.setattr(registry_module, "_meta_kept", lambda shared, new, handed: False)
                for _ in range(2):
                    try:
                        got, _, reply = await patch_stored(reg, t, "status", ct, copy.deepcopy(body), False,
                                                           Manager("deployment-controller", "Update", "status"))
                        out.append((jsonio.dumps_str(got), reply))
                    except Exception as e:  # noqa: BLE001 - the same error either way
                        out.append(repr(e))
                    out.append(await storage.get_raw(k))
            results.append(out)
        finally:
            await storage.close()
    assert results[0] == results[1], what


async def test_the_table_takes_the_new_path(tmp_path, monkeypatch):
    """The metadata is kept (and its checks left out) for a plain status patch, and not for one that
    writes into the metadata."""
    seen = []
    real = registry_module._meta_kept
    monkeypatch.setattr(registry_module, "_meta_kept", lambda *a: seen.append(real(*a)) or seen[-1])
    await _run(tmp_path, "x", "owned", STRATEGIC, {"status": RUNNING}, True)
    assert seen == [False, True, True, True, True]  # the main resource's label patch, then status writes
    seen.clear()
    await _run(tmp_path, "y", "owned", MERGE, {"metadata": {"labels": {"x": "y"}}}, True)
    assert seen == [False, True, True, False, False]


SHAPES = [  # objects whose metadata is the stored one's: the first error is the same without its walk
    {"metadata": {"name": "p", "labels": {"a": "b"}}, "spec": {"containers": []}, "status": "x"},
    {"metadata": {"name": "p"}, "spec": {"containers": "x"}, "status": {}},
    {"metadata": {"name": "p"}, "status": {"phase": 1}},
    {"metadata": {"name": "p"}, "status": None, "foo": 1},
    {"metadata": {"name": "p", "ownerReferences": [{"uid": "u"}]}, "spec": {"replicas": "1"}},
    {"metadata": {"name": "p"}, "spec": {}, "status": []},
]


@pytest.mark.parametrize("kind", ["pods", "deployments", "leases", "configmaps", ""])
@pytest.mark.parametrize("obj", SHAPES)
@pytest.mark.parametrize("spec_kept", [False, True])
def test_shape_error_with_well_typed_metadata_kept_is_the_full_check(kind, obj, spec_kept):
    assert shape_error(kind, obj, spec_kept, True) == shape_error(kind, obj, spec_kept)


def test_validate_of_a_pod_keeping_spec_and_metadata_is_the_full_validation_of_a_stored_pod():
    pod = {"apiVersion": "v1", "kind": "Pod",
           "metadata": {"name": "p", "namespace": "d", "uid": "u", "creationTimestamp": "t", "labels": {"a": "b"},
                        "resourceVersion": "5"},
           "spec": {"containers": [{"name": "c", "image": "nginx"}]}, "status": {"phase": "Running"}}
    old = copy.deepcopy(pod)
    assert validate(PODS, pod, old, True, True) == validate(PODS, pod, old, True) == []
    # only for a kind whose own rules read only the spec, and only with the spec kept as well
    bad = dict(pod, metadata=dict(pod["metadata"], name="Bad_Name"))
    assert validate(PODS, bad, old, False, True) == validate(PODS, bad, old) != []
    cm = {"metadata": {"name": "Bad_Name", "namespace": "d"}, "data": {}}
    assert validate(resource("configmaps"), cm, cm, True, True) == validate(resource("configmaps"), cm, cm) != []
