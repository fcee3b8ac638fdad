"""ReplicaSet controller on the FakeApi: create/delete to match replicas, naming, ownership,
adoption/release, deletion preference, expectations, status, events."""
from __future__ import annotations

import re

import pytest

from labkube.client.errors import status_error
from labkube.controllers.replicaset import ReplicaSetController, deletion_rank

from .harness import Harness, rs_obj


async def make(*objs, kubelet=False):
    h = Harness(ReplicaSetController)
    for o in objs:
        await h.api.create(o.get("kind", "Pod").lower() + "s", o)
    await h.start()
    h.kubelet = kubelet
    return h


async def test_creates_pods_with_names_owner_refs_and_events():
    h = await make(rs_obj("web", 3))
    await h.run()
    rs = await h.api.get("replicasets", "web", "default")
    pods = h.pods()
    assert len(pods) == 3
    for p in pods:
        assert re.fullmatch(r"web-[a-z0-9]{5}", p["metadata"]["name"])
        ref = p["metadata"]["ownerReferences"][0]
        assert ref == {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web", "uid": rs["metadata"]["uid"],
                       "controller": True, "blockOwnerDeletion": True}
        assert p["metadata"]["labels"] == {"app": "web"}
    assert len(h.events("SuccessfulCreate")) == 3
    assert rs["status"]["replicas"] == 3 and rs["status"]["readyReplicas"] == 0
    assert rs["status"]["observedGeneration"] == 1


async def test_the_server_names_the_pods_from_the_generate_name_and_events_use_its_names():
    h = await make(rs_obj("web", 2))
    sent = []
    h.api.reactors.append(lambda verb, res, ns, name, body: sent.append(body["metadata"]) if verb == "create" and res == "pods" else None)
    await h.run()
    assert [(md.get("name"), md.get("generateName")) for md in sent] == [(md["name"], "web-") for md in sent]
    assert sorted(e["message"] for e in h.events("SuccessfulCreate")) == \
        sorted(f"Created pod: {p['metadata']['name']}" for p in h.pods())


async def test_refused_creates_give_one_message_naming_the_prefix():
    h = await make(rs_obj("web", 0))

    def refuse(verb, res, ns, name, body):
        if verb == "create" and res == "pods":
            raise status_error(403, "Forbidden", f'pods "{body["metadata"]["generateName"]}" is forbidden: exceeded quota: q')
    h.api.reactors.append(refuse)
    await h.api.patch("replicasets", "web", {"spec": {"replicas": 3}}, namespace="default")
    await h.run()
    assert {e["message"] for e in h.events("FailedCreate")} == \
        {'Error creating: pods "web-" is forbidden: exceeded quota: q'}


async def test_status_ready_available_and_scale_down_prefers_unready():
    h = await make(rs_obj("web", 3))
    await h.run()
    names = sorted(p["metadata"]["name"] for p in h.pods())
    await h.ready(names[0]); await h.ready(names[1])
    await h.run()
    rs = await h.api.get("replicasets", "web", "default")
    assert (rs["status"]["readyReplicas"], rs["status"]["availableReplicas"],
            rs["status"]["fullyLabeledReplicas"]) == (2, 2, 3)
    await h.api.patch("replicasets", "web", {"spec": {"replicas": 2}}, namespace="default")
    await h.run()
    assert sorted(p["metadata"]["name"] for p in h.pods()) == names[:2]
    rs = await h.api.get("replicasets", "web", "default")
    assert rs["status"]["observedGeneration"] == 2 and rs["status"]["replicas"] == 2
    assert h.events("SuccessfulDelete")[0]["message"] == f"Deleted pod: {names[2]}"


async def test_replaces_deleted_pod_and_ignores_terminating_ones():
    h = await make(rs_obj("web", 2), kubelet=True)
    await h.run()
    victim = h.pods()[0]["metadata"]["name"]
    h.kubelet = False
    await h.api.delete("pods", victim, "default")        # graceful: stays, terminating
    await h.run()
    live = [p for p in h.pods() if not p["metadata"].get("deletionTimestamp")]
    assert len(live) == 2 and victim not in [p["metadata"]["name"] for p in live]
    assert len(h.pods()) == 3


async def test_adopts_orphans_and_releases_mismatched():
    orphan = {"kind": "Pod", "metadata": {"name": "orphan", "labels": {"app": "web"}}, "spec": {"containers": []}}
    other = {"kind": "Pod", "metadata": {"name": "other", "labels": {"app": "db"}}, "spec": {"containers": []}}
    h = await make(orphan, other, rs_obj("web", 1))
    await h.run()
    assert [p["metadata"]["name"] for p in h.pods()] == ["orphan", "other"]
    rs = await h.api.get("replicasets", "web", "default")
    assert (await h.api.get("pods", "orphan", "default"))["metadata"]["ownerReferences"][0]["uid"] == rs["metadata"]["uid"]
    assert "ownerReferences" not in (await h.api.get("pods", "other", "default"))["metadata"]
    await h.api.patch("pods", "orphan", {"metadata": {"labels": {"app": "moved"}}}, namespace="default")
    await h.run()
    assert (await h.api.get("pods", "orphan", "default"))["metadata"]["ownerReferences"] == []
    assert len([p for p in h.pods() if p["metadata"]["labels"]["app"] == "web"]) == 1


async def test_expectations_prevent_double_create_before_informer_catches_up():
    h = await make(rs_obj("web", 2))
    c = h.controllers[0]
    await c.process_one("default/web")
    await c.process_one("default/web")   # informer has not seen the pods yet
    assert len(h.pods()) == 2


async def test_failed_create_is_retried_with_backoff():
    h = await make(rs_obj("web", 1))
    broken = [True]

    def reactor(verb, res, ns, name, body):
        if verb == "create" and res == "pods" and broken[0]:
            raise status_error(500, "InternalError", "boom")
    h.api.reactors.append(reactor)
    await h.run()
    assert len(h.pods()) == 0 and h.events("FailedCreate")
    assert h.controllers[0].queue.num_requeues("default/web") >= 1
    broken[0] = False
    await h.run()
    assert len(h.pods()) == 0            # backing off: fake time has not moved
    h.clock.advance(1)
    await h.run()
    assert len(h.pods()) == 1


@pytest.mark.parametrize("a,b", [
    ({"spec": {}, "status": {"phase": "Pending"}}, {"spec": {"nodeName": "n"}, "status": {"phase": "Pending"}}),
    ({"spec": {"nodeName": "n"}, "status": {"phase": "Pending"}}, {"spec": {"nodeName": "n"}, "status": {"phase": "Running"}}),
    ({"spec": {"nodeName": "n"}, "status": {"phase": "Running"}},
     {"spec": {"nodeName": "n"}, "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}}),
])
def test_deletion_rank(a, b):
    for x, ts in ((a, "2026-01-01T00:00:00Z"), (b, "2026-01-02T00:00:00Z")):
        x["metadata"] = {"name": "p", "creationTimestamp": ts}
    assert deletion_rank(a) < deletion_rank(b)


def test_deletion_rank_newest_first():
    old = {"metadata": {"name": "a", "creationTimestamp": "2026-01-01T00:00:00Z"}, "spec": {}, "status": {}}
    new = {"metadata": {"name": "b", "creationTimestamp": "2026-01-02T00:00:00Z"}, "spec": {}, "status": {}}
    assert deletion_rank(new) < deletion_rank(old)


async def test_slow_start_stops_at_the_first_refusal():
    from labkube.client.errors import status_error
    h = await make(rs_obj("web", 0))
    calls = []

    def reactor(verb, res, ns, name, body):
        if verb == "create" and res == "pods":
            calls.append(name)
            if len(calls) > 3:
                raise status_error(403, "Forbidden", "exceeded quota")
    h.api.reactors.append(reactor)
    await h.api.patch("replicasets", "web", {"spec": {"replicas": 50}}, namespace="default")
    await h.run()
    # batches 1, 2, then 4 with refusals; the few event-driven retries start again at 1 (not 47 at once)
    assert len(h.pods()) == 3 and len(calls) <= 10


def _pod(name, labels=None, phase="Running", ready=None, deleting=False):
    """A pod for compute_status: `ready` is None (no Ready condition) or its lastTransitionTime."""
    md = {"name": name, "namespace": "default", "labels": labels if labels is not None else {"app": "web", "tier": "fe"}}
    if deleting:
        md["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    st = {"phase": phase}
    if ready is not None:
        st["conditions"] = [{"type": "Ready", "status": "True", "lastTransitionTime": ready}]
    return {"metadata": md, "status": st}


STATUS_CASES = [  # (what, pods, minReadySeconds, (replicas, fullyLabeled, ready, available))
    ("none", [], 0, (0, 0, 0, 0)),
    ("pending and running", [_pod("a", phase="Pending"), _pod("b")], 0, (2, 2, 0, 0)),
    ("ready counts as available without minReadySeconds",
     [_pod("a", ready="2026-01-01T00:00:00Z"), _pod("b")], 0, (2, 2, 1, 1)),
    ("terminating and terminal pods do not count",
     [_pod("a", deleting=True, ready="2026-01-01T00:00:00Z"), _pod("b", phase="Succeeded"),
      _pod("c", phase="Failed"), _pod("d", ready="2026-01-01T00:00:00Z")], 0, (1, 1, 1, 1)),
    ("a pod missing a template label is not fully labeled",
     [_pod("a", labels={"app": "web"}), _pod("b"), _pod("c", labels=None)], 0, (3, 2, 0, 0)),
    ("available once ready for minReadySeconds (clock at 00:01:00)",
     [_pod("a", ready="2026-01-01T00:00:00Z"), _pod("b", ready="2026-01-01T00:00:45Z")], 30, (2, 2, 2, 1)),
]


@pytest.mark.parametrize("what,pods,min_ready,want", STATUS_CASES, ids=[c[0] for c in STATUS_CASES])
async def test_compute_status_counts(what, pods, min_ready, want):
    import datetime
    from labkube.client.clock import FakeClock
    h = Harness(ReplicaSetController, clock=FakeClock(datetime.datetime(2026, 1, 1, 0, 1, tzinfo=datetime.timezone.utc)))
    rs = rs_obj("web", 3, labels={"app": "web"}, min_ready=min_ready)
    rs["spec"]["template"]["metadata"]["labels"] = {"app": "web", "tier": "fe"}
    rs["metadata"]["generation"] = 4
    st = h.controllers[0].compute_status(rs, pods)
    assert (st["replicas"], st["fullyLabeledReplicas"], st["readyReplicas"], st["availableReplicas"]) == want
    assert st["observedGeneration"] == 4


def _bound(pod):
    return {**pod, "spec": {**pod.get("spec", {}), "nodeName": "w1"}}


def _changed(pod, part, key, value):
    return {**pod, part: {**pod.get(part, {}), key: value}}


def woken(h, rs) -> str | None:
    """How an update just handed to the ReplicaSet controller queued "default/web": "now", "batched"
    (due once its last sync started status_batch ago: its status-only batching), or None."""
    if rs.queue.get_nowait() == "default/web":
        return "now"
    h.clock.advance(rs.status_batch)
    return "batched" if rs.queue.get_nowait() == "default/web" else None


WAKE_CASES = [  # (what, update of a running pod of "web", how it wakes the ReplicaSet: woken())
    ("a binding", _bound, None),
    ("a container status", lambda p: _changed(p, "status", "containerStatuses", [{"name": "c", "restartCount": 1}]),
     None),
    ("phase", lambda p: _changed(p, "status", "phase", "Failed"), "now"),
    ("readiness", lambda p: _changed(p, "status", "conditions",
                                     [{"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:09Z"}]),
     "batched"),
    ("labels", lambda p: _changed(p, "metadata", "labels", {"app": "other"}), "now"),
    ("deletion", lambda p: _changed(p, "metadata", "deletionTimestamp", "2026-01-01T00:00:09Z"), "now"),
    ("owner", lambda p: _changed(p, "metadata", "ownerReferences", []), "now"),
]


@pytest.mark.parametrize("what,update,wakes", WAKE_CASES, ids=[c[0] for c in WAKE_CASES])
async def test_pod_updates_wake_the_replicaset_only_when_its_sync_would_see_them(what, update, wakes):
    h = await make(rs_obj("web", 1), kubelet=True)
    await h.run()
    rs = h.controllers[0]
    pod = h.pods()[0]
    assert rs.queue.get_nowait() is None
    rs._pod_updated(pod, update(pod))
    assert woken(h, rs) == wakes


def _scheduled(pod):
    """The binding as the apiserver writes it: spec.nodeName and a PodScheduled condition."""
    return {**_bound(pod), "status": {**pod.get("status", {}), "conditions": [
        {"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-01-01T00:00:09Z"}]}}


PENDING_WAKE_CASES = [  # (what, update of a pending pod of "web" never bound, how it wakes the ReplicaSet)
    ("a binding with its PodScheduled condition", _scheduled, None),
    ("a binding without conditions", _bound, None),
    ("an empty conditions list", lambda p: _changed(p, "status", "conditions", []), None),
    ("Ready", lambda p: _changed(_scheduled(p), "status", "conditions", [
        {"type": "Ready", "status": "True", "lastTransitionTime": "2026-01-01T00:00:09Z"}]), "batched"),
    ("not Ready", lambda p: _changed(p, "status", "conditions", [{"type": "Ready", "status": "False"}]), "batched"),
    ("phase", lambda p: _changed(_scheduled(p), "status", "phase", "Running"), "batched"),
    ("Succeeded", lambda p: _changed(_scheduled(p), "status", "phase", "Succeeded"), "now"),
]


@pytest.mark.parametrize("what,update,wakes", PENDING_WAKE_CASES, ids=[c[0] for c in PENDING_WAKE_CASES])
async def test_a_pending_pods_updates_wake_the_replicaset_only_when_its_sync_would_see_them(what, update, wakes):
    """As the informer hands them over: old and new through the controller-manager's pod view
    (which keeps only the Ready condition, so a binding's PodScheduled leaves an empty list)."""
    from labkube.controllers.views import pod_view
    h = await make(rs_obj("web", 1))
    await h.run()
    rs = h.controllers[0]
    pod = h.pods()[0]
    assert "conditions" not in (pod.get("status") or {}) and not pod["spec"].get("nodeName")
    old = rs.pods.get(f"default/{pod['metadata']['name']}")
    assert rs.queue.get_nowait() is None
    rs._pod_updated(old, pod_view(update(pod)))
    assert woken(h, rs) == wakes
