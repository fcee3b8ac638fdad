"""A pod's binding hands the object it stored over to the store (Registry.guaranteed_update_stored ->
Storage.hand_over), and the pod's next write (its status write) takes it instead of decoding the
text the binding stored (SqliteStorage.parse). On a table of stored pods (with field managers of
their own, labels, owner references, a status of another manager), writes between the binding and
the table's patch (none, a label patch, a status write by another manager, a failed one, a
refused second binding, a write straight to the store) and status patches of every form (merge,
strategic, JSON; Running, invalid, malformed, preconditions, spec or metadata changes, no change),
each applied twice through rest.patch_stored as the direct path calls it, followed by a second
binding and a label patch, the replies, errors, stored texts, revisions and watch events equal those
of the earlier path (nothing handed over). The direct path's bytes (fastwrite.write) are compared
too, and the store's side of the hand-over (only that text, once, bounded) is checked on its own."""
import copy

import pytest

from labkube import jsonio
from labkube.api import managedfields
from labkube.api.managedfields import Manager
from labkube.api.patch import JSON, MERGE, STRATEGIC
from labkube.api.resources import resource
from labkube.apiserver import fastwrite, subresources
from labkube.apiserver.allocator import ServiceAllocator
from labkube.apiserver.registry import Registry
from labkube.apiserver.rest import patch_stored
from labkube.apiserver.routing import plain_target
from labkube.apiserver.subresources import bind_pod
from labkube.apiserver.tls import UserInfo
from labkube.storage import open_storage, sqlite

PODS = resource("pods")
KUBELET = Manager("kubelet", "Update", "status")
OTHER = Manager("node-problem-detector", "Update", "status")
RUNNING = {"phase": "Running", "podIP": "10.244.1.5", "hostIP": "10.200.0.10", "hostIPs": [{"ip": "10.200.0.10"}],
           "startTime": "2026-12-03T10:00:00Z", "qosClass": "Burstable",
           "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": "2026-12-03T10:00:00Z"},
                          {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": "2026-12-03T10:00:02Z"}],
           "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0, "image": "nginx",
                                  "state": {"running": {"startedAt": "2026-12-03T10:00:00Z"}}}]}
OWNED = {"metadata": {"name": "owned", "generateName": "rs-", "labels": {"app": "web", "tier": "x"},
                      "annotations": {"a": "b"}, "finalizers": ["example.com/keep"],
                      "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs",
                                           "uid": "0d1f2a3b-1111", "controller": True, "blockOwnerDeletion": True}]},
         "spec": {"containers": [{"name": "c", "image": "nginx",
                                  "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
                  "tolerations": [{"key": "k", "operator": "Exists"}]}}

PODS_STORED = {  # name -> (pod as created, writes before the binding: (sub, manager, ct, body))
    "plain": ({"metadata": {"name": "plain"}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}, []),
    "owned": (OWNED, [(None, Manager("labeller", "Update"), MERGE, {"metadata": {"labels": {"team": "a"}}}),
                      ("status", OTHER, MERGE, {"status": {"message": "hello"}})]),
    "kubelet before": (OWNED, [("status", KUBELET, STRATEGIC, {"status": {"phase": "Pending", "conditions": [
        {"type": "Initialized", "status": "True"}]}})]),
}

BETWEEN = {  # writes between the binding and the table's patch
    "nothing": [],
    "a label patch": [(None, Manager("labeller", "Update"), MERGE, {"metadata": {"labels": {"between": "1"}}})],
    "another manager's status": [("status", OTHER, MERGE, {"status": {"reason": "r"}})],
    "a refused binding": [("binding", None, None, {"target": {"name": "n2"}})],
    "a failed status patch": [("status", OTHER, MERGE, {"status": {"phase": 3}})],
    "a write straight to the store": [("store", None, None, {"straight": "1"})],
}

PATCHES = [  # (what, content type, patch body)
    ("merge: the hollow kubelet's Running status", MERGE, {"status": RUNNING}),
    ("strategic: the kubelet's Running status", STRATEGIC, {"status": RUNNING}),
    ("merge: status", MERGE, {"status": {"phase": "Running", "reason": "r"}}),
    ("merge: a status member removed", MERGE, {"status": {"qosClass": None}}),
    ("strategic: a condition deleted", STRATEGIC, {"status": {"conditions": [{"type": "PodScheduled",
                                                                               "$patch": "delete"}]}}),
    ("merge: status null", MERGE, {"status": None}),
    ("merge: status of the wrong type", MERGE, {"status": "Running"}),
    ("merge: an invalid phase type", MERGE, {"status": {"phase": 5}}),
    ("merge: an invalid condition", MERGE, {"status": {"conditions": [{"status": "True"}]}}),
    ("merge: a label too (ignored)", MERGE, {"metadata": {"labels": {"x": "y"}}, "status": {"phase": "Running"}}),
    ("merge: labels of the wrong type", MERGE, {"metadata": {"labels": "x"}}),
    ("merge: metadata null", MERGE, {"metadata": None, "status": {"phase": "Running"}}),
    ("merge: the name changed", MERGE, {"metadata": {"name": "other"}}),
    ("merge: a stale resourceVersion", MERGE, {"metadata": {"resourceVersion": "1"}, "status": {"phase": "x"}}),
    ("merge: spec changed (ignored)", MERGE, {"spec": {"nodeName": "n9", "containers": []},
                                              "status": {"phase": "Running"}}),
    ("merge: spec of the wrong type", MERGE, {"spec": {"nodeName": 5}}),
    ("merge: spec null", MERGE, {"spec": None, "status": {"phase": "Running"}}),
    ("merge: a toleration changed (ignored)", MERGE, {"spec": {"tolerations": []}, "status": {"phase": "Running"}}),
    ("merge: an unknown top-level member", MERGE, {"foo": {"bar": 1}, "status": {"phase": "Running"}}),
    ("strategic: $retainKeys on status", STRATEGIC, {"status": {"$retainKeys": ["phase"], "phase": "Failed"}}),
    ("json: status phase", JSON, [{"op": "replace", "path": "/status/phase", "value": "Failed"}]),
    ("json: the node name", JSON, [{"op": "replace", "path": "/spec/nodeName", "value": "n7"}]),
    ("json: a failed test", JSON, [{"op": "test", "path": "/spec/nodeName", "value": "nope"}]),
    ("empty merge patch", MERGE, {}),
]


def _no_hand_over(self, key, value, rev):  # the earlier path: nothing handed over, every text decoded
    return None


async def _write(reg, name: str, sub, m, ct, body) -> object:
    if sub == "store":  # a write that decodes nothing through the store's parse
        k = f"/registry/pods/d/{name}"
        obj, _ = await reg.storage.get(k, True)
        obj["metadata"]["labels"] = body
        return await reg.storage.update(k, obj)
    t = plain_target(f"/api/v1/namespaces/d/pods/{name}" + (f"/{sub}" if sub else ""))
    try:
        if sub == "binding":
            return await bind_pod(reg, t, copy.deepcopy(body), False)
        text = jsonio.dumps(body)
        got, created, reply = await patch_stored(reg, t, sub, ct, jsonio.loads(text), False, m,
                                                 lambda: jsonio.loads(text))
        return jsonio.dumps_str(got), created, reply
    except Exception as e:  # noqa: BLE001 - the same error either way
        return repr(e)


async def _run(tmp_path, tag: str, stored: str, between: str, ct: str, body) -> list:
    storage = await open_storage({"backend": "sqlite", "path": str(tmp_path / f"{tag}.db"), "fsync": False})
    reg = Registry(storage, ServiceAllocator("10.96.0.0/12"))
    out = []
    try:
        await reg.create(resource("namespaces"), None, {"metadata": {"name": "d"}})
        pod, before = PODS_STORED[stored]
        await reg.create(PODS, "d", copy.deepcopy(pod), manager=Manager("kube-controller-manager", "Update"))
        name = pod["metadata"]["name"]
        k = f"/registry/pods/d/{name}"
        obj, rev0 = await storage.get(k)
        obj["metadata"]["uid"], obj["metadata"]["creationTimestamp"] = "u", "2026-12-03T09:00:00Z"
        await storage.update(k, obj)
        watch = storage.watch("/registry/pods/", rev0)
        for write in before:
            out.append(await _write(reg, name, *write))
        out.append(await _write(reg, name, "binding", None, None, {"target": {"name": "n1"}}))
        for write in BETWEEN[between]:
            out.append(await _write(reg, name, *write))
        for _ in range(2):  # the second write of the same patch may change nothing
            out.append(await _write(reg, name, "status", KUBELET, ct, body))
            out.append(await storage.get_raw(k, latest=True))
        out.append(await _write(reg, name, "binding", None, None, {"target": {"name": "n3"}}))
        out.append(await _write(reg, name, None, Manager("labeller", "Update"), MERGE,
                                {"metadata": {"labels": {"after": "1"}}}))
        out.append(await storage.get_raw(k, latest=True))
        while (ev := watch.next_event_nowait()) is not None or (ev := await watch.next_event(0.01)) != "timeout":
            if ev is None:
                break
            out.append((ev.type, ev.key, ev.rev, ev.text))
        watch.close()
    finally:
        await storage.close()
    return out


@pytest.fixture
def fixed_times(monkeypatch):
    monkeypatch.setattr(managedfields, "_now", lambda: "2026-12-03T10:00:01Z")
    monkeypatch.setattr(subresources, "now", lambda: "2026-12-03T10:00:02Z")


@pytest.mark.parametrize("between", sorted(BETWEEN))
@pytest.mark.parametrize("stored", sorted(PODS_STORED))
@pytest.mark.parametrize("what,ct,body", PATCHES, ids=[p[0] for p in PATCHES])
async def test_a_status_write_after_a_binding_answers_stores_and_tells_watchers_as_before(
        what, ct, body, stored, between, tmp_path, monkeypatch, fixed_times):
    taken = []
    real_parse = sqlite.SqliteStorage.parse

    def counting_parse(self, key, text, n=1):
        handed = self._handed.get(key)
        taken.append(handed is not None and handed[0] is text)
        return real_parse(self, key, text, n)
    monkeypatch.setattr(sqlite.SqliteStorage, "parse", counting_parse)
    got = await _run(tmp_path, "new", stored, between, ct, body)
    with monkeypatch.context() as m:
        m.setattr(sqlite.SqliteStorage, "hand_over", _no_hand_over)
        want = await _run(tmp_path, "old", stored, between, ct, body)
    assert got == want, what
    # the write after the binding took what the binding handed over, unless one wrote past the parse
    assert any(taken) == (between != "a write straight to the store"), taken


def _no_date(reply: bytes) -> bytes:
    head, _, body = reply.partition(b"\r\n\r\n")
    return b"\r\n".join(line for line in head.split(b"\r\n") if not line.startswith(b"Date:")) + b"\r\n\r\n" + body


async def _direct(tmp_path, tag: str) -> list:
    """Bindings and status patches as the scheduler and the hollow kubelets send them, through the
    direct path (fastwrite.write), for pods created as a ReplicaSet's."""
    storage = await open_storage({"backend": "sqlite", "path": str(tmp_path / f"{tag}.db"), "fsync": False})
    reg = Registry(storage, ServiceAllocator("10.96.0.0/12"))
    out = []
    try:
        await reg.create(resource("namespaces"), None, {"metadata": {"name": "d"}})
        rev0 = storage.revision
        watch = storage.watch("/registry/pods/", rev0)
        for i, (what, ct, body) in enumerate(PATCHES):
            pod = copy.deepcopy(OWNED)
            pod["metadata"]["name"] = name = f"p{i}"
            await reg.create(PODS, "d", pod, manager=Manager("labkube-controller-manager", "Update"))
            path = f"/api/v1/namespaces/d/pods/{name}/binding"
            w = fastwrite.Write("binding", plain_target(path), "POST", path, "application/json")
            raw = jsonio.dumps({"apiVersion": "v1", "kind": "Binding", "metadata": {"name": name, "namespace": "d"},
                                "target": {"apiVersion": "v1", "kind": "Node", "name": "hollow-1"}})
            out.append(_no_date(await fastwrite.write(reg, w, raw, "labkube-scheduler",
                                                      UserInfo("system:kube-scheduler"))))
            path = f"/api/v1/namespaces/d/pods/{name}/status"
            w = fastwrite.Write("status", plain_target(path), "PATCH", path, ct)
            for _ in range(2):
                out.append(_no_date(await fastwrite.write(reg, w, jsonio.dumps(body), "hollow-kubelet",
                                                          UserInfo("system:node:hollow-1", ("system:nodes",)))))
        while (ev := watch.next_event_nowait()) is not None or (ev := await watch.next_event(0.01)) != "timeout":
            if ev is None:
                break
            out.append((ev.type, ev.key, ev.rev, ev.text))
        watch.close()
    finally:
        await storage.close()
    return out


async def test_the_direct_path_replies_and_tells_watchers_as_before(tmp_path, monkeypatch, fixed_times):
    import itertools

    from labkube.api import strategy

    def fixed_ids():  # the same uids on both runs
        counter = itertools.count()
        return lambda: f"00000000-0000-4000-8000-{next(counter):012d}"
    monkeypatch.setattr(strategy, "new_uid", fixed_ids())
    monkeypatch.setattr(strategy, "now", lambda: "2026-12-03T09:00:00Z")
    got = await _direct(tmp_path, "new")
    with monkeypatch.context() as m:
        m.setattr(sqlite.SqliteStorage, "hand_over", _no_hand_over)
        m.setattr(strategy, "new_uid", fixed_ids())
        want = await _direct(tmp_path, "old")
    assert got == want
    assert any(b'"phase":"Running"' in o for o in got if isinstance(o, bytes))


async def test_the_store_gives_a_handed_over_object_once_for_its_own_text_only(tmp_path):
    storage = await open_storage({"backend": "sqlite", "path": str(tmp_path / "s.db"), "fsync": False})
    try:
        k = "/registry/pods/d/a"
        value = {"metadata": {"name": "a"}, "spec": {"x": [1, 2.5, None, True]}}
        rev = await storage.create(k, value)
        text, _ = await storage.get_raw(k, latest=True)
        storage.hand_over(k, value, rev - 1)  # not the revision stored: not kept
        assert storage.parse(k, text)[0] is not value
        storage.hand_over(k, value, rev)
        assert storage.parse(k, jsonio.dumps_str(value))[0] is not value  # an equal text, not that one
        storage.hand_over(k, value, rev)
        first, second = storage.parse(k, text, 2)
        assert first is value and second == value and second is not value
        assert storage.parse(k, text)[0] is not value  # once
        storage.hand_over(k, value, rev)
        other = {"metadata": {"name": "a"}, "spec": {}}
        await storage.update(k, other)  # a later write drops it
        assert k not in storage._handed
        rev = (await storage.get_raw(k, latest=True))[1]
        storage.hand_over(k, other, rev)
        await storage.delete(k)
        assert k not in storage._handed
        big = {"metadata": {"name": "b"}, "n": 10 ** 30}  # not written by orjson: not kept
        kb = "/registry/pods/d/b"
        rev = await storage.create(kb, big)
        storage.hand_over(kb, big, rev)
        assert kb not in storage._handed
        for i in range(sqlite.HANDED_MAX + 5):  # bounded: the oldest goes first
            ki = f"/registry/configmaps/d/c{i}"
            vi = {"metadata": {"name": f"c{i}"}}
            storage.hand_over(ki, vi, await storage.create(ki, vi))
        assert len(storage._handed) == sqlite.HANDED_MAX
        assert "/registry/configmaps/d/c0" not in storage._handed
        assert f"/registry/configmaps/d/c{sqlite.HANDED_MAX + 4}" in storage._handed
    finally:
        await storage.close()


async def test_the_base_storage_ignores_a_hand_over():
    from labkube.storage.interface import Storage
    assert Storage.hand_over(None, "k", {}, 1) is None


async def test_bind_pod_drops_what_the_registry_hands_over():
    """The binding's result is handed over because its caller drops it (bind_pod returns nothing)."""
    import inspect
    assert inspect.signature(bind_pod).return_annotation in (None, "None")
