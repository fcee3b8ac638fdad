"""Bound pods' status writes applied from the watch line (labkube.scheduler.statuslines): the
informer's cache and resume point are those a full decode gives, line for line, and only the
writes that change nothing the scheduler reads are applied undecoded."""
from __future__ import annotations

import copy
import random

import orjson
import pytest

from labkube import jsonio
from labkube.client.informer import Informer
from labkube.scheduler import statuslines
from labkube.scheduler.statuslines import StatusLines, cut
from labkube.scheduler.views import pod_view
from labkube.client.informer import object_key
from labkube.client.rest import _event
from labkube.client.clock import FakeClock
from labkube.client.fake import FakeApi
from labkube.scheduler.plugins import default_profile
from labkube.scheduler.scheduler import Scheduler

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


# -- a pending pod's binding echo, handled from its line ---------------------------------------

def api_created(mf=True):
    """A pending pod as the apiserver writes it: apiVersion and kind first, spec before status."""
    p = created(mf)
    return {"apiVersion": "v1", "kind": "Pod", "metadata": p["metadata"], "spec": p["spec"],
            "status": p["status"]}


def api_bound(p, rv="11", node="n1"):
    """`p` after the binding subresource: nodeName appended to its spec, PodScheduled in its status."""
    p = copy.deepcopy(p)
    p["metadata"]["resourceVersion"] = rv
    p["spec"]["nodeName"] = node
    p["status"]["conditions"] = [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                  "lastTransitionTime": "2026-12-03T09:45:09Z"}]
    return p


def handled_informers():
    """As informers(), the transform handing the decoded pod to StatusLines (as the scheduler's),
    and each informer recording its handler calls (old and new as JSON text, key order included)."""
    inf, lines, plain = informers()

    def view(p):
        v = pod_view(p)
        lines.decoded(v, p)
        return v
    inf.transform = view
    calls = ([], [])
    for i, c in zip((inf, plain), calls):
        i.add_handlers(lambda o, c=c: c.append(("ADDED", orjson.dumps(o))),
                       lambda o, n, c=c: c.append(("MODIFIED", orjson.dumps(o), orjson.dumps(n))),
                       lambda o, c=c: c.append(("DELETED", orjson.dumps(o))))
    return inf, lines, plain, calls


def feed_handled(lines_in):
    """Feed both informers; after every line their caches, resume points and handler calls agree
    (but for a status write applied undecoded: by design no handler sees it)."""
    inf, lines, plain, calls = handled_informers()
    for raw in lines_in:
        applied = lines.applied
        if lines.wanted(raw):
            inf.handle_event(jsonio.loads(raw))
        plain.handle_event(jsonio.loads(raw))
        same(inf, plain)
        if lines.applied > applied:
            calls[1].pop()
        assert calls[0] == calls[1]
    return inf, lines, plain


def _node(name):
    def f(p):
        p["spec"]["nodeName"] = name
    return f


def _spec_key_after_node(p):
    p["spec"]["hostname"] = "h"           # a key after nodeName: not the binding's text


def _node_first(p):
    p["spec"] = {"nodeName": p["spec"].pop("nodeName"), **p["spec"]}


def _same_length_image(p):
    c = p["spec"]["containers"][0]
    c["image"] = c["image"][:-1] + "y"


def _label(p):
    p["metadata"]["labels"]["tier"] = "a"


def _mf_added(p):
    p["metadata"]["managedFields"] = [*p["metadata"]["managedFields"], MF_STATUS]


# (name, change applied to the binding's echo, handled from the line)
ECHOES = [
    ("binding", _nothing, True),
    ("binding, managedFields changed", _mf_added, True),
    ("binding to a node with a long name", _node("n-" + "x" * 80), True),
    ("binding to a node with a non-ASCII name", _node("nœud-1"), True),
    ("binding to a node with an escaped name", _node('n"1'), False),
    ("binding with an empty nodeName", _node(""), False),
    ("a label added too", _label, False),
    ("an annotation added too", _meta(annotations={"a": "b"}), False),
    ("deletionTimestamp set too", _meta(deletionTimestamp="2026-12-03T10:00:00Z"), False),
    ("image changed too", _image, False),
    ("image changed too, same length", _same_length_image, False),
    ("a spec key after nodeName", _spec_key_after_node, False),
    ("nodeName first in the spec", _node_first, False),
    ("recreated with another uid", _new_uid, False),
    ("a second resourceVersion key", _owner_rv, False),
    ("managedFields text holding '],\"'", _odd_manager, False),
    ("Succeeded", _status(phase="Succeeded"), True),
    ("Failed", _status(phase="Failed"), True),
    ("nominatedNodeName in the status", _status(nominatedNodeName="n2"), True),
    ("a top-level key after status", _top, False),
]


@pytest.mark.parametrize("name, change, handled", ECHOES, ids=[e[0] for e in ECHOES])
@pytest.mark.parametrize("mf", [True, False], ids=["managedFields", "no managedFields"])
def test_a_binding_echo_is_handled_from_its_line_only_when_it_is_the_binding_alone(name, change, handled, mf):
    if not mf and change in (_mf_added, _odd_manager):
        pytest.skip("about managedFields")
    first = api_created(mf)
    echo = api_bound(first)
    change(echo)
    inf, lines, plain = feed_handled([line("ADDED", first), line("MODIFIED", echo),
                                      line("MODIFIED", status_write(echo, "12", mf=mf))])
    assert lines.bound == (1 if handled else 0)


def test_a_handled_binding_echo_registers_the_bound_view_for_its_status_writes():
    first = api_created()
    echo = api_bound(first)
    inf, lines, plain = feed_handled([line("ADDED", first), line("MODIFIED", echo),
                                      line("MODIFIED", status_write(echo, "12"))])
    assert lines.bound == 1 and lines.applied == 1


@pytest.mark.parametrize("name, objs", [
    ("status key first", lambda: [_reordered(api_created()), _reordered(api_bound(api_created()))]),
    ("kind between spec and status", lambda: [created(), bound(created())]),
    ("nodeName '' before the binding", lambda: [_changed(api_created(), _node("")),
                                                _changed(api_bound(api_created()), _node("n1"))]),
    ("a status object nested in spec, none at the top", lambda: [_nested(api_created()), _nested(api_bound(api_created()))]),
    ("pending with a nominatedNodeName", lambda: [_changed(api_created(), _status(nominatedNodeName="n1")),
                                                  api_bound(api_created())]),
    ("pending and deleting", lambda: [_changed(api_created(), _meta(deletionTimestamp="2026-12-03T10:00:00Z")),
                                      _changed(api_bound(api_created()), _meta(deletionTimestamp="2026-12-03T10:00:00Z"))]),
])
def test_echoes_of_other_shapes_are_decoded(name, objs):
    first, echo = objs()
    inf, lines, plain = feed_handled([line("ADDED", first), line("MODIFIED", echo)])
    assert lines.bound == 0


def test_a_node_name_added_as_the_last_key_of_another_part_is_decoded():
    """The text of a binding, but nodeName added at the end of the metadata (the object's key
    before status): the spec must be that key."""
    def metadata_last(p):
        md = p.pop("metadata")
        st = p.pop("status")
        p["metadata"], p["status"] = md, st
        return p
    first = metadata_last(api_created(mf=False))
    echo = copy.deepcopy(first)
    echo["metadata"]["resourceVersion"] = "11"
    echo["metadata"]["nodeName"] = "n1"
    echo["status"]["conditions"] = [{"type": "PodScheduled", "status": "True"}]
    inf, lines, plain = feed_handled([line("ADDED", first), line("MODIFIED", echo)])
    assert lines.bound == 0


def test_a_pending_pod_registered_from_a_modified_line_and_not_after_a_relist():
    first = api_created()
    unsched = copy.deepcopy(first)
    unsched["metadata"]["resourceVersion"] = "10"
    unsched["status"]["conditions"] = [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable"}]
    inf, lines, plain = feed_handled([line("MODIFIED", unsched), line("MODIFIED", api_bound(first))])
    assert lines.bound == 1
    inf, lines, plain, _ = handled_informers()
    raw = line("ADDED", first)
    if lines.wanted(raw):
        inf.handle_event(jsonio.loads(raw))
    inf.cache["default/p1"] = pod_view(first)       # what a relist puts there: another object
    assert lines.wanted(line("MODIFIED", api_bound(first)))
    assert lines.bound == 0


def test_a_deleted_pending_pod_is_forgotten_and_pending_registrations_are_bounded(monkeypatch):
    inf, lines, plain, _ = handled_informers()
    raw = line("ADDED", api_created())
    if lines.wanted(raw):
        inf.handle_event(jsonio.loads(raw))
    assert len(lines._pending) == 1
    lines.forget("default/p1")
    assert not lines._pending and not lines._pending_keys
    monkeypatch.setattr(statuslines, "LIMIT", 3)
    inf, lines, plain, _ = handled_informers()
    for i in range(5):
        p = api_created()
        p["metadata"]["name"] = f"p{i}"
        raw = line("ADDED", p)
        if lines.wanted(raw):
            inf.handle_event(jsonio.loads(raw))
    assert sorted(lines._pending_keys) == ["default/p0", "default/p1", "default/p2"]   # the oldest kept


async def test_the_scheduler_handles_its_bindings_echoes_from_the_line():
    """Through the in-memory API: the scheduler's informer, queue and node cache read after the
    bindings' echoes as a full decode leaves them."""
    api, s, clock = await setup([node("n1", cpu="4"), node("n2", cpu="4")])
    for i in range(4):
        await api.create("pods", pod(f"p{i}", cpu="100m"), namespace="default")
    await api.settle()
    await run_queue(api, s)
    for o in await api.list("pods", "default"):
        key = f"default/{o['metadata']['name']}"
        assert orjson.dumps(s.pods.get(key)) == orjson.dumps(pod_view(o))
        assert any(p is s.pods.get(key) for p in s.cache.infos[o["spec"]["nodeName"]].pods)
    assert s.status_lines.bound == 4
    assert not s.assumed and not s.queue.holds("default/p0")
    await s.pods.stop()
    await s.nodes.stop()


# -- ADDED lines decoded without the managedFields list's content ------------------------------

def _mf(*entries):
    def f(p):
        p["metadata"]["managedFields"] = [*p["metadata"]["managedFields"], *entries]
    return f


def _mf_empty(p):
    p["metadata"]["managedFields"] = []


def _mf_after_rv(p):
    md = p["metadata"]
    mf = md.pop("managedFields")
    md["managedFields"] = mf


def _mf_nested_list(p):
    mf = copy.deepcopy(p["metadata"]["managedFields"])     # MF_CREATE is shared
    mf[0]["fieldsV1"]["x"] = [1, 2]
    p["metadata"]["managedFields"] = mf


def _mf_in_spec(p):
    p["spec"]["x"] = {"managedFields": [{"manager": "m"}]}


def _no_kind(p):
    del p["kind"]
    del p["apiVersion"]


def _mf_string(text):
    return _mf({**MF_STATUS, "manager": text})


# (name, change to the created pending pod, decoded without managedFields)
ADDS = [
    ("pending", _nothing, True),
    ("two managedFields entries", _mf(MF_STATUS), True),
    ("managedFields empty", _mf_empty, True),
    ("no managedFields", lambda p: p["metadata"].pop("managedFields"), False),
    ("']' in a managedFields string", _mf_string("a]b"), False),
    ("'],\"resourceVersion\":\"' in a managedFields string", _mf_string('],"resourceVersion":"9'), False),
    ("'[' in a managedFields string", _mf_string("a[b"), True),
    ("a nested list in managedFields", _mf_nested_list, False),
    ("managedFields after resourceVersion", _mf_after_rv, False),
    ("a managedFields key in spec too", _mf_in_spec, False),
    ("a second resourceVersion key", _owner_rv, False),
    ("no kind and apiVersion", _no_kind, True),
    ("bound", _node("n1"), True),
    ("Succeeded", _status(phase="Succeeded"), True),
    ("nominatedNodeName", _status(nominatedNodeName="n2"), True),
    ("deleting", _meta(deletionTimestamp="2026-12-03T10:00:00Z"), True),
    ("status key first (no resourceVersion before the tail)", _status_first, False),
    ("a top-level key after status", _top, True),
    ("non-ASCII label", lambda p: p["metadata"]["labels"].update(app="wéb"), True),
]


def watched(raw, inf):
    """The event Client.watch yields for the line (rest._event: kind and apiVersion defaulted)."""
    return _event(raw, inf.resource)


def added_informers(fast):
    """As handled_informers(), the ADDED fast path on or off (off: every ADDED line decoded whole
    by the watch, as before)."""
    inf, lines, plain, calls = handled_informers()
    if not fast:
        lines._added = lambda line, rv, m: True
    return inf, lines, calls


def feed_both(lines_in):
    """Feed the lines to an informer whose StatusLines has the ADDED fast path and to one whose
    has not: after every line the caches (key order too), resume points, handler calls and the
    StatusLines' registrations are the same. (fast, slow) StatusLines."""
    (a, la, ca), (b, lb, cb) = added_informers(True), added_informers(False)
    for raw in lines_in:
        for inf, lines in ((a, la), (b, lb)):
            if lines.wanted(raw):
                inf.handle_event(watched(raw, inf))
        assert a.cache == b.cache
        assert orjson.dumps(a.cache) == orjson.dumps(b.cache)
        assert a.last_rv == b.last_rv
        assert ca == cb
        assert la._line is None and lb._line is None
        assert {k: (v[0], v[2]) for k, v in la._pending.items()} == {k: (v[0], v[2]) for k, v in lb._pending.items()}
        assert all(a.cache[v[0]] is v[1] for v in la._pending.values())
        assert la._pending_keys == lb._pending_keys
        assert {k: v[0] for k, v in la._views.items()} == {k: v[0] for k, v in lb._views.items()}
        assert la._keys == lb._keys
        assert (la.bound, la.applied) == (lb.bound, lb.applied)
    assert lb.cut == 0
    return la, lb


@pytest.mark.parametrize("name, change, fast", ADDS, ids=[a[0] for a in ADDS])
@pytest.mark.parametrize("then", ["alone", "bound", "bound and running", "deleted"])
def test_an_added_line_is_decoded_without_managed_fields_with_the_same_results(name, change, fast, then):
    first = api_created()
    change(first)
    seq = [line("ADDED", first)]
    if then in ("bound", "bound and running") and "nodeName" not in first["spec"]:
        echo = api_bound(first)
        seq.append(line("MODIFIED", echo))
        if then == "bound and running":
            seq.append(line("MODIFIED", status_write(echo, "12")))
    elif then == "deleted":
        seq.append(line("DELETED", first))
    la, lb = feed_both(seq)
    assert la.cut == (1 if fast else 0)


def test_added_lines_of_many_pods_their_bindings_and_a_second_added_give_the_same_results():
    objs = []
    for i, (_, change, _) in enumerate(ADDS):
        p = api_created()
        p["metadata"]["name"] = f"p{i}"
        p["metadata"]["uid"] = f"u{i}"
        p["metadata"]["resourceVersion"] = str(100 + i)
        change(p)
        objs.append(p)
    seq = [line("ADDED", p) for p in objs]
    seq += [line("MODIFIED", api_bound(p, rv=str(200 + i))) for i, p in enumerate(objs) if "nodeName" not in p["spec"]]
    seq += [line("ADDED", objs[0])]                     # a pod's ADDED line again (a re-watch)
    la, lb = feed_both(seq)
    assert la.cut == sum(1 for a in ADDS if a[2]) + 1
    assert la.bound == lb.bound > 0


@pytest.mark.parametrize("raw", [
    b'{"type":"ADDED","object":{"metadata":{"managedFields":[{"a":1}],"resourceVersion":"7"},"status":{}}',
    b'{"type":"ADDED","object":{"metadata":{"managedFields":[{"a":1}],"resourceVersion":"7"},"status":{}}}',
    b'{"type":"ADDED","object":{"metadata":{"name":"p","namespace":"d","managedFields":[{"a":1}],"resourceVersion":"7"},"status":{}},"x":1}',
    b'{"type":"ADDED","object":{"metadata":{"name":"p","namespace":"d","managedFields":[{"a":1}],"resourceVersion":"7"},"status":{}}}',
    b'{"type":"ADDED","object":{"metadata":{"name":"p","namespace":"d","managedFields":[{"a":1}],"resourceVersion":"7"},"spec":{},"status":{}}}',
    b'{"type":"ADDED","object":{"metadata":{"name":"p","namespace":"d","managedFields":[{"a":1}],"resourceVersion":"7","resourceVersion":"8"},"status":{}}}',
    b'{"type":"ADDED","object":{"metadata":{"name":"p","namespace":"d","managedFields":[{"a":1}],"resourceVersion":"7"},"metadata":{},"status":{}}}',
    b'{"type":"ADDED","object":{"metadata":{"name":"p","namespace":"d","x":{"managedFields":[{"a":1}],"resourceVersion":"7"}},"spec":{},"status":{}}}',
    b'{"type":"ADDED","object":{"metadata":{"name":"p","namespace":"d","managedFields":[{"a":1}],"resourceVersion":"7"},"spec":{"x":"\xff"},"status":{}}}',
    b'{"type":"ADDED","type":"MODIFIED","object":{"metadata":{"name":"p","namespace":"d","managedFields":[{"a":1}],"resourceVersion":"7"},"status":{}}}',
])
def test_odd_added_lines_give_what_the_whole_decode_gives(raw):
    """Lines the fast path declines or takes: the same error (the whole decode's) or the same
    cache and resume point as without it."""
    outs = []
    for fast in (True, False):
        inf, lines, _ = added_informers(fast)
        try:
            if lines.wanted(raw):
                inf.handle_event(watched(raw, inf))
            outs.append(("ok", orjson.dumps(inf.cache), inf.last_rv))
        except Exception as e:            # noqa: BLE001 - the same error either way
            outs.append(("error", type(e), str(e), orjson.dumps(inf.cache), inf.last_rv))
    assert outs[0] == outs[1]


def test_the_managed_fields_content_cut_out_is_not_validated():
    """The one line read otherwise: its managedFields content is not JSON (a control character in
    a string) and the rest is. The apiserver never writes one (its lines are JSON dumps); the
    whole decode raises, the cut one gives the view the line gives with any valid content."""
    raw = b'{"type":"ADDED","object":{"metadata":{"name":"p","namespace":"d","managedFields":[{"a":"\x01"}],"resourceVersion":"7"},"status":{}}}'
    valid = raw.replace(b"\x01", b"b")
    inf, lines, _ = added_informers(True)
    assert not lines.wanted(raw) and lines.cut == 1
    ref, ref_lines, _ = added_informers(False)
    assert ref_lines.wanted(valid)
    ref.handle_event(watched(valid, ref))
    assert orjson.dumps(inf.cache) == orjson.dumps(ref.cache) and inf.last_rv == ref.last_rv == "7"
    with pytest.raises(ValueError):
        watched(raw, ref)


def _as_apiserver_writes(line_):
    """A FakeApi watch line as the apiserver writes a pod: a managedFields list right before
    resourceVersion, the last key of metadata."""
    ev = orjson.loads(line_)
    md = (ev.get("object") or {}).get("metadata")
    if ev.get("type") in ("ADDED", "MODIFIED") and isinstance(md, dict) and "resourceVersion" in md:
        rv = md.pop("resourceVersion")
        md["managedFields"] = [MF_CREATE, {**MF_STATUS, "manager": f"m-{md.get('name')}"}]
        md["resourceVersion"] = rv
    return orjson.dumps(ev)


async def test_the_scheduler_places_pods_the_same_with_added_lines_decoded_without_managed_fields():
    """Through the in-memory API, the pods' lines given managedFields as the apiserver writes them:
    the same placements (random picks among tied nodes included), informer cache, resume point
    and scheduler cache with the ADDED fast path and without it."""
    out = []
    for fast in (True, False):
        api = FakeApi(clock=FakeClock())
        for i in range(4):
            await api.create("nodes", node(f"n{i}", cpu="2"))
        s = Scheduler(api, clock=api.clock, profile=default_profile(random.Random(1)))
        if not fast:
            s.status_lines._added = lambda line, rv, m: True
        wanted = s.status_lines.wanted
        s.pods.decode_line = lambda raw: wanted(_as_apiserver_writes(raw))
        await s.start()
        await api.settle()
        for i in range(14):
            await api.create("pods", pod(f"p{i}", cpu="300m" if i % 3 else "500m"), namespace="default")
        await api.settle()
        await run_queue(api, s)
        placed = {o["metadata"]["name"]: o["spec"].get("nodeName") for o in await api.list("pods", "default")}
        infos = {n: sorted(object_key(p) for p in info.pods) for n, info in s.cache.infos.items()}
        views = [orjson.dumps({**v, "metadata": {**v["metadata"], "uid": None}}) for v in s.pods.cache.values()]
        out.append((placed, views, s.pods.last_rv, infos, s.status_lines.bound,
                    s.queue.pop_nowait()))
        cut = s.status_lines.cut
        if fast:
            assert cut >= 14
        else:
            assert cut == 0
        await s.pods.stop()
        await s.nodes.stop()
    assert out[0] == out[1]
    assert sum(v is not None for v in out[0][0].values()) >= 12
