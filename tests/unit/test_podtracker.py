"""bench/podtracker.py: when each pod was first seen, bound, Running and Ready, from watch events
(fed straight to its informer, with a fake clock), and its line reader (StampLines): the same
stamps, cache and resume point as the tracker before it (kept below as the reference: the
hollow kubelets' LineReader in front of an informer that decodes, transforms and dispatches)
over watch lines of every shape the two readers tell apart."""
from __future__ import annotations

import asyncio
import copy
import importlib.util
import sys
import time
from pathlib import Path

import pytest

from labkube import jsonio
from labkube.client.informer import Informer
from labkube.client.rest import _event, as_resource
from labkube.kubelet.hollow.lines import LineReader
from labkube.kubelet.hollow.pods import running_status

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

from podtracker import PodTracker, stamp_view  # noqa: E402

PODS = as_resource("pods")


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


class ReferenceTracker:
    """The tracker before StampLines (bench/podtracker.py at 80912dd): LineReader in front of the
    informer, which decodes, transforms (stamp_view) and dispatches to these handlers."""

    def __init__(self, client, namespace, clock=time.time):
        self.inf = Informer(client, "pods", namespace=namespace, transform=stamp_view)
        self.lines = LineReader(self.inf)
        self.clock = clock
        self.created, self.bound, self.running, self.ready, self.nodes = {}, {}, {}, {}, {}
        self.updates = 0
        self.inf.add_handlers(self._seen, self._updated, None)

    def _updated(self, old, new):
        self.updates += 1
        self._seen(new)

    def _seen(self, pod):
        name, now = pod["metadata"]["name"], self.clock()
        if name not in self.created:
            self.created[name] = now
        node = (pod.get("spec") or {}).get("nodeName")
        if node:
            if name not in self.bound:
                self.bound[name] = now
            self.nodes[name] = node
        if name in self.ready and name in self.running:
            return
        st = pod.get("status") or {}
        if st.get("phase") == "Running" and name not in self.running:
            self.running[name] = now
        if name not in self.ready:
            for c in st.get("conditions") or ():
                if c.get("type") == "Ready" and c.get("status") == "True":
                    self.ready[name] = now
                    break


def _hollow_sequences() -> dict:
    """The odd lines of the hollow reader's test (tests/unit/kubelet/test_hollow_lines.py)."""
    spec = importlib.util.spec_from_file_location("hollow_lines_cases", ROOT / "tests/unit/kubelet/test_hollow_lines.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.SEQUENCES


MANAGED = [{"manager": "labkube-controller-manager", "operation": "Update", "apiVersion": "v1",
            "time": "2026-12-04T03:26:33Z", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}}}}}}]
KUBELET = {"manager": "hollow-kubelet", "operation": "Update", "apiVersion": "v1", "time": "2026-12-04T03:26:34Z",
           "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:phase": {}}}, "subresource": "status"}
SCHEDULED = {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": "2026-12-04T03:26:33Z"}


def served(rv, name="p", node=None, status=None, managed=MANAGED, spec_extra=None, meta_extra=None, deleting=False):
    """A pod as the apiserver writes it: metadata (managedFields right before resourceVersion),
    spec, then apiVersion and kind, then status."""
    md = {"generateName": "d-", "labels": {"app": "d"}, "name": name, "namespace": "s", "uid": f"u-{name}",
          "creationTimestamp": "2026-12-04T03:26:33Z", **(meta_extra or {})}
    if deleting:
        md["deletionTimestamp"] = "2026-12-04T03:27:00Z"
    if managed is not None:
        md["managedFields"] = managed
    md["resourceVersion"] = str(rv)
    spec = {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "10m"}}}],
            "restartPolicy": "Always", **(spec_extra or {})}
    if node is not None:
        spec["nodeName"] = node
    obj = {"metadata": md, "spec": spec, "apiVersion": "v1", "kind": "Pod"}
    obj["status"] = status if status is not None else {"phase": "Pending", "qosClass": "Burstable"}
    return obj


def ln(typ, obj) -> bytes:
    return jsonio.dumps({"type": typ, "object": obj})


def bound_status():
    return {"phase": "Pending", "qosClass": "Burstable", "conditions": [SCHEDULED]}


def run_status(name="p", **kw):
    st = running_status(served(1, name=name, node="h-1", status=bound_status()), "10.0.0.1", "10.128.0.2", now=1764818794.0)
    st = {"phase": st.pop("phase"), "qosClass": st.pop("qosClass"), **st}     # the merge keeps Pending's order
    return {**st, **kw}


def drain(name="p", rv=1, managed=MANAGED, **kw):
    """Created, bound, Running (the kubelet's write adds its managedFields entry)."""
    return [ln("ADDED", served(rv, name=name, managed=managed, **kw)),
            ln("MODIFIED", served(rv + 1, name=name, node="h-1", status=bound_status(), managed=managed, **kw)),
            ln("MODIFIED", served(rv + 2, name=name, node="h-1", status=run_status(name),
                                  managed=None if managed is None else managed + [KUBELET], **kw))]


def with_conditions(conds, phase="Running"):
    return drain()[:2] + [ln("MODIFIED", served(3, node="h-1", status={"phase": phase, "qosClass": "B", "conditions": conds},
                                                managed=MANAGED + [KUBELET]))]


READY = {"type": "Ready", "status": "True", "lastProbeTime": None, "lastTransitionTime": "t"}
NOT_READY = {**READY, "status": "False"}

CASES = {
    "the drain": drain() + drain("q", 10),
    "then deleted gracefully and gone": drain() + [
        ln("MODIFIED", served(4, node="h-1", status=run_status(), deleting=True, managed=MANAGED + [KUBELET])),
        ln("DELETED", served(5, node="h-1", status=run_status(), deleting=True, managed=MANAGED + [KUBELET]))],
    "deleted and created again under the same name": drain() + [
        ln("DELETED", served(4, node="h-1", status=run_status())), *drain(rv=5)],
    "deleted while pending": drain()[:1] + [ln("DELETED", served(2))],
    "no status": [ln("ADDED", {k: v for k, v in served(1).items() if k != "status"}),
                  ln("MODIFIED", {k: v for k, v in served(2, node="h-1").items() if k != "status"}),
                  ln("MODIFIED", served(3, node="h-1", status=run_status()))],
    "a null status": [ln("ADDED", {**served(1), "status": None}), *drain(rv=2)[1:]],
    "an empty status, then one without conditions": drain()[:2] + [
        ln("MODIFIED", served(3, node="h-1", status={})), ln("MODIFIED", served(4, node="h-1", status={"phase": "Running"}))],
    "Ready first": with_conditions([READY, SCHEDULED]),
    "Ready last": with_conditions([SCHEDULED, {**SCHEDULED, "type": "Initialized"}, READY]),
    "no Ready condition": with_conditions([SCHEDULED]),
    "Ready False": with_conditions([SCHEDULED, NOT_READY]),
    "two Ready conditions, False then True": with_conditions([NOT_READY, READY]),
    "Ready not True": with_conditions([{**READY, "status": "true"}]),
    "Ready before Running": with_conditions([READY], phase="Pending") + [
        ln("MODIFIED", served(4, node="h-1", status=run_status(), managed=MANAGED + [KUBELET]))],
    "no conditions": with_conditions([]),
    "null conditions": with_conditions(None),
    "conditions an object": with_conditions({"type": "Ready", "status": "True"}),
    "a condition that is not an object": with_conditions([SCHEDULED, "Ready"]),
    "a ] and a [ in a condition's message": with_conditions([{**SCHEDULED, "message": "a]b[c"}, READY]),
    "a nested list in a condition": with_conditions([{**SCHEDULED, "x": [1, [2]]}, READY]),
    "an object in a condition": with_conditions([{**SCHEDULED, "x": {"y": "]"}}, READY]),
    "phase not first": drain()[:2] + [ln("MODIFIED", served(3, node="h-1", status={"qosClass": "B", "phase": "Running",
                                                                                  "conditions": [READY]}))],
    "a number between phase and conditions": drain()[:2] + [
        ln("MODIFIED", served(3, node="h-1", status={"phase": "Running", "n": 1, "conditions": [READY]}))],
    "a phase that is not a string": drain()[:2] + [ln("MODIFIED", served(3, node="h-1", status={"phase": 1, "conditions": [READY]}))],
    "escaped phase": drain()[:2] + [ln("MODIFIED", served(3, node="h-1", status=run_status())).replace(
        b'"phase":"Running"', b'"phase":"Runn\\u0069ng"')],
    "a phase with a quote": drain()[:2] + [ln("MODIFIED", served(3, node="h-1", status=run_status(phase='Run"ning')))],
    "a non-ASCII phase": drain()[:2] + [ln("MODIFIED", served(3, node="h-1", status=run_status(phase="Runné")))],
    "escaped condition type": drain()[:2] + [ln("MODIFIED", served(3, node="h-1", status=run_status())).replace(
        b'"type":"Ready"', b'"type":"Re\\u0061dy"')],
    "escaped name": [line.replace(b'"name":"p"', b'"name":"\\u0070"') for line in drain()],
    "a name with a quote and a backslash": drain('p"\\q'),
    "a non-ASCII name": drain("pé"),
    "escaped node name": drain()[:1] + [line.replace(b'"nodeName":"h-1"', b'"nodeName":"h\\u002d1"') for line in drain()[1:]],
    "a node name with a space": drain()[:1] + [line.replace(b'"nodeName":"h-1"', b'"nodeName":"h 1"') for line in drain()[1:]],
    "an empty node name": drain()[:1] + [line.replace(b'"nodeName":"h-1"', b'"nodeName":""') for line in drain()[1:]],
    "no namespace": [ln(t, {**o, "metadata": {k: v for k, v in o["metadata"].items() if k != "namespace"}})
                     for t, o in ((ev["type"], ev["object"]) for ev in map(jsonio.loads, drain()))],
    "a label holding a status": drain(meta_extra={"annotations": {"x": ',"status":{"phase":"Running"}'}}),
    "a status object in spec": drain(spec_extra={"x": {"status": {"phase": "Running", "conditions": [READY]}}}),
    "a status member after status": drain()[:2] + [
        ln("MODIFIED", {**served(3, node="h-1", status=run_status()), "zz": {"status": {"phase": "Failed"}}})],
    "kind before metadata": [ln(t, {"apiVersion": "v1", "kind": "Pod", **o}) for t, o in
                             ((ev["type"], ev["object"]) for ev in map(jsonio.loads, drain()))],
    "an odd kind between spec and status": [ln(t, {**{k: v for k, v in o.items() if k != "status"}, "kind": "P o\"d",
                                                   "status": o["status"]})
                                            for t, o in ((ev["type"], ev["object"]) for ev in map(jsonio.loads, drain()))],
    "a number between spec and status": [ln(t, {**{k: v for k, v in o.items() if k != "status"}, "n": 1, "status": o["status"]})
                                         for t, o in ((ev["type"], ev["object"]) for ev in map(jsonio.loads, drain()))],
    "a status member after status, twice": drain()[:2] + [
        ln("MODIFIED", {**served(3 + i, node="h-1", status=run_status()), "zz": {"status": {"phase": "Failed"}}})
        for i in range(2)],
    "bound with a spec change of the same length": drain()[:1] + [
        ln("MODIFIED", served(2, node="h-1", status=bound_status())).replace(b'"Always"', b'"Alwayz"'), drain()[2]],
    "another pod's binding, its name after resourceVersion (the head alike)": [
        ln("ADDED", served(1)).replace(b'"name":"p",', b'').replace(b'"resourceVersion":"1"', b'"resourceVersion":"1","name":"p"'),
        ln("MODIFIED", served(2, node="h-1", status=bound_status())).replace(b'"name":"p",', b'').replace(
            b'"resourceVersion":"2"', b'"resourceVersion":"2","name":"q"'), drain()[2]],
    "bound with another spec change": drain()[:1] + [ln("MODIFIED", served(2, node="h-1", status=bound_status(),
                                                                           spec_extra={"priority": 5}))],
    "created with nodeName null": [ln("ADDED", served(1, spec_extra={"nodeName": None})), *drain()[1:]],
    "created bound": drain()[1:],
    "a binding seen twice": drain()[:2] + drain()[1:],
    "a line twice": [drain()[0], drain()[0], *drain()[1:], drain()[2]],
    "no managedFields": drain(managed=None),
    "not digits": [line.replace(b'"resourceVersion":"2"', b'"resourceVersion":"2a"') for line in drain()],
    "a bookmark and an error": drain()[:2] + [b'{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1",'
                                              b'"metadata":{"resourceVersion":"7"}}}', drain()[2]],
    "not JSON": drain()[:2] + [drain()[2][:-1]],
    "a big number": [line.replace(b'"restartPolicy":"Always"', b'"restartPolicy":"Always","n":123456789012345678901234')
                     for line in drain()],
}


def feed(inf, data: bytes):
    """What Client.watch and Informer._watch do with one line; the exception's type if it raises
    (the informer then relists)."""
    try:
        if inf.decode_line is not None and not inf.decode_line(data):
            return None
        ev = _event(data, PODS)
        if ev is not None:
            inf.handle_event(ev)
    except Exception as e:  # noqa: BLE001
        return type(e)
    return None


class Lister:
    """A client whose list holds the given objects (an informer's relist)."""

    def __init__(self):
        self.items, self.rv = [], "0"

    async def list_raw(self, res, ns, label, field):
        return {"items": copy.deepcopy(self.items), "metadata": {"resourceVersion": self.rv}}


def trackers():
    now = [0.0]
    client = Lister()
    return now, client, ReferenceTracker(client, "s", clock=lambda: now[0]), PodTracker(client, "s", clock=lambda: now[0])


STAMPS = ("created", "bound", "running", "ready", "nodes", "updates")


def same(old, new, where):
    for stamp in STAMPS:
        assert getattr(new, stamp) == getattr(old, stamp), (where, stamp)
    assert new.inf.cache == old.inf.cache, where
    assert [list(v) for v in new.inf.cache.values()] == [list(v) for v in old.inf.cache.values()], where
    assert list(new.inf.cache) == list(old.inf.cache), where
    assert new.inf.last_rv == old.inf.last_rv, where


SEQUENCES = {**{f"hollow: {k}": v for k, v in _hollow_sequences().items()}, **CASES}


@pytest.mark.parametrize("name", list(SEQUENCES))
def test_same_stamps_cache_and_resume_point_as_the_reference(name):
    now, _, old, new = trackers()
    for i, data in enumerate(SEQUENCES[name]):
        now[0] = float(i + 1)
        assert feed(new.inf, data) == feed(old.inf, data), i
        same(old, new, i)


@pytest.mark.parametrize("name", ["the drain", "then deleted gracefully and gone", "Ready before Running"])
def test_a_relist_between_any_two_lines(name):
    """The list holds the pods as of the line before; the lines read before it are forgotten by
    the informer's cache as the relist replaces views (a fingerprint of a replaced view is not used)."""
    lines = SEQUENCES[name]
    for cut in range(len(lines) + 1):
        now, client, old, new = trackers()
        state = {}
        for i, data in enumerate(lines):
            if i == cut:
                client.items, client.rv = list(state.values()), str(100 + i)
                now[0] = 50.0
                asyncio.run(old.inf.relist())
                asyncio.run(new.inf.relist())
                same(old, new, ("relist", cut))
            now[0] = float(i + 1)
            assert feed(new.inf, data) == feed(old.inf, data), i
            same(old, new, (cut, i))
            ev = jsonio.loads(data)
            if ev["type"] in ("ADDED", "MODIFIED"):
                state[ev["object"]["metadata"]["name"]] = ev["object"]
            elif ev["type"] == "DELETED":
                state.pop(ev["object"]["metadata"]["name"], None)


def test_the_drain_is_read_without_whole_decodes():
    """The creation decoded here (without its managedFields), the binding and the Running write
    read from their status; the relist's views are new objects, so the next line is decoded."""
    _, _, _, new = trackers()
    for data in drain():
        feed(new.inf, data)
    assert (new.lines.decoded, new.lines.applied) == (1, 2) and len(new.lines) == 1
    assert new.running == {"p": 0.0} and new.ready == {"p": 0.0} and new.nodes == {"p": "h-1"}


def test_the_fingerprints_are_bounded():
    _, _, _, new = trackers()
    new.lines.limit = 3
    for i in range(10):
        for data in drain(f"p{i}", 10 * i + 1)[:2]:
            feed(new.inf, data)
    assert len(new.lines) == 3 and len(new.lines._keys) == 3
    feed(new.inf, drain("p9", 91)[2])
    feed(new.inf, drain("p0", 1)[2])                 # forgotten: decoded
    assert new.lines.applied == 11 and new.lines.decoded == 11 and new.running == {"p9": 0.0, "p0": 0.0}
