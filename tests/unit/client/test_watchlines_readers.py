"""The three partial readers of pod watch lines (the scheduler's StatusLines, the hollow kubelets'
and the bench tracker's LineReader, the controller-manager's PodLines) over one table of odd lines:
each reader's informer ends every line with the same cache (key order too), resume point, handler
calls and raised error type as a twin informer that decodes every line whole; and the shared cut
(labkube.client.watchlines.parts) answers as the scheduler's and the hollow reader's own cutters
did before it was shared (their earlier code kept below)."""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import pytest

from labkube import jsonio
from labkube.client.informer import Informer
from labkube.client.rest import _event
from labkube.client.watchlines import ADDED, MODIFIED, parts
from labkube.controllers.podlines import PodLines
from labkube.controllers.views import pod_view as ctrl_view
from labkube.kubelet.hollow.pods import HollowPods
from labkube.scheduler.statuslines import StatusLines, cut
from labkube.scheduler.views import pod_view as sched_view

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))
from podtracker import PodTracker  # noqa: E402

NS = "default"
MF = [{"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
       "time": "2026-12-03T09:45:08Z", "fieldsType": "FieldsV1",
       "fieldsV1": {"f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}}}}}}]
MF_STATUS = {"manager": "hollow-kubelet", "operation": "Update", "apiVersion": "v1", "time": "2026-12-03T09:45:09Z",
             "fieldsType": "FieldsV1", "subresource": "status", "fieldsV1": {"f:status": {"f:phase": {}}}}
BOUND = {"phase": "Pending", "qosClass": "Burstable",
         "conditions": [{"type": "PodScheduled", "status": "True", "lastTransitionTime": "2026-12-03T09:45:08Z"}]}
RUNNING = {"phase": "Running", "qosClass": "Burstable", "hostIP": "10.0.0.1", "podIP": "10.1.0.5",
           "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
           "containerStatuses": [{"name": "c", "ready": True, "state": {"running": {"startedAt": "x"}}}]}


def pod(rv, node=None, status=None, name="p1", labels=None, annotations=None, mf=True, spec_extra=None,
        order=None, meta_order=None, drop=()):
    md = {"name": name, "generateName": "p", "namespace": NS, "uid": "u1", "labels": labels or {"app": "web"},
          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "r1",
                               "controller": True}],
          "creationTimestamp": "2026-12-03T09:45:08Z"}
    if annotations:
        md["annotations"] = annotations
    if mf:
        md["managedFields"] = copy.deepcopy(MF) + ([MF_STATUS] if status is RUNNING else [])
    md["resourceVersion"] = str(rv)
    if meta_order:
        md = {**{k: md[k] for k in meta_order if k in md}, **md}
    spec = {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "100m"}}}],
            "restartPolicy": "Always", "schedulerName": "default-scheduler", **(spec_extra or {})}
    if node is not None:
        spec["nodeName"] = node
    obj = {"apiVersion": "v1", "kind": "Pod", "metadata": md, "spec": spec,
           "status": copy.deepcopy(status if status is not None else {"phase": "Pending", "qosClass": "Burstable"})}
    if order:
        obj = {**{k: obj[k] for k in order}, **obj}
    for k in drop:
        obj.pop(k, None)
    return obj


def line(typ, obj) -> bytes:
    return jsonio.dumps({"type": typ, "object": obj})


def life(node="hollow-1", **kw):
    """Created, bound, Running, deleting, gone: what each reader applies from the text."""
    return [line("ADDED", pod(10, **kw)), line("MODIFIED", pod(11, node=node, status=BOUND, **kw)),
            line("MODIFIED", pod(12, node=node, status=RUNNING, **kw)),
            line("DELETED", pod(13, node=node, status=RUNNING, **kw))]


def raw(life_lines, i, old, new):
    out = list(life_lines)
    out[i] = out[i].replace(old, new, 1)
    return out


BASE = life()
SEQUENCES = {
    "usual": BASE,
    "no managedFields": life(mf=False),
    "escaped quotes in name and labels": life(name='p"1', labels={"a": 'x\\"y"]'}),
    "unicode in labels and annotations": life(labels={"app": "wéb☃"}, annotations={"n": "ünï 𝄞"}),
    "unicode node name": life(node="höllow-1"),
    "node name with a space": life(node="hollow 1"),
    "node name with an escape": life(node='hollow"1'),
    "resourceVersion marker in an annotation": life(annotations={'"resourceVersion":"': '"resourceVersion":"9"'}),
    "managedFields marker in a label": life(labels={"x": '"managedFields":[]'}),
    "status marker in an annotation": life(annotations={"s": ',"status":{"phase":"Failed"}'}),
    "spec with a managedFields key": life(spec_extra={"overhead": {"managedFields": ["1"]}}),
    "spec with a resourceVersion key": life(spec_extra={"x": {"resourceVersion": "5"}}),
    "status before spec": life(order=["status"]),
    "metadata last": [line(t, {k: v for k, v in o.items() if k != "metadata"} | {"metadata": o["metadata"]})
                      for t, o in (("ADDED", pod(10)), ("MODIFIED", pod(11, node="hollow-1", status=BOUND)),
                                   ("MODIFIED", pod(12, node="hollow-1", status=RUNNING)))],
    "resourceVersion before managedFields": life(meta_order=["resourceVersion"]),
    "kind first": life(order=["kind", "apiVersion"]),
    "no status": life(drop=("status",)),
    "no spec": [line("ADDED", pod(10, drop=("spec",))), line("MODIFIED", pod(11, drop=("spec",)))],
    "no resourceVersion": raw(BASE, 2, b'"resourceVersion":"12",', b""),
    "resourceVersion not digits": raw(BASE, 2, b'"resourceVersion":"12"', b'"resourceVersion":"1a"'),
    "type after object": [BASE[0], BASE[1], jsonio.dumps({"object": pod(12, node="hollow-1", status=RUNNING),
                                                          "type": "MODIFIED"})],
    "terminal phase": [*BASE[:2], line("MODIFIED", pod(12, node="hollow-1", status={**RUNNING, "phase": "Succeeded"}))],
    "nominated": [*BASE[:2], line("MODIFIED", pod(12, node="hollow-1", status={**RUNNING, "nominatedNodeName": "n"}))],
    "a member after status": [*BASE[:2], line("MODIFIED", {**pod(12, node="hollow-1", status=RUNNING), "zz": 1})],
    "a second status key": [*BASE[:2], BASE[2][:-2] + b',"status":{"phase":"Failed"}}}'],
    "label changed with the status": [*BASE[:2], line("MODIFIED", pod(12, node="hollow-1", status=RUNNING,
                                                                      labels={"app": "db"}))],
    "bookmark": [*BASE[:2], b'{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":'
                            b'{"resourceVersion":"15"}}}', BASE[2]],
    "error": [*BASE[:2], b'{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","status":"Failure",'
                         b'"reason":"Expired","code":410}}'],
    "deleted right after the binding": [BASE[0], BASE[1], BASE[3].replace(b'"resourceVersion":"13"', b'"resourceVersion":"12"')],
    "invalid JSON in status": raw(BASE, 2, b'"phase":"Running"', b'"phase":Running'),
    "truncated line": [BASE[0], BASE[1], BASE[2][:-1]],
}


class NoClient:
    pass


def informer(kind, partial):
    """The reader's informer as its component builds it (`partial`) or the same informer decoding
    every line whole (the code before any reader), with a log of its handler calls."""
    if kind == "scheduler":
        inf = Informer(NoClient(), "pods", transform=sched_view)
        if partial:
            lines = StatusLines(inf)

            def view(p):
                v = sched_view(p)
                lines.decoded(v, p)
                return v
            inf.transform, inf.decode_line = view, lines.wanted
    elif kind == "hollow":
        hp = HollowPods(None, {"hollow-1": None, "höllow-1": None, "hollow 1": None, 'hollow"1': None})
        inf = hp.informer
        if not partial:
            inf.decode_line = hp.lines.skip
    elif kind == "tracker":
        inf = PodTracker(None, NS, clock=lambda: 0.0).inf
        if not partial:
            inf.decode_line = None
    else:
        inf = Informer(NoClient(), "pods", transform=ctrl_view)
        if partial:
            PodLines(inf, ctrl_view)
    calls = []
    inf.add_handlers(lambda o: calls.append(("add", jsonio.dumps(o))),
                     lambda o, n: calls.append(("update", jsonio.dumps(o), jsonio.dumps(n))),
                     lambda o: calls.append(("delete", jsonio.dumps(o))))
    return inf, calls


def feed(inf, data):
    """What Client.watch and the informer do with one line; the error's type if it raises."""
    try:
        if inf.decode_line is not None and not inf.decode_line(data):
            return None
        ev = _event(data, inf.resource)
        if ev is not None:
            inf.handle_event(ev)
    except Exception as e:  # noqa: BLE001
        return type(e)
    return None


READERS = ["scheduler", "hollow", "tracker", "controllers"]


def same_as_whole_decodes(kind, seq, plain_seq=None):
    (inf, calls), (plain, plain_calls) = informer(kind, True), informer(kind, False)
    rd = inf.decode_line.__self__
    for i, data in enumerate(seq):
        applied = getattr(rd, "applied", 0)
        n = len(plain_calls)
        assert feed(inf, data) == feed(plain, (plain_seq or seq)[i]), f"line {i}"
        if kind == "scheduler" and rd.applied > applied:
            # a bound pod's status write: by design the scheduler's handlers do not run (they would
            # change nothing for a settled pod); the whole decode runs them once, an update
            assert [c[0] for c in plain_calls[n:]] == ["update"]
            del plain_calls[n:]
        assert jsonio.dumps(dict(inf.cache)) == jsonio.dumps(dict(plain.cache)), f"cache after line {i}"
        assert inf.last_rv == plain.last_rv, f"resume point after line {i}"
        assert calls == plain_calls, f"handler calls after line {i}"


@pytest.mark.parametrize("kind", READERS)
@pytest.mark.parametrize("name", list(SEQUENCES))
def test_every_reader_hands_on_what_whole_decodes_give(kind, name):
    same_as_whole_decodes(kind, SEQUENCES[name])


@pytest.mark.parametrize("kind", READERS)
def test_invalid_json_inside_managed_fields_alone_is_read_as_documented(kind):
    """The one line every reader reads otherwise than a whole decode (each docstring says so): the
    managedFields content is cut out unread, so the rest is handed on as from the valid line (the
    apiserver's lines are JSON dumps; the views drop managedFields)."""
    bad = raw(BASE, 2, b'"f:phase":{}', b'"f:phase":{')
    assert bad != BASE
    same_as_whole_decodes(kind, bad, BASE)


def _counted(kind, seq):
    inf, _ = informer(kind, True)
    rd = inf.decode_line.__self__
    for data in seq:
        feed(inf, data)
    return rd


def test_the_usual_lines_are_read_in_part_by_every_reader():
    """Not vacuous: each reader takes the usual binding and Running lines from their text."""
    assert _counted("scheduler", BASE).applied == 1 and _counted("scheduler", BASE).bound == 1
    assert _counted("hollow", BASE).applied == 1            # Running (the binding: decoded, list cut)
    assert _counted("tracker", BASE).applied == 2           # binding and Running
    assert _counted("controllers", BASE).applied == 2


# --- the cutters before they shared `parts` (HEAD 0510d67), for the comparison below

def _old_sched_cut(line, prefix=MODIFIED):
    from labkube.client.watchlines import MANAGED, RV, STATUS
    if not line.startswith(prefix) or not line.endswith(b"}}"):
        return None
    st = line.rfind(STATUS)
    if st < 0:
        return None
    v = line.find(RV, 0, st)
    if v < 0 or line.find(RV, v + 1, st) >= 0:
        return None
    v0 = v + len(RV)
    v1 = line.find(b'"', v0, st)
    if v1 < 0:
        return None
    rv = line[v0:v1]
    if not rv.isdigit():
        return None
    m = line.find(MANAGED, 0, st)
    if m < 0:
        return rv.decode(), line[:v0], v1, st
    m += len(MANAGED)
    if m > v or line.find(b"]", m, v) != v - 2 or line[v - 1] != 44 or line.find(MANAGED, m, st) >= 0:
        return None
    return rv.decode(), line[:m], v1, st


def _old_hollow_parts(line, start):
    from labkube.client.watchlines import MANAGED, RV, STATUS
    if not line.endswith(b"}}"):
        return None
    st = line.rfind(STATUS, start)
    end = st if st >= 0 else len(line)
    v = line.find(RV, start, end)
    if v < 0 or line.find(RV, v + 1, end) >= 0:
        return None
    v0 = v + len(RV)
    v1 = line.find(b'"', v0, end)
    if v1 < 0:
        return None
    rv = line[v0:v1]
    if not rv.isdigit():
        return None
    m = line.find(MANAGED, start, end)
    if m < 0:
        return rv.decode(), -1, -1, v1, st
    m += len(MANAGED)
    if m > v or line.find(b"]", m, v) != v - 2 or line[v - 1] != 44:
        return None
    return rv.decode(), m, v - 2, v1, st


def _variants():
    """Every table line, as ADDED and MODIFIED, and cut short or with a marker doubled or dropped."""
    marks = (b'"managedFields":[', b'"resourceVersion":"', b',"status":{', b"]", b"}}", b'"')
    for seq in SEQUENCES.values():
        for data in seq:
            for d in {data, data.replace(b'"type":"MODIFIED"', b'"type":"ADDED"', 1),
                      data.replace(b'"type":"ADDED"', b'"type":"MODIFIED"', 1)}:
                yield d
                for n in (1, 2, 30, len(d) // 2):
                    yield d[:-n]
                for mk in marks:
                    i = d.find(mk)
                    if i >= 0:
                        yield d[:i] + d[i + len(mk):]
                        yield d[:i] + mk + d[i:]
                        j = d.rfind(mk)
                        yield d[:j] + mk + d[j:]


def test_the_shared_cut_answers_as_the_cutters_before_it():
    n = 0
    for d in _variants():
        n += 1
        for prefix in (MODIFIED, ADDED):
            assert cut(d, prefix) == _old_sched_cut(d, prefix), d
            assert parts(d, len(prefix)) == _old_hollow_parts(d, len(prefix)), d
    assert n > 1000
