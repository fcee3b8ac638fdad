"""Bound pods' status writes applied from the watch line (labkube.scheduler.statuslines): the
informer's cache and resume point are those a full decode gives, line for line, and only the
writes that change nothing the scheduler reads are applied undecoded."""
from __future__ import annotations

import copy

import orjson
import pytest

from labkube import jsonio
from labkube.client.informer import Informer
from labkube.scheduler import statuslines
from labkube.scheduler.statuslines import StatusLines, cut
from labkube.scheduler.views import pod_view

from .harness import run_queue, setup
from .objs import node, pod

MF_CREATE = {"manager": "kube-controller-manager", "operation": "Update", "apiVersion": "v1",
             "time": "2026-12-03T09:45:08Z", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                          "f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}}}}}}
MF_STATUS = {"manager": "hollow-kubelet", "operation": "Update", "apiVersion": "v1",
             "time": "2026-12-03T09:45:09Z", "fieldsType": "FieldsV1", "subresource": "status",
             "fieldsV1": {"f:status": {"f:conditions": {'k:{"type":"Ready"}': {".": {}, "f:status": {}}},
                                       "f:phase": {}, "f:podIP": {}}}}
RUNNING = {"phase": "Running", "qosClass": "Burstable", "hostIP": "10.0.0.1", "hostIPs": [{"ip": "10.0.0.1"}],
           "podIP": "10.1.0.5", "podIPs": [{"ip": "10.1.0.5"}], "startTime": "2026-12-03T09:45:09Z",
           "conditions": [{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"},
                          {"type": "ContainersReady", "status": "True"}],
           "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0, "started": True,
                                  "state": {"running": {"startedAt": "2026-12-03T09:45:09Z"}},
                                  "image": "nginx", "imageID": "fake://nginx", "containerID": "fake://abc"}]}


def created(mf=True):
    """A pod as the apiserver stores it, keys in its order (metadata with managedFields then
    resourceVersion last, spec, apiVersion, kind, status)."""
    md = {"name": "p1", "generateName": "p", "labels": {"app": "web"},
          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "r1",
                               "controller": True, "blockOwnerDeletion": True}],
          "namespace": "default", "uid": "u1", "creationTimestamp": "2026-12-03T09:45:08Z", "generation": 1}
    if mf:
        md["managedFields"] = [MF_CREATE]
    md["resourceVersion"] = "10"
    return {"metadata": md,
            "spec": {"containers": [{"name": "c", "image": "nginx",
                                     "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                                     "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
                     "restartPolicy": "Always", "schedulerName": "default-scheduler", "priority": 0,
                     "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                      "effect": "NoExecute", "tolerationSeconds": 300}],
                     "volumes": [{"name": "v", "emptyDir": {}}]},
            "apiVersion": "v1", "kind": "Pod", "status": {"phase": "Pending", "qosClass": "Burstable"}}


def bound(p, rv="11"):
    p = copy.deepcopy(p)
    p["metadata"]["resourceVersion"] = rv
    p["spec"]["nodeName"] = "n1"
    p["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
    return p


def status_write(p, rv, status=RUNNING, mf=True):
    """`p` after a kubelet's status write: a new status, a managedFields entry, a new resourceVersion."""
    p = copy.deepcopy(p)
    md = p["metadata"]
    if mf and "managedFields" in md:
        md["managedFields"] = [*md["managedFields"], MF_STATUS]
    md["resourceVersion"] = rv
    p["status"] = copy.deepcopy(status)
    return p


def line(t, obj):
    return orjson.dumps({"type": t, "object": obj})


class NoClient:
    pass


def informers():
    """(informer with StatusLines, its StatusLines, plain informer): both with the scheduler's view."""
    inf = Informer(NoClient(), "pods", transform=None)
    lines = StatusLines(inf)

    def view(p):
        v = pod_view(p)
        lines.decoded(v)
        return v
    inf.transform = view
    return inf, lines, Informer(NoClient(), "pods", transform=pod_view)


def feed(lines_in):
    """Feed the lines to both informers as Client.watch would: (informer, StatusLines, plain)."""
    inf, lines, plain = informers()
    for raw in lines_in:
        if lines.wanted(raw):
            inf.handle_event(jsonio.loads(raw))
        plain.handle_event(jsonio.loads(raw))
    return inf, lines, plain


def same(a: Informer, b: Informer) -> None:
    assert a.cache == b.cache
    assert orjson.dumps(a.cache) == orjson.dumps(b.cache)     # key order too
    assert a.last_rv == b.last_rv


def _meta(**kw):
    def f(p):
        p["metadata"].update(kw)
    return f


def _before_managed(k, v):
    def f(p):
        md = p["metadata"]
        items = list(md.items())
        i = [k for k, _ in items].index("managedFields")
        p["metadata"] = dict(items[:i] + [(k, v)] + items[i:])
    return f


def _after_managed(k, v):
    def f(p):
        md = p["metadata"]
        rv = md.pop("resourceVersion")
        md[k] = v
        md["resourceVersion"] = rv
    return f


def _spec(**kw):
    def f(p):
        p["spec"].update(kw)
    return f


def _status(**kw):
    def f(p):
        p["status"].update(kw)
    return f


def _image(p):
    p["spec"]["containers"][0]["image"] = "nginx:2"


def _top(p):
    p["extra"] = {"x": 1}


def _status_first(p):
    st = p.pop("status")
    items = list(p.items())
    p.clear()
    p.update([items[0], ("status", st), *items[1:]])


def _owner_rv(p):
    p["metadata"]["ownerReferences"][0]["resourceVersion"] = "3"


def _odd_manager(p):
    p["metadata"]["managedFields"][-1] = {**p["metadata"]["managedFields"][-1], "manager": "a],"}


def _new_uid(p):
    p["metadata"]["uid"] = "u2"


def _nothing(p):
    pass


# (name, change applied to the status-written pod, managedFields kept, applied undecoded)
CASES = [
    ("running", _nothing, True, True),
    ("running, no managedFields anywhere", _nothing, False, True),
    ("label added", lambda p: p["metadata"]["labels"].update(tier="a"), True, False),
    ("label changed", lambda p: p["metadata"]["labels"].update(app="db"), True, False),
    ("annotation added", _meta(annotations={"a": "b"}), True, False),
    ("deletionTimestamp after resourceVersion", _meta(deletionTimestamp="2026-12-03T10:00:00Z"), True, False),
    ("deletionTimestamp before managedFields", _before_managed("deletionTimestamp", "2026-12-03T10:00:00Z"),
     True, False),
    ("finalizers between managedFields and resourceVersion", _after_managed("finalizers", ["f"]), True, False),
    ("owner reference changed", lambda p: p["metadata"]["ownerReferences"][0].update(controller=False),
     True, False),
    ("a second resourceVersion key", _owner_rv, True, False),
    ("managedFields text holding '],\"'", _odd_manager, True, False),
    ("recreated with another uid", _new_uid, True, False),
    ("image changed", _image, True, False),
    ("tolerations changed", _spec(tolerations=[]), True, False),
    ("activeDeadlineSeconds set", _spec(activeDeadlineSeconds=30), True, False),
    ("Succeeded", _status(phase="Succeeded"), True, False),
    ("Failed", _status(phase="Failed"), True, False),
    ("nominatedNodeName", _status(nominatedNodeName="n2"), True, False),
    ("a top-level key after status", _top, True, False),
]


@pytest.mark.parametrize("name, change, mf, applied", CASES, ids=[c[0] for c in CASES])
def test_a_status_write_is_applied_only_when_it_changes_nothing_the_view_keeps_but_phase(name, change, mf,
                                                                                           applied):
    first = created(mf)
    b = bound(first)
    after = status_write(b, "12", mf=mf)
    change(after)
    inf, lines, plain = feed([line("ADDED", first), line("MODIFIED", b), line("MODIFIED", after)])
    same(inf, plain)
    assert lines.applied == (1 if applied else 0)


@pytest.mark.parametrize("name, lines_of", [
    ("status key first in both", lambda: [_reordered(bound(created())),
                                         _reordered(status_write(bound(created()), "12"))]),
    ("status key first, spec changed", lambda: [_reordered(bound(created())),
                                               _reordered(_changed(status_write(bound(created()), "12"), _image))]),
    ("a status object nested in spec, none at the top", lambda: [_nested(bound(created())),
                                                                _nested(status_write(bound(created()), "12"))]),
    ("not bound", lambda: [created(), status_write(created(), "12", status={"phase": "Pending"})]),
    ("bound with a nominatedNodeName", lambda: [_changed(bound(created()), _status(nominatedNodeName="n1")),
                                                status_write(bound(created()), "12")]),
    ("deleting", lambda: [_changed(bound(created()), _meta(deletionTimestamp="2026-12-03T10:00:00Z")),
                          _changed(status_write(bound(created()), "12"),
                                   _meta(deletionTimestamp="2026-12-03T10:00:00Z"))]),
])
def test_lines_of_other_shapes_are_decoded(name, lines_of):
    objs = lines_of()
    inf, lines, plain = feed([line("MODIFIED", o) for o in objs])
    same(inf, plain)
    assert lines.applied == 0


def _reordered(p):
    _status_first(p)
    return p


def _changed(p, f):
    f(p)
    return p


def _nested(p):
    st = p.pop("status")
    p["spec"]["x"] = {"status": st}
    return p


def test_writes_alternate_between_decoded_and_applied():
    """An applied write uses its fingerprint up (the view changed); the next write is decoded and
    registers it again, so a third one is applied."""
    b = bound(created())
    w1 = status_write(b, "12")
    w2 = status_write(w1, "13", status={**RUNNING, "conditions": RUNNING["conditions"][:1]})
    w3 = status_write(w2, "14")
    inf, lines, plain = feed([line("MODIFIED", o) for o in (b, w1, w2, w3)])
    same(inf, plain)
    assert lines.applied == 2


def test_an_added_line_or_a_line_after_a_relist_is_decoded():
    b = bound(created())
    inf, lines, plain = feed([line("ADDED", b), line("ADDED", status_write(b, "12"))])
    same(inf, plain)
    assert lines.applied == 0
    inf, lines, plain = feed([line("MODIFIED", b)])
    inf.cache["default/p1"] = pod_view(b)          # what a relist puts there: another object
    raw = line("MODIFIED", status_write(b, "12"))
    assert lines.wanted(raw)


def test_a_pod_the_scheduler_still_tracks_is_decoded():
    b = bound(created())
    inf, lines, plain = informers()
    lines.settled = lambda key: key != "default/p1"
    for raw in (line("MODIFIED", b), line("MODIFIED", status_write(b, "12"))):
        if lines.wanted(raw):
            inf.handle_event(jsonio.loads(raw))
    assert lines.applied == 0


def test_the_cut_spans_are_resource_version_and_managed_fields_only():
    b = bound(created())
    raw = line("MODIFIED", b)
    rv, head, body, st = cut(raw)
    assert rv == "11" and head.endswith(b'"managedFields":[') and raw[st:].startswith(b',"status":{')
    assert raw[body:].startswith(b'"},"spec":{')
    later = line("MODIFIED", status_write(b, "12"))
    _, head2, body2, st2 = cut(later)
    assert head2 == head and later[body2:st2] == raw[body:st]
    plain = line("MODIFIED", bound(created(mf=False)))
    assert cut(plain)[1].endswith(b'"resourceVersion":"')
    assert cut(line("ADDED", b)) is None and cut(line("DELETED", b)) is None
    assert cut(raw + b" ") is None
    odd = copy.deepcopy(b)
    odd["metadata"]["resourceVersion"] = "1a"
    assert cut(line("MODIFIED", odd)) is None
    two = bound(created(mf=False))          # a resourceVersion before the object's: not cut
    _owner_rv(two)
    assert cut(line("MODIFIED", two)) is None


def test_fingerprints_are_bounded(monkeypatch):
    monkeypatch.setattr(statuslines, "LIMIT", 3)
    inf, lines, _ = informers()
    for i in range(5):
        p = bound(created())
        p["metadata"]["name"] = f"p{i}"
        raw = line("MODIFIED", p)
        assert lines.wanted(raw)
        inf.handle_event(jsonio.loads(raw))
    assert len(lines) == 3


async def test_the_scheduler_applies_its_bound_pods_running_writes():
    """Through the in-memory API: bound pods' Running writes are applied undecoded, and the
    scheduler's informer and node cache read as a full decode leaves them."""
    api, s, clock = await setup([node("n1", cpu="4"), node("n2", cpu="4")])
    for i in range(4):
        await api.create("pods", pod(f"p{i}", cpu="100m"), namespace="default")
    await api.settle()
    await run_queue(api, s)
    for i in range(4):
        await api.patch("pods", f"p{i}", {"status": {"phase": "Running", "podIP": f"10.1.0.{i}"}},
                        namespace="default", subresource="status")
    await api.settle()
    assert s.status_lines.applied == 4
    for o in await api.list("pods", "default"):
        key = f"default/{o['metadata']['name']}"
        assert s.pods.get(key) == pod_view(o)
        assert orjson.dumps(s.pods.get(key)) == orjson.dumps(pod_view(o))
        assert s.pods.get(key)["status"]["phase"] == "Running"
        assert any(p is s.pods.get(key) for p in s.cache.infos[o["spec"]["nodeName"]].pods)
    await s.pods.stop()
    await s.nodes.stop()


@pytest.mark.parametrize("name, put", [
    ("queued", lambda q: q.add("default/p1", 3)),
    ("backing off", lambda q: q.add_backoff("default/p1")),
    ("parked unschedulable", lambda q: q.add_unschedulable("default/p1", 1)),
    ("backing off after an attempt, then popped", lambda q: (q.add_backoff("default/p1"), q.pop_nowait())),
])
def test_the_queue_holds_what_delete_clears(name, put):
    """SchedulingQueue.holds: the scheduler applies a status write undecoded only when the queue
    keeps nothing for the pod (its update handler's queue.delete would change nothing)."""
    from labkube.client.clock import FakeClock
    from labkube.scheduler.queue import SchedulingQueue
    q = SchedulingQueue(FakeClock())
    assert not q.holds("default/p1")
    put(q)
    assert q.holds("default/p1") and not q.holds("default/p2")
    q.done("default/p1")
    q.delete("default/p1")
    assert not q.holds("default/p1")
