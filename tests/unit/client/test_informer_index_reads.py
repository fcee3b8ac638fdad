"""Informer.add_index(reads=): an update whose old and new objects hold equal values at the paths
an index function reads is not refiled (the function is not called on either). Compared with the
earlier informer, which called every index function on the old and the new object of each update:
over varied event sequences (decoded, delivered views sharing members as PodLines builds them,
relists, deletions) the cache, every index (values and key order) and the handler calls are the
same, and the functions are called less often."""
from __future__ import annotations

import asyncio
import copy

import pytest

from labkube.client.informer import Informer, same_at, same_at_paths
from labkube.controllers.util import (CONTROLLER_UID_READS, NODE_NAME_READS, ORPHAN_NAMESPACE_READS,
                                      controller_uid_index, node_name_index, orphan_namespace_index)


class ListClient:
    def __init__(self):
        self.items = []

    async def list_raw(self, res, namespace=None, label_selector=None, field_selector=None):
        return {"metadata": {"resourceVersion": "999"}, "items": copy.deepcopy(self.items)}


class Earlier(Informer):
    """The informer's _store before reads (176a618): every index refiled on every store."""

    def _store(self, key, obj):
        old = self.cache.get(key)
        if obj is None:
            self.cache.pop(key, None)
        else:
            self.cache[key] = obj
        for name in self._indexers:
            self._file(name, key, old, obj)
        return old


def has_node_key(o):            # tells a missing nodeName from a null one
    spec = o.get("spec")
    return ["has" if isinstance(spec, dict) and "nodeName" in spec else "lacks"]


def app_label(o):
    return [((o.get("metadata") or {}).get("labels") or {}).get("app", "-")]


def phase_of(o):
    st = o.get("status")
    return [st.get("phase")] if isinstance(st, dict) and st.get("phase") else []


INDEXES = [
    ("controller", controller_uid_index, CONTROLLER_UID_READS),
    ("orphans", orphan_namespace_index, ORPHAN_NAMESPACE_READS),
    ("node", node_name_index, NODE_NAME_READS),
    ("has-node", has_node_key, NODE_NAME_READS),
    ("app", app_label, (("metadata", "labels", "app"),)),
    ("status", phase_of, (("status",),)),
]


def build(cls, client):
    inf = cls(client, "pods")
    calls, counts = [], {}
    for name, fn, reads in INDEXES:
        def counted(o, fn=fn, name=name):
            counts[name] = counts.get(name, 0) + 1
            return fn(o)
        inf.add_index(name, counted, reads)
    inf.add_handlers(lambda o: calls.append(("add", copy.deepcopy(o))),
                     lambda o, n: calls.append(("update", copy.deepcopy(o), copy.deepcopy(n))),
                     lambda o: calls.append(("delete", copy.deepcopy(o))))
    return inf, calls, counts


def ref(uid, controller=True):
    return {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs-" + uid, "uid": uid,
            "controller": controller}


MISSING = object()


def pod(name, rv, owners=MISSING, node=MISSING, phase="Pending", ns="default", app="a", meta=True):
    p = {"apiVersion": "v1", "kind": "Pod", "spec": {"containers": [{"name": "c"}]}, "status": {"phase": phase}}
    if meta:
        p["metadata"] = {"name": name, "namespace": ns, "uid": "u-" + name, "resourceVersion": rv,
                         "managedFields": [{"manager": "m"}]}
        if app is not None:
            p["metadata"]["labels"] = {"app": app}
        if owners is not MISSING:
            p["metadata"]["ownerReferences"] = owners
    if node is not MISSING:
        p["spec"]["nodeName"] = node
    if phase is None:
        del p["status"]
    return p


def shares(obj, **changes):
    """What PodLines delivers: the cached view with metadata/spec copied shallowly (members shared)
    and some members replaced."""
    return ("SHARE", obj, changes)


RS1, RS2 = [ref("rs1")], [ref("rs2")]
SEQUENCES = [
    ("drain: binding, running", [("ADDED", pod("p", "1", RS1)), ("MODIFIED", pod("p", "2", RS1, node="n1")),
                                 ("MODIFIED", pod("p", "3", RS1, node="n1", phase="Running"))]),
    ("drain as PodLines delivers it", [("ADDED", pod("p", "1", RS1)), shares("p", rv="2", node="n1"),
                                       shares("p", rv="3", phase="Running"), shares("p", rv="4", phase="Failed")]),
    ("adopted, released, re-owned", [("ADDED", pod("p", "1")), ("MODIFIED", pod("p", "2", RS1)),
                                     ("MODIFIED", pod("p", "3", [])), ("MODIFIED", pod("p", "4", RS2)),
                                     ("MODIFIED", pod("p", "5", [ref("rs2", controller=False)]))]),
    ("ownerReferences null vs missing", [("ADDED", pod("p", "1", None)), ("MODIFIED", pod("p", "2")),
                                         ("MODIFIED", pod("p", "3", None)), ("MODIFIED", pod("p", "4", RS1))]),
    ("nodeName null vs missing vs set", [("ADDED", pod("p", "1", RS1)), ("MODIFIED", pod("p", "2", RS1, node=None)),
                                         ("MODIFIED", pod("p", "3", RS1)), ("MODIFIED", pod("p", "4", RS1, node="")),
                                         ("MODIFIED", pod("p", "5", RS1, node="n2")),
                                         ("MODIFIED", pod("p", "6", RS1, node="n3"))]),
    ("labels and status change", [("ADDED", pod("p", "1", RS1, app="a")), ("MODIFIED", pod("p", "2", RS1, app="b")),
                                  ("MODIFIED", pod("p", "3", RS1, app=None)), ("MODIFIED", pod("p", "4", RS1, phase=None)),
                                  ("MODIFIED", pod("p", "5", RS1, phase="Running"))]),
    ("namespace moves (same key shape)", [("ADDED", pod("p", "1", ns="a")), ("MODIFIED", pod("p", "2", ns="a")),
                                          ("ADDED", pod("p", "1", ns="b")), ("MODIFIED", pod("p", "3", ns="b", owners=RS1))]),
    ("no metadata on the way", [("ADDED", pod("p", "1", RS1)), shares("p", metadata=None), shares("p", metadata=[]),
                                shares("p", metadata={"name": "p", "namespace": "default"}),
                                shares("p", spec=None), shares("p", spec={}), shares("p", rv="9", node="n1")]),
    ("deleted and re-added", [("ADDED", pod("p", "1", RS1, node="n1")), ("DELETED", pod("p", "2", RS1, node="n1")),
                              ("ADDED", pod("p", "3", RS2)), ("MODIFIED", pod("p", "4", RS2, node="n1")),
                              ("MODIFIED", pod("p", "5", RS2, node="n1", phase="Running"))]),
    ("many pods interleaved", [("ADDED", pod(f"p{i}", str(i), RS1 if i % 3 else RS2)) for i in range(6)]
     + [("MODIFIED", pod(f"p{i}", str(10 + i), RS1 if i % 3 else RS2, node=f"n{i % 2}")) for i in range(6)]
     + [shares(f"p{i}", rv=str(20 + i), phase="Running") for i in range(6)]
     + [("DELETED", pod("p2", "30", RS1)), ("MODIFIED", pod("p4", "31", [], node="n0"))]),
    ("relist keeps, changes and drops", [("ADDED", pod("p", "1", RS1)), ("ADDED", pod("q", "1", RS2)),
                                         ("RELIST", [pod("p", "2", RS1, node="n1"), pod("r", "3")]),
                                         ("RELIST", [pod("p", "2", RS1, node="n1", phase="Running"), pod("r", "4", RS1)]),
                                         shares("r", rv="5", node="n2")]),
]


def apply(inf, client, step):
    kind = step[0]
    if kind == "SHARE":
        _, name, changes = step
        old = inf.get("default/" + name)
        new = dict(old)
        for k in ("metadata", "spec", "status"):
            if isinstance(new.get(k), dict):
                new[k] = dict(new[k])
        for k, v in changes.items():
            if k == "rv":
                new["metadata"]["resourceVersion"] = v
            elif k == "node":
                new["spec"]["nodeName"] = v
            elif k == "phase":
                new["status"]["phase"] = v
            else:
                new[k] = v
        inf.deliver("MODIFIED", new, "default/" + name)
    elif kind == "RELIST":
        client.items = step[1]
        asyncio.run(inf.relist())
    else:
        inf.handle_event({"type": kind, "object": copy.deepcopy(step[1])})


def state(inf):
    return (inf.cache, {name: [(v, list(keys)) for v, keys in idx.items()] for name, idx in inf._indices.items()},
            {name: [list(map(id, inf.by_index(name, v))) == [id(inf.cache[k]) for k in inf._indices[name][v]]
                    for v in inf.index_values(name)] for name in inf._indices})


@pytest.mark.parametrize("name,steps", SEQUENCES, ids=[s[0] for s in SEQUENCES])
def test_same_as_earlier_informer(name, steps):
    c_old, c_new = ListClient(), ListClient()
    old, old_calls, old_counts = build(Earlier, c_old)
    new, new_calls, new_counts = build(Informer, c_new)
    for step in steps:
        apply(old, c_old, step)
        apply(new, c_new, step)
        assert state(new) == state(old)
        assert new_calls == old_calls
    for k in old_counts:
        assert new_counts.get(k, 0) <= old_counts[k]


def test_drain_update_calls_no_index_function():
    inf, _, counts = build(Informer, ListClient())
    apply(inf, None, ("ADDED", pod("p", "1", RS1)))
    counts.clear()
    apply(inf, None, ("MODIFIED", pod("p", "2", RS1, node="n1")))      # binding: only the node indexes
    assert counts == {"node": 2, "has-node": 2}
    counts.clear()
    apply(inf, None, shares("p", rv="3", phase="Running"))               # status write: the status index
    assert counts == {"status": 2}
    assert [o["metadata"]["name"] for o in inf.by_index("node", "n1")] == ["p"]


@pytest.mark.parametrize("a,b,paths,same", [
    ({"m": {"x": 1}}, {"m": {"x": 1}}, (("m", "x"),), True),
    ({"m": {"x": 1}}, {"m": {"x": 2}}, (("m", "x"),), False),
    ({"m": {}}, {"m": {"x": None}}, (("m", "x"),), False),            # missing is not null
    ({"m": {}}, {"m": {}}, (("m", "x"),), True),
    ({}, {}, (("m", "x"),), True),
    ({}, {"m": {}}, (("m", "x"),), False),
    ({"m": None}, {"m": None}, (("m", "x"),), True),                  # the same value on the way down
    ({"m": []}, {"m": []}, (("m", "x"),), False),                     # equal, but not the same, non-dicts
    ({"m": {"x": [1]}}, {"m": {"x": [1]}}, (("m", "x"),), True),
    ({"m": {"x": 1}, "s": 1}, {"m": {"x": 1}, "s": 2}, (("m", "x"), ("s",)), False),
    ({"m": {"x": {"y": 1}}}, {"m": {"x": {"y": 1, "z": 2}}}, (("m", "x", "y"),), True),
    ({"m": {"x": 1}}, {"m": {"x": 1.0}}, (("m", "x"),), True),
    ({"m": {"x": 1, "y": 2}}, {"m": {"x": 1, "y": 2}}, (("m", "x"), ("m", "y")), True),
    ({"m": {"x": 1, "y": 2}}, {"m": {"x": 1, "y": 3}}, (("m", "x"), ("m", "y")), False),
    ({"m": {"x": 1, "y": 2}}, {"m": {"x": 0, "y": 2}}, (("m", "x"), ("m", "y")), False),
    ({"m": {"x": 1}}, {"m": {"x": 1, "y": None}}, (("m", "x"), ("m", "y")), False),
    ({"m": {"x": 1}, "n": {"x": 1}}, {"m": {"x": 1}, "n": {"x": 2}}, (("m", "x"), ("n", "x")), False),
    ({"m": {"x": 1}, "n": {"x": 2}}, {"m": {"x": 1}, "n": {"x": 2}}, (("m", "x"), ("n", "x")), True),
    ({"m": {"x": 1}}, {"m": {"x": 1}}, (("m", "x"), ("m", "y"), ("m", "z")), True),
    ({"m": 1}, {"m": 1.0}, (("m", "x"),), False),
])
def test_same_at(a, b, paths, same):
    assert same_at(a, b, paths) is same
    assert same_at_paths(paths)(a, b) is same          # the written-out form where it applies
    assert same_at_paths(paths)(b, a) is same


@pytest.mark.parametrize("reads", [(), ((),), (("m",), ())])
def test_reads_need_paths(reads):
    with pytest.raises(ValueError):
        Informer(ListClient(), "pods").add_index("x", lambda o: [], reads)
