"""The ReplicaSet controller's pod update handler decides a binding or a status write (the same
labels, ownerReferences and deletionTimestamp) without counted_same, controller_ref and status_only
each looking at the metadata again: for a table of updates, with and without status batching and
with a recent sync or none, the queue (keys, order, delayed keys), the batched keys, the
expectations and the owned-pod counts are the same as with the earlier handler."""
from __future__ import annotations

import copy

import pytest

from labkube.client.informer import object_key
from labkube.client.workqueue import WorkQueue
from labkube.controllers.expectations import Expectations
from labkube.controllers.podcounts import OwnedPodCounts
from labkube.controllers.replicaset import (ReplicaSetController, both_active, counted_status_same,
                                            ownership_same)
from labkube.controllers.util import controller_ref

from .harness import Harness, rs_obj


def counted_same(old, new):
    """The earlier handler's first test (replicaset.py before 7cae7b1): nothing a sync reads changed."""
    return ownership_same(old["metadata"], new["metadata"]) and counted_status_same(old, new)


def status_only(old, new):
    """The earlier handler's batching test (replicaset.py before 7cae7b1): the same labels and
    ownerReferences, neither pod terminal nor being deleted."""
    o, n = old["metadata"], new["metadata"]
    return (o.get("labels") == n.get("labels") and o.get("ownerReferences") == n.get("ownerReferences")
            and both_active(old, new))


def earlier_pod_updated(self, old, new):
    """ReplicaSetController._pod_updated before (176a618)."""
    if counted_same(old, new):
        return
    self.counts.observe(object_key(new), new)
    if new["metadata"].get("deletionTimestamp") and not old["metadata"].get("deletionTimestamp"):
        key = self._owner_key(new)
        if key:
            self.expectations.deleted(key, new["metadata"]["name"])
    if controller_ref(old) != controller_ref(new):
        self._enqueue_for_pod(old)
    elif self.status_batch > 0 and status_only(old, new):
        key = self._owner_key(new)
        if key:
            self._status_changed(key)
            return
    self._enqueue_for_pod(new)


def owner(uid="UID", name="web", kind="ReplicaSet", controller=True):
    return [{"apiVersion": "apps/v1", "kind": kind, "name": name, "uid": uid, "controller": controller}]


READY = [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:05Z"}]
NOT_READY = [{"type": "Ready", "status": "False"}]


def pod(owners="mine", labels="web", phase="Pending", conds=None, node=None, dts=None, name="web-a"):
    md = {"name": name, "namespace": "default", "uid": "p-" + name, "resourceVersion": "1"}
    if labels is not None:
        md["labels"] = {"app": labels}
    if owners == "mine":
        md["ownerReferences"] = owner()
    elif owners is not None:
        md["ownerReferences"] = owners
    if dts:
        md["deletionTimestamp"] = dts
    p = {"metadata": md, "spec": {"containers": [{"name": "c"}]}, "status": {"phase": phase}}
    if node:
        p["spec"]["nodeName"] = node
    if conds is not None:
        p["status"]["conditions"] = conds
    return p


T = "2026-01-01T00:01:00Z"
ROWS = [
    ("binding", pod(), pod(node="w1")),
    ("running and ready", pod(node="w1"), pod(node="w1", phase="Running", conds=READY)),
    ("running not ready", pod(node="w1"), pod(node="w1", phase="Running", conds=NOT_READY)),
    ("ready to not ready", pod(phase="Running", conds=READY), pod(phase="Running", conds=NOT_READY)),
    ("conditions none to empty", pod(conds=None), pod(conds=[])),
    ("succeeded", pod(phase="Running"), pod(phase="Succeeded")),
    ("failed from failed", pod(phase="Failed"), pod(phase="Failed", conds=NOT_READY)),
    ("deleting now", pod(phase="Running"), pod(phase="Running", dts=T)),
    ("deleting, status changes", pod(phase="Running", dts=T), pod(phase="Failed", dts=T)),
    ("deleting, same status", pod(phase="Running", dts=T), pod(phase="Running", dts=T, node="w1")),
    ("deletion time changes", pod(dts=T), pod(dts="2026-01-01T00:02:00Z", phase="Running")),
    ("labels change", pod(), pod(labels="other")),
    ("labels change, running", pod(), pod(labels="other", phase="Running")),
    ("labels go", pod(), pod(labels=None, phase="Running")),
    ("released", pod(), pod(owners=[])),
    ("adopted", pod(owners=None), pod()),
    ("orphan status", pod(owners=None), pod(owners=None, phase="Running", conds=READY)),
    ("orphan of another app", pod(owners=None, labels="x"), pod(owners=None, labels="x", phase="Running")),
    ("another owner uid", pod(owners=owner("other")), pod(owners=owner("other"), phase="Running")),
    ("owner uid changes", pod(owners=owner("other")), pod(phase="Running")),
    ("not a controller ref", pod(owners=owner(controller=False)), pod(owners=owner(controller=False), phase="Running")),
    ("a Job's pod", pod(owners=owner(kind="Job")), pod(owners=owner(kind="Job"), phase="Running", conds=READY)),
    ("unknown ReplicaSet", pod(owners=owner(name="gone")), pod(owners=owner(name="gone"), phase="Running")),
    ("nothing counted changes", pod(phase="Running", conds=READY), pod(phase="Running", conds=READY, node="w2")),
    ("status removed", pod(phase="Running"), {**pod(), "status": None}),
]


def fill(p, uid):
    p = copy.deepcopy(p)
    for ref in p["metadata"].get("ownerReferences") or []:
        if ref["uid"] == "UID":
            ref["uid"] = uid
    return p


def snapshot(ctrl):
    q = ctrl.queue
    return (list(q._queue), set(q._dirty), sorted((d, k) for d, _, k in q._delayed), dict(ctrl.batch.due_at),
            ctrl.expectations._adds, ctrl.expectations._dels, ctrl.counts._of, ctrl.counts._classes)


@pytest.mark.parametrize("batch", [0, 0.25])
@pytest.mark.parametrize("synced", [None, "now", "long ago"])
@pytest.mark.parametrize("batched", [False, True])
@pytest.mark.parametrize("name,old,new", ROWS, ids=[r[0] for r in ROWS])
async def test_update_as_before(batch, synced, batched, name, old, new):
    h = Harness(ReplicaSetController, settings={"replicaset_status_batch": batch})
    await h.api.create("replicasets", rs_obj("web", replicas=0), "default")
    await h.start()
    ctrl = h.controllers[0]
    uid = ctrl.rs_inf.get("default/web")["metadata"]["uid"]
    old, new = fill(old, uid), fill(new, uid)
    got = []
    for update in (ctrl._pod_updated, lambda o, n: earlier_pod_updated(ctrl, o, n)):
        ctrl.queue = WorkQueue(h.clock)
        ctrl.queue.add("default/other")
        ctrl.batch.due_at = {"default/web": h.clock.monotonic() + 0.1} if batched else {}
        ctrl.batch.started = ({} if synced is None else
                              {"default/web": h.clock.monotonic() - (0.01 if synced == "now" else 10)})
        ctrl.expectations = Expectations(h.clock)
        ctrl.expectations.expect_delete("default/web", "web-a")
        ctrl.counts = OwnedPodCounts()
        ctrl.counts.observe("default/web-a", copy.deepcopy(old))
        update(copy.deepcopy(old), copy.deepcopy(new))
        got.append(copy.deepcopy(snapshot(ctrl)))
    assert got[0] == got[1]
