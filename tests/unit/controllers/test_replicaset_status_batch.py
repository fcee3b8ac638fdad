"""The ReplicaSet controller's status batching (replicaset.py): status-only pod updates and its own
status writes wake its sync at most once per `replicaset_status_batch` seconds; the status it
settles on is the one the controller wrote without batching (replicaset_status_batch: 0, the
earlier behaviour), with no more status writes."""
from __future__ import annotations

import pytest

from labkube.controllers.replicaset import (STATUS_BATCH, ReplicaSetController, both_active, ownership_same,
                                            status_write)

from .harness import Harness, rs_obj

RUNNING = {"phase": "Running", "conditions": [{"type": "Ready", "status": "True",
                                              "lastTransitionTime": "2026-01-01T00:00:05Z"}]}
POD = {"metadata": {"name": "web-a", "namespace": "default", "labels": {"app": "web"},
                    "ownerReferences": [{"kind": "ReplicaSet", "name": "web", "uid": "u1", "controller": True}]},
       "spec": {"nodeName": "w1"}, "status": {"phase": "Pending"}}


def _with(obj, part, **fields):
    return {**obj, part: {**obj.get(part, {}), **fields}}


def batched(old: dict, new: dict) -> bool:
    """The handler's test for a pod update whose phase or conditions changed: batched (the status
    counts change, nothing to create or delete) or a sync at once."""
    return ownership_same(old["metadata"], new["metadata"]) and both_active(old, new)


STATUS_ONLY_CASES = [  # (what, old, new, batched)
    ("Pending -> Running and Ready", POD, _with(POD, "status", **RUNNING), True),
    ("Ready -> not Ready", _with(POD, "status", **RUNNING),
     _with(POD, "status", phase="Running", conditions=[{"type": "Ready", "status": "False"}]), True),
    ("Running -> Failed (terminal)", _with(POD, "status", **RUNNING), _with(POD, "status", phase="Failed"), False),
    ("Succeeded -> Running (terminal before)", _with(POD, "status", phase="Succeeded"),
     _with(POD, "status", **RUNNING), False),
    ("labels changed", POD, _with(_with(POD, "status", **RUNNING), "metadata", labels={"app": "x"}), False),
    ("owner released", POD, _with(_with(POD, "status", **RUNNING), "metadata", ownerReferences=[]), False),
    ("being deleted", POD, _with(_with(POD, "status", **RUNNING), "metadata",
                                 deletionTimestamp="2026-01-01T00:00:09Z"), False),
    ("was being deleted", _with(POD, "metadata", deletionTimestamp="2026-01-01T00:00:09Z"),
     _with(_with(POD, "status", **RUNNING), "metadata", deletionTimestamp="2026-01-01T00:00:09Z"), False),
]


@pytest.mark.parametrize("what,old,new,want", STATUS_ONLY_CASES, ids=[c[0] for c in STATUS_ONLY_CASES])
def test_status_only_updates_are_batched(what, old, new, want):
    assert batched(old, new) is want


RS = {"metadata": {"name": "web", "namespace": "default", "uid": "u1", "resourceVersion": "5", "generation": 2,
                   "managedFields": [{"manager": "a"}], "annotations": {"x": "1"}},
      "spec": {"replicas": 3}, "status": {"replicas": 2}}

STATUS_WRITE_CASES = [  # (what, new version of RS, status_write)
    ("status and resourceVersion", _with(_with(RS, "status", replicas=3), "metadata", resourceVersion="6"), True),
    ("managedFields", _with(_with(RS, "status", readyReplicas=1), "metadata", resourceVersion="6",
                            managedFields=[{"manager": "b"}]), True),
    ("spec (scaled)", _with(_with(RS, "spec", replicas=4), "metadata", resourceVersion="6", generation=3), False),
    ("annotations", _with(RS, "metadata", resourceVersion="6", annotations={"x": "2"}), False),
    ("labels added", _with(RS, "metadata", resourceVersion="6", labels={"a": "b"}), False),
    ("being deleted", _with(RS, "metadata", resourceVersion="6", deletionTimestamp="2026-01-01T00:00:09Z"), False),
    ("owner changed", _with(RS, "metadata", resourceVersion="6", ownerReferences=[{"uid": "d"}]), False),
]


@pytest.mark.parametrize("what,new,want", STATUS_WRITE_CASES, ids=[c[0] for c in STATUS_WRITE_CASES])
def test_status_write(what, new, want):
    assert status_write(RS, new) is want


async def _harness(batch, replicas):
    settings = {} if batch is None else {"replicaset_status_batch": batch}
    h = Harness(ReplicaSetController, settings=settings)
    await h.api.create("replicasets", rs_obj("web", replicas))
    await h.start()
    await h.run()
    return h


async def _set(h, name, status):
    p = await h.api.get("pods", name, "default")
    p["status"] = status
    await h.api.replace("pods", name, p, "default", subresource="status")


async def _workers(h):
    """What the workers do with the real clock between two pod writes: every key ready now."""
    rs = h.controllers[0]
    await h.api.settle()
    while (key := rs.queue.get_nowait()) is not None:
        await rs.process_one(key)
        await h.api.settle()


def _ready(ts="2026-01-01T00:00:05Z", ok=True):
    return {"phase": "Running", "podIP": "10.244.1.5", "conditions": [
        {"type": "Ready", "status": "True" if ok else "False", "lastTransitionTime": ts}]}


# steps: ("ready", i) / ("unready", i) / ("fail", i) / ("delete", i) on the i-th pod by name,
# ("advance", s) seconds of the clock; the workers run after each step
SEQUENCES = [  # (what, replicas, steps, status writes batched, without batching)
    ("all Ready one by one, no time passing", 6, [("ready", i) for i in range(6)], 1, 6),
    ("all Ready, the clock moving 0.1 s each", 6,
     [s for i in range(6) for s in (("ready", i), ("advance", 0.1))], 2, 6),
    ("Ready then not Ready again", 4, [("ready", 0), ("ready", 1), ("advance", 0.3), ("unready", 0), ("ready", 2)],
     1, 4),
    ("a pod fails among readiness changes", 4, [("ready", 0), ("fail", 1), ("ready", 2), ("ready", 3)], 3, 5),
    ("a pod deleted among readiness changes", 3, [("ready", 0), ("delete", 1), ("ready", 2)], 3, 4),
    ("quiet for longer than the batch between changes", 3,
     [("ready", 0), ("advance", 1.0), ("ready", 1), ("advance", 1.0), ("ready", 2)], 3, 3),
]


async def _play(batch, replicas, steps):
    h = await _harness(batch, replicas)
    names = sorted(p["metadata"]["name"] for p in h.pods())
    writes0 = len(h.api.actions)
    for op, arg in steps:
        if op == "advance":
            h.clock.advance(arg)
        elif op == "ready":
            await _set(h, names[arg], _ready())
        elif op == "unready":
            await _set(h, names[arg], _ready(ok=False))
        elif op == "fail":
            await _set(h, names[arg], {"phase": "Failed"})
        elif op == "delete":
            await h.api.delete("pods", names[arg], "default", grace_period_seconds=0)
        await _workers(h)
    await h.run()           # settled, the batched syncs included (Harness.advance_to_status_batch)
    writes = [a for a in h.api.actions[writes0:] if a[:2] == ("update/status", "replicasets")]
    status = (await h.api.get("replicasets", "web", "default"))["status"]
    pods = sorted(((p["status"] or {}).get("phase", "Pending"),
                   any(c["type"] == "Ready" and c["status"] == "True" for c in p["status"].get("conditions") or []))
                  for p in h.pods())
    return status, pods, len(writes)


@pytest.mark.parametrize("what,replicas,steps,batched,unbatched", SEQUENCES, ids=[c[0] for c in SEQUENCES])
async def test_batched_status_settles_where_unbatched_did(what, replicas, steps, batched, unbatched):
    status, pods, writes = await _play(None, replicas, steps)
    status0, pods0, writes0 = await _play(0, replicas, steps)
    assert status == status0
    assert pods == pods0
    assert (writes, writes0) == (batched, unbatched)
    ready = sum(1 for phase, ok in pods if phase == "Running" and ok)
    assert status["readyReplicas"] == ready


async def test_readiness_after_a_quiet_period_syncs_at_once_and_a_burst_once_per_batch():
    h = await _harness(None, 5)
    rs = h.controllers[0]
    assert rs.status_batch == STATUS_BATCH
    names = sorted(p["metadata"]["name"] for p in h.pods())
    h.clock.advance(STATUS_BATCH)
    await _set(h, names[0], _ready())
    await h.api.settle()
    assert rs.queue.get_nowait() == "default/web"           # the leading edge: at once
    await rs.process_one("default/web")
    for n in names[1:]:
        await _set(h, n, _ready())
        await h.api.settle()
        assert rs.queue.get_nowait() is None                # within the batch: later
    assert rs.status_due() == pytest.approx(h.clock.monotonic() + STATUS_BATCH)
    h.clock.advance(STATUS_BATCH)
    assert rs.queue.get_nowait() == "default/web"
    await rs.process_one("default/web")
    await h.api.settle()
    st = (await h.api.get("replicasets", "web", "default"))["status"]
    assert (st["readyReplicas"], st["availableReplicas"]) == (5, 5)


async def test_without_batching_every_update_queues_at_once():
    h = await _harness(0, 2)
    rs = h.controllers[0]
    names = sorted(p["metadata"]["name"] for p in h.pods())
    for n in names:
        await _set(h, n, _ready())
        await h.api.settle()
        assert rs.queue.get_nowait() == "default/web"
        await rs.process_one("default/web")
    assert rs.status_due() is None
