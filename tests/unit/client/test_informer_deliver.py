"""Informer.deliver: an event whose object is already transformed is stored, indexed and handed to
the handlers as handle_event does after its transform (the scheduler's StatusLines builds some
pod views from the watch line itself)."""
from __future__ import annotations

import copy

import pytest

from labkube.client.informer import Informer, compact


class NoClient:
    pass


def pod(name, rv, node=None, phase="Pending", ns="default"):
    p = {"apiVersion": "v1", "kind": "Pod",
         "metadata": {"name": name, "namespace": ns, "uid": "u-" + name, "resourceVersion": rv,
                      "labels": {"app": "a"}, "managedFields": [{"manager": "m"}]},
         "spec": {"containers": [{"name": "c"}]}, "status": {"phase": phase}}
    if node:
        p["spec"]["nodeName"] = node
    return p


def recording():
    inf = Informer(NoClient(), "pods")
    inf.add_index("node", lambda o: [o["spec"].get("nodeName")] if o["spec"].get("nodeName") else [])
    calls = []
    inf.add_handlers(lambda o: calls.append(("add", copy.deepcopy(o))),
                     lambda o, n: calls.append(("update", copy.deepcopy(o), copy.deepcopy(n))),
                     lambda o: calls.append(("delete", copy.deepcopy(o))))
    return inf, calls


SEQUENCES = [
    ("added", [("ADDED", pod("p1", "1"))]),
    ("added, modified", [("ADDED", pod("p1", "1")), ("MODIFIED", pod("p1", "2", node="n1"))]),
    ("modified first (seen as added)", [("MODIFIED", pod("p1", "2", node="n1"))]),
    ("added twice (seen as modified)", [("ADDED", pod("p1", "1")), ("ADDED", pod("p1", "3", node="n2"))]),
    ("added, deleted", [("ADDED", pod("p1", "1", node="n1")), ("DELETED", pod("p1", "4", node="n1"))]),
    ("deleted unknown", [("DELETED", pod("p9", "4"))]),
    ("two pods, one moves", [("ADDED", pod("p1", "1", node="n1")), ("ADDED", pod("p2", "2", node="n1")),
                             ("MODIFIED", pod("p2", "3", node="n2", phase="Running")),
                             ("DELETED", pod("p1", "5", node="n1"))]),
    ("cluster-scoped", [("ADDED", pod("p1", "1", ns=None)), ("MODIFIED", pod("p1", "2", ns=None, node="n1"))]),
]


@pytest.mark.parametrize("name, events", SEQUENCES, ids=[s[0] for s in SEQUENCES])
@pytest.mark.parametrize("with_key", [False, True])
def test_deliver_of_a_transformed_object_equals_handle_event(name, events, with_key):
    a, calls_a = recording()
    b, calls_b = recording()
    for t, obj in events:
        a.handle_event({"type": t, "object": copy.deepcopy(obj)})
        view = compact(copy.deepcopy(obj))
        key = (f"{obj['metadata']['namespace']}/{obj['metadata']['name']}" if obj["metadata"]["namespace"]
               else obj["metadata"]["name"]) if with_key else None
        b.deliver(t, view, key)
        assert a.cache == b.cache
        assert list(a.cache) == list(b.cache)
        assert a._indices == b._indices
        assert calls_a == calls_b
