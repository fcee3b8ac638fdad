"""rest.patch_stored with `decode` (the direct path's: it can decode the request's body again):
each attempt at the write applies a body of its own, a merge patch without copying its values.
On a table of status patches, with and without a retried attempt (the store refusing the first
one's revision once), the object returned, the stored text and the revision equal those of the
same patch through the copying path (`decode` not given)."""
import copy
import re

import pytest

from labkube import jsonio
from labkube.api import managedfields
from labkube.api.managedfields import Manager
from labkube.api.patch import JSON, MERGE, STRATEGIC
from labkube.api.resources import resource
from labkube.apiserver import rest
from labkube.apiserver.allocator import ServiceAllocator
from labkube.apiserver.paths import Target
from labkube.apiserver.registry import Registry
from labkube.storage import RevisionConflict, open_storage

PODS = resource("pods")
POD = {"metadata": {"name": "p", "labels": {"app": "web"}},
       "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}], "nodeName": "n1"},
       "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "True"}]}}
RUNNING = {"status": {"phase": "Running", "conditions": [
    {"type": "Ready", "status": "True", "lastProbeTime": None, "lastTransitionTime": "2026-12-03T10:00:00Z"},
    {"type": "PodScheduled", "status": "True", "lastProbeTime": None}],
    "hostIP": "10.200.0.10", "hostIPs": [{"ip": "10.200.0.10"}], "podIP": "10.244.1.5",
    "podIPs": [{"ip": "10.244.1.5"}], "startTime": "2026-12-03T10:00:00Z",
    "containerStatuses": [{"name": "c", "image": "busybox:1.36", "ready": True, "restartCount": 0,
                           "state": {"running": {"startedAt": "2026-12-03T10:00:00Z"}}, "lastState": {}}]}}

PATCHES = [  # (what, media type, body)
    ("the hollow kubelet's Running merge patch", MERGE, RUNNING),
    ("a merge patch removing a field", MERGE, {"status": {"conditions": None, "phase": "Failed"}}),
    ("a merge patch with a label (ignored)", MERGE, {"metadata": {"labels": {"x": "y"}}, **RUNNING}),
    ("a strategic merge patch", STRATEGIC, RUNNING),
    # strategic merge patches decoded for the write put their values into the result uncopied
    ("a strategic patch with null members in new and merged items", STRATEGIC, {"status": {"conditions": [
        {"type": "PodScheduled", "status": "False", "reason": None, "message": "m", "lastProbeTime": None},
        {"type": "Initialized", "status": "True", "lastProbeTime": None, "x": {"a": None, "b": [None, {"c": None}]}}],
        "containerStatuses": [{"name": "c", "state": {"waiting": {"reason": None}}, "lastState": {}}],
        "nominatedNodeName": None, "phase": "Running"}}),
    ("a strategic patch deleting a field, adding objects", STRATEGIC, {"status": {
        "conditions": None, "phase": "Failed", "reason": "Evicted", "resize": {"a": [1, 2.5, True, "é"]}}}),
    ("a strategic patch of labels and status", STRATEGIC, {"metadata": {"labels": {"x": "y", "app": None}}, **RUNNING}),
    ("a JSON patch", JSON, [{"op": "replace", "path": "/status/phase", "value": "Succeeded"}]),
    ("a merge patch with a stale resourceVersion", MERGE, {"metadata": {"resourceVersion": "1"}, **RUNNING}),
]


async def _write(tmp_path, name, ct, body, decoded: bool, retry: bool):
    st = await open_storage({"backend": "sqlite", "path": str(tmp_path / f"{name}.db"), "fsync": False})
    reg = Registry(st, ServiceAllocator("10.96.0.0/12"))
    try:
        await reg.create(resource("namespaces"), None, {"metadata": {"name": "d"}})
        await reg.create(PODS, "d", copy.deepcopy(POD), manager=Manager("kubectl", "Update"))
        raw = jsonio.dumps(body)
        decodes = []
        if retry:  # the store refuses the first attempt's revision once: guaranteed_update tries again
            update = st.update

            async def once(key, value, expected_rev=None):
                if "refused" not in decodes:
                    decodes.append("refused")
                    raise RevisionConflict("once", key)
                return await update(key, value, expected_rev)
            st.update = once
        decode = (lambda: decodes.append("decoded") or jsonio.loads(raw)) if decoded else None
        try:
            obj, _, _ = await rest.patch_stored(reg, Target(PODS, "d", "p", "status"), "status", ct,
                                                jsonio.loads(raw), False, Manager("kubelet", "Update", "status"),
                                                decode)
            result = jsonio.dumps_str(obj)
        except Exception as e:  # noqa: BLE001 - the same error either way
            result = repr(e)
        text, rev = await st.get_raw("/registry/pods/d/p")
        # the server-made uid and creation time differ between the two stores
        return [re.sub(r'"(uid|creationTimestamp)":"[^"]*"', "-", x) for x in (result, text)] + [rev], decodes
    finally:
        await st.close()


@pytest.mark.parametrize("retry", [False, True], ids=["one attempt", "a retried attempt"])
@pytest.mark.parametrize("ct,body", [p[1:] for p in PATCHES], ids=[p[0] for p in PATCHES])
async def test_a_decoded_patch_writes_what_the_copying_one_did(tmp_path, monkeypatch, ct, body, retry):
    monkeypatch.setattr(managedfields, "_now", lambda: "2026-12-03T10:00:00Z")
    copying, _ = await _write(tmp_path, "copying", ct, body, False, retry)
    decoded, decodes = await _write(tmp_path, "decoded", ct, body, True, retry)
    assert decoded == copying
    stale = "resourceVersion" in str(body)  # 409 before any attempt is stored
    # the first attempt takes the body handed in; only a retry decodes another
    assert decodes == ([] if not retry or stale else ["refused", "decoded"])
