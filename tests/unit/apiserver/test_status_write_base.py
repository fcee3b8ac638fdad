"""A status write builds on the stored object without a third parse of it (registry._status_base): the
members its mutation left as handed are taken from its result, the others copied from the stored
object. The objects returned and stored equal, in value and in JSON text (key order included), those
of the write built on a full copy of the stored object (the earlier third parse), on a table of writes."""
import copy

import pytest

from labkube import jsonio
from labkube.api import managedfields
from labkube.api.managedfields import Manager
from labkube.api.memo import same_json
from labkube.api.patch import MERGE, STRATEGIC, JSON, apply_patch
from labkube.api.resources import resource
from labkube.apiserver import registry as registry_module
from labkube.apiserver.allocator import ServiceAllocator
from labkube.apiserver.registry import Registry
from labkube.storage import open_storage

PODS = resource("pods")
KUBELET = Manager("kubelet", "Update", "status")
RUNNING = {"phase": "Running", "podIP": "10.244.1.5", "hostIP": "10.200.0.10",
           "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None}],
           "containerStatuses": [{"name": "c", "ready": True, "state": {"running": {"startedAt": "t"}}}]}


def _patch(ct, body):
    return lambda cur: apply_patch(ct, cur, copy.deepcopy(body))


def _retyped(cur):
    cur["spec"]["terminationGracePeriodSeconds"] = 30.0   # equal in Python, not the same JSON
    cur["status"] = dict(RUNNING)
    return cur


def _reordered(cur):
    md = cur["metadata"]
    cur["metadata"] = {k: md[k] for k in reversed(md)}     # equal, another key order
    cur["status"] = dict(RUNNING)
    return cur


def _in_place(cur):
    cur["spec"]["containers"][0]["image"] = "changed"       # ignored by a status write
    cur["metadata"]["labels"]["app"] = "changed"
    cur["status"] = dict(RUNNING)
    return cur


def _whole_new(cur):
    return {"metadata": dict(cur["metadata"]), "spec": {"containers": []}, "status": dict(RUNNING)}


WRITES = [  # (what, mutate)
    ("the kubelet's strategic merge patch", _patch(STRATEGIC, {"status": RUNNING})),
    ("a merge patch that also sets a label (ignored)", _patch(MERGE, {"metadata": {"labels": {"x": "y"}},
                                                                      "status": {"phase": "Running"}})),
    ("a JSON patch (copies the object)", _patch(JSON, [{"op": "replace", "path": "/status/phase", "value": "Failed"}])),
    ("a spec value retyped in place", _retyped),
    ("metadata keys reordered", _reordered),
    ("spec and metadata changed in place (ignored)", _in_place),
    ("a whole new object without apiVersion and kind", _whole_new),
    ("status removed", lambda cur: {k: v for k, v in cur.items() if k != "status"}),
    ("a PUT of status: a new object, nothing as handed", lambda cur: jsonio.loads(jsonio.dumps(cur))),
]


async def _registry(tmp_path):
    storage = await open_storage({"backend": "sqlite", "path": str(tmp_path / "r.db"), "fsync": False})
    reg = Registry(storage, ServiceAllocator("10.96.0.0/12"))
    await reg.create(resource("namespaces"), None, {"metadata": {"name": "d"}})
    return reg


POD = {"metadata": {"name": "p", "labels": {"app": "web"}, "annotations": {"a": "b"}},
       "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}], "nodeName": "n1"}}


@pytest.mark.parametrize("what,mutate", WRITES, ids=[w[0] for w in WRITES])
async def test_a_status_write_returns_and_stores_what_a_full_copy_gave(what, mutate, tmp_path, monkeypatch):
    monkeypatch.setattr(managedfields, "_now", lambda: "2026-12-02T23:00:00Z")
    reg = await _registry(tmp_path)
    try:
        await reg.create(PODS, "d", copy.deepcopy(POD), manager=Manager("kubectl", "Update"))
        full_copy = lambda cur, new, handed, text, pure=False: jsonio.loads(text)  # noqa: E731 - the earlier third parse
        with monkeypatch.context() as m:
            m.setattr(registry_module, "_status_base", full_copy)
            want = await reg.guaranteed_update(PODS, "d", "p", mutate, "status", dry_run=True, manager=KUBELET)
        got = await reg.guaranteed_update(PODS, "d", "p", mutate, "status", dry_run=True, manager=KUBELET)
        assert jsonio.dumps(got) == jsonio.dumps(want), what
        stored = await reg.guaranteed_update(PODS, "d", "p", mutate, "status", manager=KUBELET)
        text, rev = await reg.storage.get_raw("/registry/pods/d/p")
        want["metadata"]["resourceVersion"] = str(rev)
        assert text == jsonio.dumps_str(want) == jsonio.dumps_str(stored), what
    finally:
        await reg.storage.close()


SAME_JSON = [  # (a, b, same)
    ({"a": [1, "x"]}, {"a": [1, "x"]}, True),
    ({"a": 1}, {"a": 1.0}, False),
    ({"a": 1}, {"a": True}, False),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, False),
    ({"a": float("nan")}, {"a": float("nan")}, False),
    ({"a": 2 ** 70}, {"a": 2 ** 70}, False),
]


@pytest.mark.parametrize("a,b,same", SAME_JSON)
def test_same_json_is_the_same_text_not_python_equality(a, b, same):
    assert same_json(a, b) is same


# patches as clients send them, through apply_patch (`pure`: rest.patch_stored passes it for every
# patch type but apply): status only, or also touching metadata, spec, lists, with directives
PATCHES = [  # (what, content type, patch body)
    ("merge: status", MERGE, {"status": RUNNING}),
    ("merge: status and a label", MERGE, {"metadata": {"labels": {"x": "y"}}, "status": {"phase": "Running"}}),
    ("merge: a label removed", MERGE, {"metadata": {"labels": {"app": None}}}),
    ("merge: spec and status", MERGE, {"spec": {"nodeName": "n2"}, "status": {"phase": "Failed"}}),
    ("merge: status conditions replaced twice", MERGE, {"status": {"conditions": [{"type": "A", "status": "True"}]}}),
    ("strategic: status", STRATEGIC, {"status": RUNNING}),
    ("strategic: containers merged by name", STRATEGIC, {"spec": {"containers": [{"name": "c", "image": "x"}]},
                                                          "status": {"phase": "Running"}}),
    ("strategic: a directive", STRATEGIC, {"metadata": {"labels": {"$patch": "replace", "z": "1"}},
                                           "status": {"conditions": [{"type": "Ready", "$patch": "delete"}]}}),
    ("strategic: $setElementOrder", STRATEGIC, {"status": {"$setElementOrder/conditions": [{"type": "Ready"}],
                                                           "conditions": [{"type": "Ready", "status": "False"}]}}),
    ("strategic: $retainKeys", STRATEGIC, {"metadata": {"$retainKeys": ["name"], "name": "p"}}),
    ("json: status", JSON, [{"op": "replace", "path": "/status/phase", "value": "Failed"}]),
    ("json: a label and status", JSON, [{"op": "add", "path": "/metadata/labels/x", "value": "y"},
                                        {"op": "add", "path": "/status/phase", "value": "Running"}]),
    ("json: move within metadata", JSON, [{"op": "move", "from": "/metadata/annotations/a",
                                           "path": "/metadata/annotations/b"}]),
    ("empty merge patch", MERGE, {}),
]


@pytest.mark.parametrize("what,ct,body", PATCHES, ids=[p[0] for p in PATCHES])
def test_apply_patch_leaves_what_it_is_handed_as_it_was(what, ct, body):
    """The contract `pure` relies on: the patched object is built anew, the original unchanged."""
    original = jsonio.loads(jsonio.dumps({**POD, "status": {"phase": "Pending", "conditions": [
        {"type": "Ready", "status": "False"}, {"type": "PodScheduled", "status": "True"}]}}))
    before = jsonio.dumps(original)
    apply_patch(ct, original, copy.deepcopy(body))
    assert jsonio.dumps(original) == before, what


@pytest.mark.parametrize("what,ct,body", PATCHES, ids=[p[0] for p in PATCHES])
async def test_a_pure_status_write_returns_and_stores_what_the_checked_one_did(what, ct, body, tmp_path, monkeypatch):
    """A status patch whose members left as handed are taken without comparing their JSON with the
    stored one's (`pure`) returns and stores the same text as the write that compares them."""
    monkeypatch.setattr(managedfields, "_now", lambda: "2026-12-02T23:00:00Z")
    out = []
    for pure in (False, True):
        storage = await open_storage({"backend": "sqlite", "path": str(tmp_path / f"{pure}.db"), "fsync": False})
        reg = Registry(storage, ServiceAllocator("10.96.0.0/12"))
        try:
            await reg.create(resource("namespaces"), None, {"metadata": {"name": "d"}})
            created = copy.deepcopy(POD)
            created["metadata"]["uid"] = "u"
            await reg.create(PODS, "d", created, manager=Manager("kubectl", "Update"))
            try:
                got = await reg.guaranteed_update(PODS, "d", "p", _patch(ct, body), "status", manager=KUBELET,
                                                  pure=pure)
            except Exception as e:  # noqa: BLE001 - the same error either way
                got = repr(e)
            text, rev = await reg.storage.get_raw("/registry/pods/d/p")
            md = jsonio.loads(text)["metadata"]
            # the server-made uid and creation time differ between the two stores
            strip = lambda s: s.replace(md["uid"], "-").replace(md["creationTimestamp"], "-")  # noqa: E731
            out.append((strip(got if isinstance(got, str) else jsonio.dumps_str(got)), strip(text), rev))
        finally:
            await reg.storage.close()
    assert out[0] == out[1], what


# a pure status write of a built-in resource parses the stored text once (registry._over): its
# mutation gets the stored object with its own metadata and status dicts, the rest shared; pod
# defaulting then writes into the shared spec. The writes below, on a pod stored as created and on
# one stored without the spec defaults (an older server's object: defaulting then changes the
# spec), return and store what the two-parse write did (pure=False), unchanged writes included.
UNCHANGED = [
    ("merge: status as stored", MERGE, {"status": {"phase": "Pending"}}),
    ("merge: nothing", MERGE, {}),
    ("merge: only a label (ignored)", MERGE, {"metadata": {"labels": {"x": "y"}}}),
    ("strategic: status as stored", STRATEGIC, {"status": {"qosClass": "BestEffort"}}),
]


def _undefaulted(obj):
    spec = obj["spec"]
    for k in ("enableServiceLinks", "tolerations", "dnsPolicy"):
        spec.pop(k, None)
    spec["containers"][0].pop("terminationMessagePolicy", None)
    return obj


@pytest.mark.parametrize("undefaulted", [False, True], ids=["stored as created", "stored without defaults"])
@pytest.mark.parametrize("what,ct,body", PATCHES + UNCHANGED, ids=[p[0] for p in PATCHES + UNCHANGED])
async def test_a_one_parse_status_write_equals_the_two_parse_one(what, ct, body, undefaulted, tmp_path, monkeypatch):
    monkeypatch.setattr(managedfields, "_now", lambda: "2026-12-02T23:00:00Z")
    out = []
    for pure in (False, True):
        storage = await open_storage({"backend": "sqlite", "path": str(tmp_path / f"{pure}.db"), "fsync": False})
        reg = Registry(storage, ServiceAllocator("10.96.0.0/12"))
        try:
            await reg.create(resource("namespaces"), None, {"metadata": {"name": "d"}})
            created = copy.deepcopy(POD)
            await reg.create(PODS, "d", created, manager=Manager("kubectl", "Update"))
            stored, _ = await storage.get("/registry/pods/d/p")
            stored["metadata"]["uid"], stored["metadata"]["creationTimestamp"] = "u", "t"
            if undefaulted:
                _undefaulted(stored)
            await storage.update("/registry/pods/d/p", stored)
            results = []
            for _ in range(2):  # the second write of the same patch changes nothing
                try:
                    got, text = await reg.guaranteed_update_stored(PODS, "d", "p", _patch(ct, body), "status",
                                                                   manager=KUBELET, pure=pure)
                    results.append((jsonio.dumps_str(got), text))
                except Exception as e:  # noqa: BLE001 - the same error either way
                    results.append(repr(e))
                results.append(await storage.get_raw("/registry/pods/d/p"))
            out.append(results)
        finally:
            await reg.storage.close()
    assert out[0] == out[1], what
