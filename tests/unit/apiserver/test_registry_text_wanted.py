"""Registry.guaranteed_update drops the stored text, so it no longer looks it up (text_wanted=False):
on a table of writes (a binding, a bound pod's binding, a label, a status write, an unchanged write,
a dry run, a namespace finalize, a stale precondition) it returns, stores and fails exactly as
guaranteed_update_stored(...)[0] does, which still hands the text back."""
import copy

import pytest

from labkube import jsonio
from labkube.api import errors, managedfields
from labkube.api.managedfields import Manager
from labkube.api.resources import resource
from labkube.apiserver import subresources
from labkube.apiserver.allocator import ServiceAllocator
from labkube.apiserver.registry import Registry
from labkube.apiserver.routing import plain_target
from labkube.storage import open_storage

PODS, NAMESPACES = resource("pods"), resource("namespaces")
POD = {"metadata": {"name": "p", "labels": {"app": "web"}}, "spec": {"containers": [{"name": "c", "image": "nginx"}]}}


def _bind(cur):
    cur["spec"]["nodeName"] = "n1"
    cur.setdefault("status", {})["conditions"] = [{"type": "PodScheduled", "status": "True"}]
    return cur


def _label(cur):
    cur["metadata"]["labels"]["x"] = "y"
    return cur


def _status(cur):
    cur["status"] = {"phase": "Running"}
    return cur


def _fail(cur):
    raise errors.conflict("pods/binding", "p", "already bound")


WRITES = [  # (what, resource, name, mutate, sub, keyword arguments)
    ("a binding", PODS, "p", _bind, "binding", {"changes": True}),
    ("a label", PODS, "p", _label, None, {"manager": Manager("kubectl", "Update")}),
    ("a status write", PODS, "p", _status, "status", {"manager": Manager("kubelet", "Update", "status")}),
    ("an unchanged write", PODS, "p", lambda cur: cur, None, {"manager": Manager("kubectl", "Update")}),
    ("a dry run", PODS, "p", _label, None, {"dry_run": True}),
    ("a failing mutation", PODS, "p", _fail, "binding", {"changes": True}),
    ("a stale precondition", PODS, "p", _label, None, {"precondition": "1"}),
    ("a namespace finalize", NAMESPACES, "d", lambda cur: cur.setdefault("spec", {}).update(finalizers=[]) or cur,
     "finalize", {}),
]


async def _store(tmp_path, tag):
    storage = await open_storage({"backend": "sqlite", "path": str(tmp_path / f"{tag}.db"), "fsync": False})
    reg = Registry(storage, ServiceAllocator("10.96.0.0/12"))
    await reg.create(NAMESPACES, None, {"metadata": {"name": "d", "uid": "u"}})
    await reg.create(PODS, "d", copy.deepcopy(POD), manager=Manager("kubectl", "Update"))
    for k in ("/registry/namespaces/d", "/registry/pods/d/p"):
        obj, _ = await storage.get(k)
        obj["metadata"]["uid"], obj["metadata"]["creationTimestamp"] = "u", "2026-12-03T09:00:00Z"
        await storage.update(k, obj)
    return reg


@pytest.mark.parametrize("what,res,name,mutate,sub,kw", WRITES, ids=[w[0] for w in WRITES])
async def test_guaranteed_update_is_the_stored_form_without_the_text(what, res, name, mutate, sub, kw, tmp_path,
                                                                      monkeypatch):
    monkeypatch.setattr(managedfields, "_now", lambda: "2026-12-03T10:00:01Z")
    out = []
    for stored in (False, True):
        reg = await _store(tmp_path, str(stored))
        looked = []
        real = reg._stored_text
        monkeypatch.setattr(reg, "_stored_text", lambda *a: looked.append(a) or real(*a))
        k = f"/registry/{res.name}/" + (f"d/{name}" if res.namespaced else name)
        try:
            results = []
            for _ in range(2):  # a bound pod's second binding fails; an unchanged write stores nothing
                try:
                    if stored:
                        got, text = await reg.guaranteed_update_stored(res, "d" if res.namespaced else None, name,
                                                                       mutate, sub, **kw)
                        assert text is None or text == (await reg.storage.get_raw(k))[0], what
                    else:
                        got = await reg.guaranteed_update(res, "d" if res.namespaced else None, name, mutate, sub,
                                                          **kw)
                    results.append(jsonio.dumps_str(got))
                except errors.ApiError as e:
                    results.append((e.code, str(e)))
                results.append(await reg.storage.get_raw(k))
            out.append(results)
            if not stored:
                assert looked == [], what
        finally:
            await reg.storage.close()
    assert out[0] == out[1], what


async def test_a_binding_through_bind_pod_stores_as_before(tmp_path):
    """bind_pod (guaranteed_update) binds and refuses a bound pod as it did."""
    reg = await _store(tmp_path, "b")
    try:
        t = plain_target("/api/v1/namespaces/d/pods/p/binding")
        await subresources.bind_pod(reg, t, {"target": {"name": "n1"}, "metadata": {"uid": "u"}}, False)
        pod = await reg.get(PODS, "d", "p")
        assert pod["spec"]["nodeName"] == "n1"
        assert [c["type"] for c in pod["status"]["conditions"]] == ["PodScheduled"]
        with pytest.raises(errors.ApiError) as e:
            await subresources.bind_pod(reg, t, {"target": {"name": "n2"}}, False)
        assert e.value.code == 409 and 'already assigned to node "n1"' in str(e.value)
    finally:
        await reg.storage.close()
