"""The stored JSON text a write hands back (`Registry.guaranteed_update_stored`, `update_stored`,
`rest.patch_stored`), which the direct path's replies are (fastwrite.py): on a table of writes,
the object each returns equals what the plain call (`guaranteed_update`, `update`, `patch_object`)
returns for the same write on a store in the same state, and the text, when there is one, is
that object's JSON byte for byte (`dumps(obj)`, the reply it replaces) and the text stored. Writes
that store nothing (a dry run, a write that changes nothing, a finished object's deletion) and a
store that cannot hand the text back hand back None."""
import asyncio
import copy
import re

import pytest

from labkube import jsonio
from labkube.api.managedfields import Manager
from labkube.api.patch import MERGE, STRATEGIC, JSON as JSON_PATCH
from labkube.api.resources import resource
from labkube.apiserver import deletion, rest
from labkube.apiserver.allocator import ServiceAllocator
from labkube.apiserver.paths import Target
from labkube.apiserver.registry import Registry
from labkube.storage import open_storage

PODS, LEASES, CMS = resource("pods"), resource("leases"), resource("configmaps")
POD = {"metadata": {"name": "p", "labels": {"app": "web"}, "finalizers": ["x/y"]},
       "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}
LEASE = {"metadata": {"name": "n1"}, "spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40}}
CM = {"metadata": {"name": "c"}, "data": {"a": "1"}}
KUBELET = Manager("kubelet", "Update", "status")
RUNNING = {"status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}],
                      "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}]}}


def _patch(ct, body, sub="status", dry=False, manager=KUBELET, res=PODS, name="p"):
    async def call(reg, stored: bool):
        t = Target(res, "d", name, sub)
        if stored:
            obj, created, text = await rest.patch_stored(reg, t, sub, ct, copy.deepcopy(body), dry, manager)
            return (obj, created), text
        return await rest.patch_object(reg, t, sub, ct, copy.deepcopy(body), dry, manager), None
    return call


def _put(res, name, body, dry=False, sub=None):
    async def call(reg, stored: bool):
        async def fill(obj):  # a PUT of the whole object carries what the client read
            cur = await reg.get(res, "d", name)
            return {**cur, **copy.deepcopy(body)}
        obj = await fill(body)
        m = Manager("kubectl", "Update")
        if stored:
            return await reg.update_stored(res, "d", name, obj, sub, dry, m)
        return await reg.update(res, "d", name, obj, sub, dry, m), None
    return call


def _finish(reg_name="p"):
    async def call(reg, stored: bool):
        def mutate(cur):
            cur["metadata"]["finalizers"] = []
            return cur
        if stored:
            return await reg.guaranteed_update_stored(PODS, "d", reg_name, mutate)
        return await reg.guaranteed_update(PODS, "d", reg_name, mutate), None
    return call


# (what, setup writes before it (as above), the write, whether a text comes back)
WRITES = [
    ("merge status patch", [], _patch(MERGE, RUNNING), True),
    ("strategic status patch", [], _patch(STRATEGIC, RUNNING), True),
    ("JSON status patch", [], _patch(JSON_PATCH, [{"op": "add", "path": "/status/phase", "value": "Failed"}]), True),
    ("status patch that changes nothing", [_patch(MERGE, RUNNING)], _patch(MERGE, RUNNING), False),
    ("empty merge patch", [], _patch(MERGE, {}), False),
    ("status patch, dry run", [], _patch(MERGE, RUNNING, dry=True), False),
    ("pod label patch", [], _patch(MERGE, {"metadata": {"labels": {"b": "2"}}}, sub=None,
                                   manager=Manager("kubectl", "Update")), True),
    ("lease PUT", [], _put(LEASES, "n1", {"spec": {"holderIdentity": "n1", "leaseDurationSeconds": 40,
                                                   "renewTime": "2026-12-03T10:00:00.000000Z"}}), True),
    ("lease PUT that changes nothing", [], _put(LEASES, "n1", {}), False),
    ("lease PUT, dry run", [], _put(LEASES, "n1", {"spec": {"holderIdentity": "n2"}}, dry=True), False),
    ("configmap PUT", [], _put(CMS, "c", {"data": {"a": "2", "b": "é ✓"}}), True),
    ("a deleted pod's last finalizer removed: deleted", [
        lambda reg, stored: deletion.delete(reg, PODS, "d", "p", {"gracePeriodSeconds": 0}, False)],
     _finish(), False),
    ("last finalizer removed of a pod not being deleted", [], _finish(), True),
]


async def _store(tmp_path, name):
    st = await open_storage({"backend": "sqlite", "path": str(tmp_path / f"{name}.db"), "fsync": False})
    reg = Registry(st, ServiceAllocator("10.96.0.0/12"))
    await reg.create(resource("namespaces"), None, {"metadata": {"name": "d"}})
    await reg.create(PODS, "d", copy.deepcopy(POD))
    await reg.create(LEASES, "d", copy.deepcopy(LEASE))
    await reg.create(CMS, "d", copy.deepcopy(CM))
    return st, reg


def _shape(result):
    """What a write returns, with the server-made times and uid (which differ between stores) out."""
    text = jsonio.dumps_str(result)
    for k in ("creationTimestamp", "deletionTimestamp", "time", "uid"):
        text = re.sub(f'"{k}":"[^"]*"', f'"{k}":"-"', text)
    return text


@pytest.mark.parametrize("setup,write,has_text", [w[1:] for w in WRITES], ids=[w[0] for w in WRITES])
async def test_stored_forms_return_the_plain_results_and_their_json(tmp_path, setup, write, has_text):
    outcomes = []
    for stored in (False, True):
        st, reg = await _store(tmp_path, stored)
        try:
            for s in setup:
                await s(reg, stored)
            result, text = await write(reg, stored)
            obj = result[0] if isinstance(result, tuple) else result
            outcomes.append(_shape(result))
            if stored:
                assert (text is not None) == has_text
                if text is not None:
                    assert text.encode() == jsonio.dumps(obj)
                    stored_texts = [t for _, t, _ in (await st.list_raw("/registry/"))[0]]
                    assert text in stored_texts
        finally:
            await st.close()
    assert outcomes[0] == outcomes[1]


async def test_no_text_from_a_store_that_cannot_answer_without_io(tmp_path, monkeypatch):
    st, reg = await _store(tmp_path, "noio")
    try:
        monkeypatch.setattr(st, "get_raw_nowait", lambda key: None)
        obj, _, text = await rest.patch_stored(reg, Target(PODS, "d", "p", "status"), "status", MERGE,
                                               copy.deepcopy(RUNNING), False, KUBELET)
        assert text is None and obj["status"]["phase"] == "Running"
    finally:
        await st.close()


async def test_concurrent_writes_hand_back_their_own_text_or_none(tmp_path):
    """Writes to one object at once: each text handed back is its own object's JSON (a write whose
    stored text was already replaced by the next one's commit gets None)."""
    st, reg = await _store(tmp_path, "many")
    try:
        t = Target(PODS, "d", "p", "status")
        results = await asyncio.gather(*(rest.patch_stored(reg, t, "status", MERGE, {"status": {"message": str(i)}},
                                                           False, KUBELET) for i in range(20)))
        assert sorted(o["status"]["message"] for o, _, _ in results) == sorted(str(i) for i in range(20))
        for obj, _, text in results:
            assert text is None or text.encode() == jsonio.dumps(obj)
        last = max(results, key=lambda r: int(r[0]["metadata"]["resourceVersion"]))
        assert last[2] is not None and last[2] == (await st.get_raw("/registry/pods/d/p"))[0]
    finally:
        await st.close()
