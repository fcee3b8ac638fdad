"""LineReader (labkube/kubelet/hollow/lines.py): the hollow kubelets' and the benchmark tracker's pod
informers fed watch lines through it end with the same cache, resume point and handler calls as
the same informers decoding every line whole (the code before it), line by line."""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from labkube import jsonio
from labkube.client.rest import _event, as_resource
from labkube.client.watchlines import parts
from labkube.kubelet.hollow.lines import LineReader
from labkube.kubelet.hollow.pods import HollowPods

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from podtracker import PodTracker  # noqa: E402

PODS = as_resource("pods")
MANAGED = [{"manager": "labkube-controller-manager", "operation": "Update", "apiVersion": "v1",
            "time": "2026-12-03T12:52:47Z", "fieldsType": "FieldsV1",
            "fieldsV1": {"f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}}}}}}]
KUBELET = {"manager": "hollow-kubelet", "operation": "Update", "apiVersion": "v1", "time": "2026-12-03T12:52:48Z",
           "fieldsType": "FieldsV1", "fieldsV1": {"f:status": {"f:phase": {}}}, "subresource": "status"}
RUNNING = {"phase": "Running", "qosClass": "Burstable",
           "conditions": [{"type": "Ready", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": "2026-12-03T12:52:48Z"},
                          {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": "2026-12-03T12:52:47Z"}],
           "hostIP": "127.0.0.1", "podIP": "10.128.0.2", "startTime": "2026-12-03T12:52:48Z",
           "containerStatuses": [{"name": "c", "ready": True, "state": {"running": {"startedAt": "x"}}}]}


def pod(rv, node=None, status=None, name="p", uid="u-1", labels=None, managed=MANAGED, meta_after=None,
        deleting=False, after_status=None, first=None, spec_extra=None):
    """A pod as the apiserver writes it (metadata with managedFields right before resourceVersion,
    then spec, then status)."""
    md = {"generateName": "d-", "namespace": "b", "labels": labels if labels is not None else {"app": "d"},
          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "d", "uid": "rs"}],
          "name": name, "uid": uid, "creationTimestamp": "2026-12-03T12:52:47Z"}
    if deleting:
        md["deletionTimestamp"] = "2026-12-03T12:53:00Z"
    if managed is not None:
        md["managedFields"] = managed
    md.update(meta_after or {})
    md["resourceVersion"] = str(rv)
    spec = {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "10m"}}}],
            "restartPolicy": "Always", "schedulerName": "default-scheduler", **(spec_extra or {})}
    if node:
        spec["nodeName"] = node
    st = status if status is not None else {"phase": "Pending", "qosClass": "Burstable"}
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec, "status": st}
    if first:
        obj = {**{k: obj[k] for k in first}, **obj}
    obj.update(after_status or {})
    return obj


BOUND = {"phase": "Pending", "qosClass": "Burstable",
         "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                         "lastTransitionTime": "2026-12-03T12:52:47Z"}]}


def line(typ, obj) -> bytes:
    return jsonio.dumps({"type": typ, "object": obj})


def usual(**kw):
    """Created, bound, Running (the kubelet's write), deleted gracefully, gone."""
    return [line("ADDED", pod(1, **kw)), line("MODIFIED", pod(2, node="hollow-1", status=BOUND, **kw)),
            line("MODIFIED", pod(3, node="hollow-1", status=RUNNING, **kw)),
            line("MODIFIED", pod(4, node="hollow-1", status=RUNNING, deleting=True, **kw)),
            line("DELETED", pod(5, node="hollow-1", status=RUNNING, deleting=True, **kw))]


def served(obj: dict) -> dict:
    """The pod in the apiserver's member order: metadata, spec, apiVersion, kind, status (its
    stored text has them so; bench/scale.py's lines look like this)."""
    return {**{k: obj[k] for k in ("metadata", "spec", "apiVersion", "kind") if k in obj}, **obj}


def served_life(**kw):
    """`usual()` with every pod in the apiserver's member order."""
    return [line(typ, served(pod(rv, **kw_line, **kw))) for typ, rv, kw_line in (
        ("ADDED", 1, {}), ("MODIFIED", 2, {"node": "hollow-1", "status": BOUND}),
        ("MODIFIED", 3, {"node": "hollow-1", "status": RUNNING}),
        ("MODIFIED", 4, {"node": "hollow-1", "status": RUNNING, "deleting": True}),
        ("DELETED", 5, {"node": "hollow-1", "status": RUNNING, "deleting": True}))]


def between_spec_and_status(members: dict, bound_members: dict | None = None, node="hollow-1"):
    """Created and bound, with `members` (at the binding: `bound_members`) between spec and status."""
    def put(obj, extra):
        st = obj.pop("status")
        return {**{k: v for k, v in obj.items() if k not in members}, **extra, "status": st}
    return [line("ADDED", put(pod(1), members)),
            line("MODIFIED", put(pod(2, node=node, status=BOUND), members if bound_members is None else bound_members)),
            line("MODIFIED", put(pod(3, node=node, status=RUNNING), members if bound_members is None else bound_members))]


def bound_then(*later):
    return [line("ADDED", pod(1)), line("MODIFIED", pod(2, node="hollow-1", status=BOUND)), *later]


SEQUENCES = {
    "created, bound, Running, deleted": usual(),
    "the kubelet's write adds its managedFields entry": bound_then(
        line("MODIFIED", pod(3, node="hollow-1", status=RUNNING, managed=MANAGED + [KUBELET]))),
    "two status writes": bound_then(line("MODIFIED", pod(3, node="hollow-1", status=RUNNING)),
                                    line("MODIFIED", pod(4, node="hollow-1", status={**RUNNING, "podIP": "x"}))),
    "the same status again": bound_then(line("MODIFIED", pod(3, node="hollow-1", status=BOUND))),
    "a label changes with the status": bound_then(
        line("MODIFIED", pod(3, node="hollow-1", status=RUNNING, labels={"app": "e"}))),
    "terminal": bound_then(line("MODIFIED", pod(3, node="hollow-1", status={**RUNNING, "phase": "Succeeded"}))),
    "no managedFields": usual(managed=None),
    "empty managedFields": usual(managed=[]),
    "a ] in managedFields": usual(managed=[{"manager": "a]b"}]),
    "a nested list in managedFields": usual(managed=[{"manager": "m", "x": [1]}]),
    "a member between managedFields and resourceVersion": usual(meta_after={"generation": 1}),
    "a second resourceVersion (a label)": usual(labels={"resourceVersion": "5"}),
    "a managedFields label": usual(labels={"managedFields": "[x"}),
    "a second managedFields list (in spec)": usual(spec_extra={"managedFields": [{"a": "b"}]}),
    "a key after status": bound_then(line("MODIFIED", pod(3, node="hollow-1", status=RUNNING,
                                                          after_status={"zz": {"status": {}}}))),
    "a status in a key after status": bound_then(line("MODIFIED", pod(3, node="hollow-1", status=RUNNING,
                                                                      after_status={"zz": {"a": 1, "status": {}}}))),
    "status first": bound_then(line("MODIFIED", pod(3, node="hollow-1", status=RUNNING, first=("status",)))),
    "a recreated pod (new uid)": bound_then(line("DELETED", pod(3, node="hollow-1", status=BOUND)),
                                            line("ADDED", pod(4, node="hollow-1", status=BOUND, uid="u-2")),
                                            line("MODIFIED", pod(5, node="hollow-1", status=RUNNING, uid="u-2"))),
    "another node's pod": [line("ADDED", pod(1, name="q", node="real-1", status=BOUND)),
                           line("MODIFIED", pod(2, name="q", node="real-1", status=RUNNING))],
    "two pods interleaved": [line("ADDED", pod(1, node="hollow-1", status=BOUND)),
                             line("ADDED", pod(2, name="q", uid="u-q", node="hollow-2", status=BOUND)),
                             line("MODIFIED", pod(3, name="q", uid="u-q", node="hollow-2", status=RUNNING)),
                             line("MODIFIED", pod(4, node="hollow-1", status=RUNNING))],
    "a bookmark between": bound_then(b'{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1",'
                                     b'"metadata":{"resourceVersion":"9"}}}',
                                     line("MODIFIED", pod(10, node="hollow-1", status=RUNNING))),
    "not digits": bound_then(line("MODIFIED", pod("3a", node="hollow-1", status=RUNNING))),
    "no status": bound_then(line("MODIFIED", {k: v for k, v in pod(3, node="hollow-1").items() if k != "status"}),
                            line("MODIFIED", pod(4, node="hollow-1", status=RUNNING))),
    "not compact": bound_then(line("MODIFIED", pod(3, node="hollow-1", status=RUNNING)).replace(b'"phase":', b'"phase": ')),
    "bound with another spec change": [line("ADDED", pod(1)), line("MODIFIED", pod(2, node="hollow-1", status=BOUND,
                                                                        spec_extra={"priority": 5}))],
    "bound with a label change": [line("ADDED", pod(1)), line("MODIFIED", pod(2, node="hollow-1", status=BOUND,
                                                                          labels={"app": "e"}))],
    "bound to an odd node name": [line("ADDED", pod(1)),
                                  line("MODIFIED", pod(2, node='hollow "1" \\ é', status=BOUND))],
    "bound to an empty node name": [line("ADDED", pod(1)), line("MODIFIED", pod(2, node="", status=BOUND)),
                                    line("MODIFIED", pod(3, node="hollow-1", status=BOUND))],
    "created with a nodeName of null, then bound": [
        line("ADDED", pod(1, spec_extra={"nodeName": None})), line("MODIFIED", pod(2, node="hollow-1", status=BOUND))],
    "created with an empty spec, then bound": [
        line("ADDED", {**pod(1), "spec": {}}), line("MODIFIED", {**pod(2, status=BOUND), "spec": {"nodeName": "hollow-1"}})],
    "a member between spec and status": [
        line("ADDED", {k: v for k, v in pod(1).items() if k != "status"} | {"zz": 1, "status": pod(1)["status"]}),
        line("MODIFIED", {k: v for k, v in pod(2, node="hollow-1", status=BOUND).items() if k != "status"}
             | {"zz": 1, "status": BOUND})],
    "a nodeName put in a member after spec": [
        line("ADDED", {k: v for k, v in pod(1).items() if k != "status"} | {"zz": {"a": 1}, "status": pod(1)["status"]}),
        line("MODIFIED", {k: v for k, v in pod(2, status=BOUND).items() if k != "status"}
             | {"zz": {"a": 1, "nodeName": "hollow-1"}, "status": BOUND})],
    "a status object inside the created pod's status": [
        line("ADDED", pod(1, status={"phase": "Pending", "x": {"status": {"a": 1}}})),
        line("MODIFIED", pod(2, node="hollow-1", status=BOUND))],
    "a status object after a member inside the created pod's status": [
        line("ADDED", pod(1, status={"phase": "Pending", "x": {"a": 1, "status": {"b": 2}}})),
        line("MODIFIED", pod(2, node="hollow-1", status=BOUND))],
    "bound, its creation line seen after a relist-like replace": [
        line("ADDED", pod(1)), line("ADDED", pod(1)), line("MODIFIED", pod(2, node="hollow-1", status=BOUND))],
    "the apiserver's member order (apiVersion, kind between spec and status)": served_life(),
    "the apiserver's member order, without managedFields": served_life(managed=None),
    "the apiserver's member order, bound to an odd node name": served_life()[:1] + [
        line("MODIFIED", served(pod(2, node='hollow "1" \\ é', status=BOUND)))],
    "the apiserver's member order, bound with another spec change": served_life()[:1] + [
        line("MODIFIED", served(pod(2, node="hollow-1", status=BOUND, spec_extra={"priority": 5})))],
    "the apiserver's member order, bound with a label change": served_life()[:1] + [
        line("MODIFIED", served(pod(2, node="hollow-1", status=BOUND, labels={"app": "e"})))],
    "one plain member between spec and status": between_spec_and_status({"kind": "Pod"}),
    "three plain members between spec and status": between_spec_and_status(
        {"apiVersion": "example.com/v1-beta_2", "kind": "Pod", "zz": "a.b"}),
    "a plain member changed by the binding": between_spec_and_status({"kind": "Pod"}, {"kind": "Pods"}),
    "a plain member dropped by the binding": between_spec_and_status({"apiVersion": "v1", "kind": "Pod"},
                                                                     {"kind": "Pod"}),
    "a string with a space between spec and status": between_spec_and_status({"kind": "P od"}),
    "a string with a brace between spec and status": between_spec_and_status({"kind": "}"}),
    "a string with a quote between spec and status": between_spec_and_status({"kind": 'P"od'}),
    "an empty string between spec and status": between_spec_and_status({"kind": ""}),
    "a key with a colon between spec and status": between_spec_and_status({"ki:nd": "Pod"}),
    "a non-ASCII string between spec and status": between_spec_and_status({"kind": "Pöd"}),
    "a null between spec and status": between_spec_and_status({"kind": None}),
    "a number string and a number between spec and status": between_spec_and_status({"a": "1", "b": 1}),
    "the plain members escaped": [
        data.replace(b'"kind":"Pod"', b'"kind":"P\\u006fd"') if i == 0 else data
        for i, data in enumerate(served_life())],
    "a space before the plain members": [
        data.replace(b'},"apiVersion":"v1","kind":"Pod","status"', b'}, "apiVersion":"v1","kind":"Pod","status"')
        for data in served_life()],
    "the plain members' text nested in the created pod's status": [
        line("ADDED", served(pod(1, status={"phase": "Pending", "x": {"y": {"a": 1}, "apiVersion": "v1", "kind": "Pod",
                                                                     "status": {"b": 2}}}))),
        line("MODIFIED", served(pod(2, node="hollow-1", status=BOUND)))],
    "the plain members' text nested in spec, status written with a space": [
        line("ADDED", served(pod(1, spec_extra={"x": {"y": {"a": 1}, "apiVersion": "v1", "kind": "Pod",
                                                         "status": {"b": 2}}}))).replace(b',"status":{"phase"',
                                                                                         b', "status":{"phase"'),
        line("MODIFIED", served(pod(2, node="hollow-1", status=BOUND, spec_extra={
            "x": {"y": {"a": 1, "nodeName": "hollow-1"}, "apiVersion": "v1", "kind": "Pod", "status": {"b": 2}}})))],
    "a status that is not an object": bound_then(line("MODIFIED", pod(3, node="hollow-1", status=[RUNNING]))),
    "a status with a member after it": bound_then(
        line("MODIFIED", pod(3, node="hollow-1", status={**RUNNING, "zz": {"status": {"phase": "x"}}}))),
}


def informer(kind: str, reader: bool):
    """The hollow fleet's or the tracker's pod informer, with or without the LineReader (the
    code before it: only the select_hint's predicate), and a log of its handler calls."""
    if kind == "hollow":
        hp = HollowPods(None, {"hollow-1": None, "hollow-2": None})
        inf, lines = hp.informer, hp.lines
        if not reader:
            inf.decode_line = lines.skip
    else:
        tr = PodTracker(None, "b", clock=lambda: 0.0)
        inf, lines = tr.inf, tr.lines
        if not reader:
            inf.decode_line = None
    calls = []
    inf.add_handlers(lambda o: calls.append(("add", copy.deepcopy(o))),
                     lambda o, n: calls.append(("update", copy.deepcopy(o), copy.deepcopy(n))),
                     lambda o: calls.append(("delete", copy.deepcopy(o))))
    return inf, lines, calls


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


@pytest.mark.parametrize("kind", ["hollow", "tracker"])
@pytest.mark.parametrize("name", list(SEQUENCES))
def test_same_cache_resume_point_and_handler_calls_as_whole_decodes(kind, name):
    old, _, old_calls = informer(kind, False)
    new, reader, new_calls = informer(kind, True)
    for i, data in enumerate(SEQUENCES[name]):
        assert feed(new, data) == feed(old, data), i
        assert new.cache == old.cache, (i, data)
        assert [list(v) for v in new.cache.values()] == [list(v) for v in old.cache.values()]   # key order
        assert new.last_rv == old.last_rv, i
        assert new_calls == old_calls, i


@pytest.mark.parametrize("kind", ["hollow", "tracker"])
def test_the_usual_lines_are_read_here_and_the_running_write_from_its_tail(kind):
    inf, reader, _ = informer(kind, True)
    for data in SEQUENCES["the kubelet's write adds its managedFields entry"]:
        feed(inf, data)
    # the tracker reads the creation without its managedFields, then the binding as that line with a
    # nodeName and the Running write from their tails; the hollow's select_hint skips the creation
    # (no nodeName), so it decodes the binding (without managedFields)
    assert (reader.read, reader.cut, reader.applied) == ((2, 1, 1) if kind == "hollow" else (3, 1, 2))
    assert inf.last_rv == "3" and len(reader) == 0


@pytest.mark.parametrize("kind", ["hollow", "tracker"])
def test_the_apiservers_binding_line_is_read_as_its_creation_line_with_a_node_name(kind):
    """apiVersion and kind stand between spec and status in the apiserver's lines: the binding is
    still read from its status tail (before, only a spec right before status was taken)."""
    inf, reader, _ = informer(kind, True)
    for data in served_life()[:3]:
        feed(inf, data)
    assert (reader.read, reader.cut, reader.applied) == ((2, 1, 1) if kind == "hollow" else (3, 1, 2))
    assert inf.get("b/p")["spec"]["nodeName"] == "hollow-1"


@pytest.mark.parametrize("name,handled", [
    ("a ] in managedFields", False), ("a nested list in managedFields", False),
    ("a member between managedFields and resourceVersion", False), ("a second resourceVersion (a label)", False),
    ("a second managedFields list (in spec)", True), ("a managedFields label", True), ("no managedFields", True), ("created, bound, Running, deleted", True)])
def test_which_shapes_are_cut(name, handled):
    data = SEQUENCES[name][1]
    assert (parts(data, len(b'{"type":"MODIFIED","object":{')) is not None) == handled


def test_the_registrations_are_bounded():
    inf, reader, _ = informer("tracker", True)
    reader.limit = 3
    for i in range(10):
        feed(inf, line("ADDED", pod(i + 1, name=f"p{i}", uid=f"u{i}")))
        feed(inf, line("MODIFIED", pod(i + 100, name=f"p{i}", uid=f"u{i}", node="n", status=BOUND)))
    assert len(reader) == 3 and len(reader._keys) == 3
    feed(inf, line("MODIFIED", pod(200, name="p9", uid="u9", node="n", status=RUNNING)))
    feed(inf, line("MODIFIED", pod(201, name="p0", uid="u0", node="n", status=RUNNING)))   # forgotten: decoded (cut)
    assert reader.applied == 11 and inf.get("b/p0")["status"]["phase"] == "Running"


# --- expected status writes (LineReader.expect: the hollow kubelets' own Running writes) ---

def reordered(status: dict, first=("conditions", "podIP")) -> dict:
    """The same status with other key order at the top (as running_status writes it, where the
    apiserver stores the members of the earlier status first)."""
    return {**{k: status[k] for k in first}, **status}


def expect(key="b/p", status=None):
    return ("expect", key, reordered(RUNNING) if status is None else status)


def two_pods(*steps_q, status_q=None):
    """p's Running write expected and seen (its status decoded: the key order is learned from it),
    then q's steps (its binding first)."""
    return [line("ADDED", pod(1, node="hollow-1", status=BOUND)), expect(),
            line("MODIFIED", pod(2, node="hollow-1", status=RUNNING)),
            line("ADDED", pod(3, name="q", uid="u-q", node="hollow-2", status=BOUND)), *steps_q]


def q_running(rv=4, status=RUNNING, **kw):
    return line("MODIFIED", pod(rv, name="q", uid="u-q", node="hollow-2", status=status, **kw))


EXPECTED = {  # name -> (steps, status writes taken as expected)
    "the first is decoded (order learned), the next taken as expected": (
        two_pods(expect("b/q"), q_running()), 1),
    "three pods": (two_pods(expect("b/q"), q_running(), line("ADDED", pod(5, name="r", uid="u-r", node="hollow-1",
                                                                       status=BOUND)),
                            expect("b/r"), line("MODIFIED", pod(6, name="r", uid="u-r", node="hollow-1",
                                                                status=RUNNING))), 2),
    "expected before the binding is seen": ([expect(), line("ADDED", pod(1, node="hollow-1", status=BOUND)),
                                            line("MODIFIED", pod(2, node="hollow-1", status=RUNNING))], 0),
    "the stored value differs": (two_pods(expect("b/q"), q_running(status={**RUNNING, "podIP": "10.128.0.3"})), 0),
    "the stored status has one more member": (two_pods(expect("b/q"), q_running(status={**RUNNING, "message": "m"})), 0),
    "the stored status lacks a member": (two_pods(expect("b/q"), q_running(
        status={k: v for k, v in RUNNING.items() if k != "startTime"})), 0),
    "the expected status has one more member": (two_pods(expect("b/q", reordered({**RUNNING, "message": "m"})),
                                                         q_running()), 0),
    "the expected status lacks a member": (two_pods(expect("b/q", {k: v for k, v in reordered(RUNNING).items()
                                                                   if k != "hostIP"}), q_running()), 0),
    "a nested member in another order": (two_pods(expect("b/q", {**reordered(RUNNING), "containerStatuses": [
        {"ready": True, "name": "c", "state": {"running": {"startedAt": "x"}}}]}), q_running()), 0),
    "the same values in another order at the top": (two_pods(expect("b/q"), q_running(
        status=reordered(RUNNING, first=("qosClass",)))), 0),
    "expected for another pod": (two_pods(expect("b/x"), q_running()), 0),
    "the write failed (forgotten)": (two_pods(expect("b/q"), ("forget", "b/q", None), q_running()), 0),
    "a label change between": (two_pods(expect("b/q"), q_running(rv=4, status=BOUND, labels={"app": "e"}),
                                        q_running(rv=5, labels={"app": "e"})), 1),
    "the same status written twice": (two_pods(expect("b/q"), q_running(), q_running(rv=5)), 1),
    "a second write expected with the first": (two_pods(expect("b/q"), expect("b/q", reordered(
        {**RUNNING, "podIP": "x"})), q_running(status={**RUNNING, "podIP": "x"})), 1),
    "not compact": (two_pods(expect("b/q"), q_running().replace(b'"phase":', b'"phase": ')), 0),
    "a key after status": (two_pods(expect("b/q"), q_running(after_status={"zz": 1})), 0),
    "deleted after": (two_pods(expect("b/q"), q_running(), q_running(rv=5, deleting=True),
                               line("DELETED", pod(6, name="q", uid="u-q", node="hollow-2", status=RUNNING,
                                                   deleting=True))), 1),
}


def feed_steps(inf, reader, steps, reading: bool):
    for step in steps:
        if isinstance(step, tuple):
            if reading:
                op, key, status = step
                reader.expect(key, status) if op == "expect" else reader.forget(key)
            continue
        yield feed(inf, step)


@pytest.mark.parametrize("kind", ["hollow", "tracker"])
@pytest.mark.parametrize("name", list(EXPECTED))
def test_expected_status_writes_leave_what_whole_decodes_leave(kind, name):
    """A status write matched against the status expected for it gives the informer what the
    whole decode gives (cache with key order, resume point, handler calls)."""
    steps, taken = EXPECTED[name]
    old, _, old_calls = informer(kind, False)
    new, reader, new_calls = informer(kind, True)
    for i, (got, want) in enumerate(zip(feed_steps(new, reader, steps, True), feed_steps(old, None, steps, False))):
        assert got == want, i
        assert new.cache == old.cache, i
        assert [list(v) for v in new.cache.values()] == [list(v) for v in old.cache.values()]
        assert [list(v["status"]) for v in new.cache.values()] == [list(v["status"]) for v in old.cache.values()]
        assert new.last_rv == old.last_rv, i
        assert new_calls == old_calls, i
    assert reader.expected == taken


def test_the_expected_statuses_are_bounded():
    _, reader, _ = informer("hollow", True)
    reader.limit = 3
    for i in range(10):
        reader.expect(f"b/p{i}", {"phase": "Running"})
    assert list(reader._expected) == ["b/p7", "b/p8", "b/p9"]


def test_expecting_stops_after_misses_in_a_row():
    """Statuses stored otherwise than written (here a member the apiserver would add) are decoded
    every time: after MISSES in a row the reader stops taking expectations (each costs an encode);
    one taken resets the count."""
    from labkube.kubelet.hollow.lines import MISSES
    inf, reader, _ = informer("hollow", True)
    steps = two_pods(expect("b/q"), q_running())
    for data in feed_steps(inf, reader, steps, True):
        pass
    assert (reader.expected, reader.misses) == (1, 0)
    for i in range(MISSES):
        name, uid = f"m{i}", f"u-m{i}"
        feed(inf, line("ADDED", pod(10 + 2 * i, name=name, uid=uid, node="hollow-1", status=BOUND)))
        reader.expect(f"b/{name}", reordered(RUNNING))
        feed(inf, line("MODIFIED", pod(11 + 2 * i, name=name, uid=uid, node="hollow-1", status={**RUNNING, "x": 1})))
    assert reader.misses == MISSES and reader.expected == 1
    reader.expect("b/z", reordered(RUNNING))
    assert reader._expected == {}
