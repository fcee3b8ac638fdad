"""bench/podtracker.py: when each pod was first seen, bound, Running and Ready, from watch events
(fed straight to its informer, with a fake clock)."""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

from podtracker import PodTracker  # noqa: E402


def pod(name, rv, node=None, phase="Pending", ready=False, **extra):
    return {"kind": "Pod", "apiVersion": "v1",
            "metadata": {"name": name, "namespace": "b", "resourceVersion": str(rv), "uid": f"u-{name}",
                         "labels": {"app": "x"}, "managedFields": [{"manager": "m"}]},
            "spec": {"nodeName": node, "containers": [{"name": "c", "image": "nginx"}], **extra},
            "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


EVENTS = [  # (time, event type, pod)
    (1.0, "ADDED", pod("a", 1)),
    (2.0, "ADDED", pod("b", 2)),
    (3.0, "MODIFIED", pod("a", 3, node="n1")),
    (4.0, "MODIFIED", pod("a", 4, node="n1", phase="Running")),
    (5.0, "MODIFIED", pod("a", 5, node="n1", phase="Running", ready=True)),
    (6.0, "MODIFIED", pod("b", 6, node="n2", phase="Running", ready=True)),
    (7.0, "MODIFIED", pod("a", 7, node="n1", phase="Running", ready=True)),     # later updates change no stamp
    (8.0, "ADDED", pod("c", 8, node="n1", phase="Running")),                      # seen Running, not Ready
    (9.0, "ADDED", pod("d", 9, node="n2", ready=True)),                           # Ready before Running
    (10.0, "MODIFIED", pod("c", 10, node="n1", phase="Running", ready=True)),
    (11.0, "MODIFIED", pod("d", 11, node="n2", phase="Running", ready=True)),
    (12.0, "MODIFIED", pod("c", 12, node="n1", phase="Running")),                 # Ready again later: no new stamp
    (13.0, "MODIFIED", pod("c", 13, node="n1", phase="Running", ready=True)),
]
WANT = {  # stamp -> {pod: time}
    "created": {"a": 1.0, "b": 2.0, "c": 8.0, "d": 9.0},
    "bound": {"a": 3.0, "b": 6.0, "c": 8.0, "d": 9.0},
    "running": {"a": 4.0, "b": 6.0, "c": 8.0, "d": 11.0},
    "ready": {"a": 5.0, "b": 6.0, "c": 10.0, "d": 9.0},
    "nodes": {"a": "n1", "b": "n2", "c": "n1", "d": "n2"},
    "updates": 9,
}


def test_first_time_each_pod_was_seen_bound_running_and_ready():
    now = [0.0]
    tr = PodTracker(None, "b", clock=lambda: now[0])
    for t, typ, obj in EVENTS:
        now[0] = t
        tr.inf.handle_event({"type": typ, "object": obj})
    for stamp, want in WANT.items():
        assert getattr(tr, stamp) == want, stamp
    kept = tr.inf.get("b/a")
    assert kept["metadata"] == {"name": "a", "namespace": "b", "resourceVersion": "7"}    # only what it reads
    assert set(kept) == {"metadata", "spec", "status"} and kept["spec"] == {"nodeName": "n1"}
