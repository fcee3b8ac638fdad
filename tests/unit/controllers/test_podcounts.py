"""Owned-pod counts (podcounts.py) as the ReplicaSet controller keeps them from the pod informer's
events: after any sequence of pod events the counted classes are the ones a walk over the cache
finds, and the status from the counts is the status from the walk."""
from __future__ import annotations

import pytest

from labkube.controllers.podcounts import OwnedPodCounts, count_classes, pod_class
from labkube.controllers.replicaset import ReplicaSetController

from .harness import Harness, rs_obj


async def _ready(h, name, status="True"):
    await h.ready(name, ready=status == "True")


async def _phase(h, name, phase):
    p = await h.api.get("pods", name, "default")
    p["status"] = {**p.get("status", {}), "phase": phase}
    await h.api.replace("pods", name, p, "default", subresource="status")


async def _labels(h, name, labels):
    await h.api.patch("pods", name, {"metadata": {"labels": labels}}, namespace="default")


async def _bind(h, name):
    await h.api.post_subresource("pods", name, "binding", {"target": {"name": "w1"}}, "default")


async def _orphan(h, name):
    await h.api.patch("pods", name, {"metadata": {"ownerReferences": []}}, namespace="default")


async def _delete(h, name, grace=None):
    await h.api.delete("pods", name, "default", grace_period_seconds=grace)


async def _tick(h, seconds):
    h.clock.advance(seconds)


STEPS = {
    "bind": _bind, "ready": _ready, "unready": lambda h, n: _ready(h, n, "False"),
    "fail": lambda h, n: _phase(h, n, "Failed"), "succeed": lambda h, n: _phase(h, n, "Succeeded"),
    "relabel": lambda h, n: _labels(h, n, {"app": "other"}),            # no longer matches: released
    "drop-tier": lambda h, n: _labels(h, n, {"app": "web", "tier": None}),   # matches, not fully labeled
    "orphan": _orphan, "terminate": _delete, "delete": lambda h, n: _delete(h, n, 0),
}

EVENT_CASES = [  # (what, minReadySeconds, steps: (step, pod index) or ("tick", seconds))
    ("bound, running, ready", 0, [("bind", 0), ("bind", 1), ("ready", 0), ("ready", 1)]),
    ("ready then not ready", 0, [("ready", 0), ("ready", 1), ("unready", 0)]),
    ("terminal pods", 0, [("ready", 0), ("fail", 0), ("succeed", 1)]),
    ("graceful deletion, then gone", 0, [("bind", 2), ("ready", 2), ("terminate", 2), ("delete", 2), ("delete", 1)]),
    ("a pod loses a template label", 0, [("ready", 0), ("drop-tier", 0)]),
    ("a pod's labels stop matching", 0, [("ready", 0), ("relabel", 0)]),
    ("an orphaned pod is adopted again", 0, [("orphan", 1), ("ready", 1)]),
    ("minReadySeconds, before and after", 10, [("ready", 0), ("tick", 4), ("ready", 1), ("tick", 7)]),
    ("everything at once", 5, [("bind", 0), ("ready", 0), ("ready", 1), ("tick", 6), ("drop-tier", 1),
                               ("bind", 2), ("terminate", 2), ("fail", 1), ("relabel", 0), ("delete", 1)]),
]


def walked(c: ReplicaSetController, rs: dict) -> list[dict]:
    """The pods the RS owns in the cache, found as claim_pods finds them (no writes)."""
    ns, uid = rs["metadata"]["namespace"], rs["metadata"]["uid"]
    out = []
    for p in c.pods.items():
        ref = next((r for r in p["metadata"].get("ownerReferences") or [] if r.get("controller")), None)
        labels = p["metadata"].get("labels") or {}
        if p["metadata"]["namespace"] == ns and ref and ref["uid"] == uid and labels.get("app") == "web":
            out.append(p)
    return out


def assert_counts_follow_the_cache(c: ReplicaSetController, rs: dict) -> None:
    uid = rs["metadata"]["uid"]
    cached = [p for p in c.pods.items()
              if any(r.get("controller") and r.get("uid") == uid for r in p["metadata"].get("ownerReferences") or [])]
    assert c.counts.classes(uid) == count_classes(cached)
    owned = c.counted_claim(rs)
    if owned is not None:
        assert c.status_from_classes(rs, owned) == c.compute_status(rs, walked(c, rs))


@pytest.mark.parametrize("what,min_ready,steps", EVENT_CASES, ids=[c[0] for c in EVENT_CASES])
async def test_counted_status_equals_walked_status(what, min_ready, steps):
    labels = {"app": "web", "tier": "fe"}
    rs = rs_obj("web", 3, labels={"app": "web"}, min_ready=min_ready)
    rs["spec"]["template"]["metadata"]["labels"] = labels
    h = Harness(ReplicaSetController)
    await h.api.create("replicasets", rs)
    await h.start()
    await h.run()
    c = h.controllers[0]
    names = sorted(p["metadata"]["name"] for p in h.pods())
    for step, arg in steps:
        if step == "tick":
            await _tick(h, arg)
        else:
            await STEPS[step](h, names[arg])
        await h.api.settle()                  # the informer has the event; the controller has not synced
        if step == "terminate":
            assert c.pods.get(f"default/{names[arg]}")["metadata"].get("deletionTimestamp")
        assert_counts_follow_the_cache(c, c.rs_inf.get("default/web"))
    await h.run()                             # the controller reconciles (creates, releases, adopts)
    rs = await h.api.get("replicasets", "web", "default")
    assert_counts_follow_the_cache(c, c.rs_inf.get("default/web"))
    got = {k: rs["status"][k] for k in ("replicas", "fullyLabeledReplicas", "readyReplicas", "availableReplicas")}
    want = c.compute_status(rs, walked(c, rs))
    assert got == {k: want[k] for k in got}


async def test_counts_seeded_from_a_cache_that_listed_before_the_controller():
    h = Harness(ReplicaSetController)
    await h.api.create("replicasets", rs_obj("web", 2))
    await h.start()
    await h.run()
    late = ReplicaSetController(h.api, h.factory, h.clock, {})     # the same (synced) shared informers
    uid = (await h.api.get("replicasets", "web", "default"))["metadata"]["uid"]
    assert late.counts.classes(uid) == count_classes(h.controllers[0].pods.items()) != {}


def _p(name, uid="u1", labels=None, **status):
    return {"metadata": {"name": name, "namespace": "default", "labels": labels or {"app": "web"},
                         "ownerReferences": [{"uid": uid, "controller": True}]}, "status": status}


def test_observe_replaces_what_it_had_for_the_key():
    counts = OwnedPodCounts()
    counts.observe("default/a", _p("a"))
    counts.observe("default/a", _p("a", phase="Failed"))      # an update: old class out, new in
    counts.observe("default/b", _p("b", uid="u2"))
    counts.observe("default/b", _p("b", uid="u1"))            # changed owner
    assert counts.classes("u1") == {pod_class(_p("a", phase="Failed")): 1, pod_class(_p("b")): 1}
    assert counts.classes("u2") == {}
    counts.observe("default/a", None)
    counts.observe("default/b", None)
    counts.observe("default/c", None)                         # never seen: nothing to forget
    assert counts.classes("u1") == {} and len(counts) == 0 and counts._held == {}


def test_pods_of_one_class_share_one_class_object():
    counts = OwnedPodCounts()
    for name in ("a", "b"):
        counts.observe(f"default/{name}", _p(name))
    (_, cls_a), (_, cls_b) = counts._of["default/a"], counts._of["default/b"]
    assert cls_a is cls_b and counts.classes("u1") == {cls_a: 2}
