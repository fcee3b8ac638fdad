"""A binding parses the stored pod once (guaranteed_update's `changes`: its mutation changes the pod
whenever it returns, so no second copy is kept to tell an unchanged write by). On a table of
bindings, the outcome (the Status error, or none), the stored text and revision, and the watch
events equal those of the same binding through the earlier two-parse path (`changes` dropped)."""
import copy

import pytest

from labkube.api import errors, managedfields, meta, strategy
from labkube.api.resources import resource
from labkube.apiserver.allocator import ServiceAllocator
from labkube.apiserver.paths import Target
from labkube.apiserver.registry import Registry
from labkube.apiserver.subresources import bind_pod
from labkube.storage import open_storage

PODS = resource("pods")
POD = {"metadata": {"name": "p", "labels": {"app": "web"}},
       "spec": {"containers": [{"name": "c", "image": "busybox:1.36"}]}}


def _pod(**parts):
    out = {"metadata": dict(POD["metadata"]), "spec": dict(POD["spec"])}
    for k, v in parts.items():
        out.setdefault(k, {}).update(v)
    return out


BINDINGS = [  # (what, stored pod or None, Binding body, dry run)
    ("a pending pod", _pod(), {"target": {"name": "n1"}}, False),
    ("a pod with a PodScheduled=False condition", _pod(status={"conditions": [
        {"type": "PodScheduled", "status": "False", "reason": "Unschedulable"},
        {"type": "Initialized", "status": "True"}]}), {"target": {"name": "n1", "kind": "Node"}}, False),
    ("nodeName empty string", _pod(spec={"nodeName": ""}), {"target": {"name": "n2"}}, False),
    ("the uid precondition holds", _pod(), {"target": {"name": "n1"}, "metadata": {"uid": "UID"}}, False),
    ("the uid precondition fails", _pod(), {"target": {"name": "n1"}, "metadata": {"uid": "other"}}, False),
    ("already bound", _pod(spec={"nodeName": "n0"}), {"target": {"name": "n1"}}, False),
    ("being deleted", _pod(metadata={"finalizers": ["x/y"]}), {"target": {"name": "n1"}}, False),
    ("a dry run", _pod(), {"target": {"name": "n1"}}, True),
    ("no such pod", None, {"target": {"name": "n1"}}, False),
    ("no target name", _pod(), {"target": {}}, False),
]


async def _outcome(tmp_path, stored, body, dry, one_parse: bool):
    st = await open_storage({"backend": "sqlite", "path": str(tmp_path / f"{one_parse}.db"), "fsync": False})
    reg = Registry(st, ServiceAllocator("10.96.0.0/12"))
    await reg.create(resource("namespaces"), None, {"metadata": {"name": "d"}})
    if not one_parse:  # the earlier path: two parses, the unchanged-write check
        full = reg.guaranteed_update

        async def two_parses(*a, changes=False, **kw):
            return await full(*a, **kw)
        reg.guaranteed_update = two_parses
    k = "/registry/pods/d/p"
    if stored is not None:
        obj = await reg.create(PODS, "d", copy.deepcopy(stored))
        uid = obj["metadata"]["uid"]
        if body.get("metadata", {}).get("uid") == "UID":
            body = dict(body, metadata={"uid": uid})
        if stored["metadata"].get("finalizers"):
            await reg.guaranteed_update(PODS, "d", "p", lambda cur: {**cur, "metadata": {
                **cur["metadata"], "deletionTimestamp": "2026-12-03T00:00:00Z"}})
    rev0 = st.revision
    watch = st.watch("/registry/pods/", rev0)
    try:
        await bind_pod(reg, Target(PODS, "d", "p", "binding"), body, dry)
        err = None
    except errors.ApiError as e:
        err = (e.code, e.reason, str(e))
    text = st.get_raw_nowait(k)
    events = []
    while (ev := watch.next_event_nowait()) is not None:
        events.append((ev.type, ev.key, ev.rev, ev.text))
    watch.close()
    await st.close()
    if stored is None:
        return err, text, st.revision - rev0, events
    err = err and (err[0], err[1], err[2].replace(uid, "UID"))
    return err, (text[0].replace(uid, "UID"), text[1]), st.revision - rev0, [(t, k_, r - rev0, x.replace(uid, "UID")) for t, k_, r, x in events]


@pytest.mark.parametrize("what,stored,body,dry", BINDINGS, ids=[b[0] for b in BINDINGS])
async def test_binding_with_one_parse_equals_two(tmp_path, monkeypatch, what, stored, body, dry):
    for where in (meta, strategy, managedfields):  # the same clock for both runs
        monkeypatch.setattr(where, "now" if where is not managedfields else "_now", lambda: "2026-12-03T07:00:00Z")
    one = await _outcome(tmp_path, stored, body, dry, True)
    two = await _outcome(tmp_path, stored, body, dry, False)
    assert one == two
    if one[0] is None and not dry:  # a binding made: one MODIFIED event, the pod on its node
        assert [e[0] for e in one[3]] == ["MODIFIED"] and '"nodeName":"' + body["target"]["name"] + '"' in one[1][0]
