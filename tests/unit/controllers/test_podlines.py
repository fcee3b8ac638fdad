"""The controller-manager's pod watch lines applied from their text (labkube.controllers.podlines):
line for line, the informer's cache (values and key order), its resume point and every handler
call (old and new views) are those the informer gives when it decodes each line whole, and the
lines of the usual shape are applied without the whole decode."""
from __future__ import annotations

import copy

import pytest

from labkube import jsonio
from labkube.client.factory import InformerFactory
from labkube.client.informer import Informer, object_key
from labkube.controllers import podlines
from labkube.controllers.manager import MANAGER_TRANSFORMS
from labkube.controllers.podlines import PodLines, install, prefix
from labkube.controllers.views import pod_view

MF_CREATE = {"manager": "labkube-controller-manager", "operation": "Update", "apiVersion": "v1",
             "time": "2026-12-03T12:53:09Z", "fieldsType": "FieldsV1",
             "fieldsV1": {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                          "f:spec": {"f:containers": {'k:{"name":"c"}': {".": {}, "f:image": {}}}}}}
MF_STATUS = {"manager": "hollow-kubelet", "operation": "Update", "apiVersion": "v1",
             "time": "2026-12-03T12:53:11Z", "fieldsType": "FieldsV1", "subresource": "status",
             "fieldsV1": {"f:status": {"f:conditions": {'k:{"type":"Ready"}': {".": {}, "f:status": {}}},
                                       "f:phase": {}, "f:podIP": {}}}}
RUNNING = {"phase": "Running", "qosClass": "Burstable",
           "conditions": [{"type": "Initialized", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": "2026-12-03T12:53:11Z"},
                          {"type": "Ready", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": "2026-12-03T12:53:11Z"},
                          {"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                           "lastTransitionTime": "2026-12-03T12:53:11Z"}],
           "hostIP": "127.0.0.1", "hostIPs": [{"ip": "127.0.0.1"}], "podIP": "10.128.1.4",
           "podIPs": [{"ip": "10.128.1.4"}], "startTime": "2026-12-03T12:53:11Z",
           "containerStatuses": [{"name": "c", "image": "nginx", "imageID": "fake://nginx", "ready": True,
                                  "restartCount": 0, "started": True,
                                  "state": {"running": {"startedAt": "2026-12-03T12:53:11Z"}},
                                  "lastState": {}, "containerID": "crun://abc"}]}


def created(name="p1", uid="u1", mf=True, claim=False):
    """A pod as the apiserver writes it: apiVersion, kind, metadata (managedFields, then
    resourceVersion last), spec, status."""
    md = {"generateName": "rs-", "namespace": "default", "labels": {"app": "web", "pod-template-hash": "h"},
          "annotations": {},
          "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "rs", "uid": "r1",
                               "controller": True, "blockOwnerDeletion": True}],
          "name": name, "uid": uid, "creationTimestamp": "2026-12-03T12:53:09Z", "generation": 1}
    if mf:
        md["managedFields"] = [MF_CREATE]
    md["resourceVersion"] = "10"
    volumes = [{"name": "kube-api-access", "projected": {"defaultMode": 420, "sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}}]}}]
    if claim:
        volumes.append({"name": "data", "persistentVolumeClaim": {"claimName": "data"}})
    return {"apiVersion": "v1", "kind": "Pod", "metadata": md,
            "spec": {"containers": [{"name": "c", "image": "nginx",
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                                     "ports": [{"name": "http", "containerPort": 80}],
                                     "volumeMounts": [{"name": "kube-api-access", "readOnly": True,
                                                       "mountPath": "/var/run/secrets"}]}],
                     "restartPolicy": "Always", "schedulerName": "default-scheduler", "priority": 0,
                     "tolerations": [{"key": "node.kubernetes.io/not-ready", "operator": "Exists",
                                      "effect": "NoExecute", "tolerationSeconds": 300}],
                     "volumes": volumes},
            "status": {"phase": "Pending", "qosClass": "Burstable"}}


def bound(p, rv="11", node="n1"):
    p = copy.deepcopy(p)
    p["metadata"]["resourceVersion"] = rv
    p["spec"]["nodeName"] = node
    p["status"]["conditions"] = [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                  "lastTransitionTime": "2026-12-03T12:53:11Z"}]
    return p


def status_write(p, rv, status=RUNNING):
    """`p` after a kubelet's status write: a managedFields entry, a new resourceVersion and status."""
    p = copy.deepcopy(p)
    md = p["metadata"]
    if "managedFields" in md:
        md["managedFields"] = [*md["managedFields"], MF_STATUS]
    md["resourceVersion"] = rv
    p["status"] = copy.deepcopy(status)
    return p


def line(t, obj) -> bytes:
    return jsonio.dumps({"type": t, "object": obj})


class NoClient:
    pass


def recorder(inf, log):
    dumps = jsonio.dumps
    inf.add_handlers(lambda n: log.append(("ADDED", None, dumps(n))),
                     lambda o, n: log.append(("MODIFIED", dumps(o), dumps(n))),
                     lambda o: log.append(("DELETED", dumps(o), None)))


def feed(lines_in, relist_after=None):
    """The lines through an informer with PodLines and through a plain one (each line decoded
    whole), as Client.watch hands them; both compared after every line. Returns the PodLines."""
    fast, plain = (Informer(NoClient(), "pods", transform=pod_view) for _ in range(2))
    pl = PodLines(fast, pod_view)
    logs = ([], [])
    recorder(fast, logs[0])
    recorder(plain, logs[1])
    for i, raw in enumerate(lines_in):
        applied = pl.applied
        if fast.decode_line(raw):
            fast.handle_event(jsonio.loads(raw))
        if pl.applied > applied:
            registered_as_by_register(pl, raw)
        plain.handle_event(jsonio.loads(raw))
        same(fast, plain)
        assert logs[0] == logs[1], f"handler calls differ after line {i}"
        if relist_after == i:     # a relist's objects replace the cached views
            for inf in (fast, plain):
                for key, obj in list(inf.cache.items()):
                    inf._store(key, pod_view(jsonio.loads(jsonio.dumps(obj))))
    return pl


def registered_as_by_register(pl: PodLines, raw: bytes) -> None:
    """An applied line's registration is what PodLines._register makes of it: the newest one, its
    spec text up to the first `,"status":{` after its `,"spec":{`, one head per key."""
    rv, head, rest, sp = prefix(raw, len(b'{"type":"MODIFIED","object":{'))
    key = object_key(jsonio.loads(raw)["object"])
    st = raw.find(b',"status":{', sp)
    assert next(reversed(pl._views)) == head
    assert pl._views[head] == (key, pl.informer.cache[key], raw[sp:st] if st > 0 else None, rest)
    assert pl._keys[key] == head and len(pl._keys) == len(pl._views)
    assert {k: h for h, (k, *_) in pl._views.items()} == pl._keys


def same(a: Informer, b: Informer) -> None:
    assert a.cache == b.cache
    assert jsonio.dumps(a.cache) == jsonio.dumps(b.cache)     # key order too
    assert a.last_rv == b.last_rv


def modified(f, rv):
    """A MODIFIED event of the pod after the one before it, changed by f, with a new resourceVersion."""
    def make(prev):
        p = copy.deepcopy(prev)
        f(p)
        p["metadata"]["resourceVersion"] = rv
        return p
    return make


def _md(**kw):
    return lambda p: p["metadata"].update(kw)


def _spec(**kw):
    return lambda p: p["spec"].update(kw)


def _status(**kw):
    return lambda p: p["status"].update(kw)


def _labels(p):
    p["metadata"]["labels"] = {"app": "other", "pod-template-hash": "h"}


def _annotation(p):
    p["metadata"]["annotations"] = {"batch.kubernetes.io/job-completion-index": "3"}


def _owner(p):
    p["metadata"]["ownerReferences"] = []


def _image(p):
    p["spec"]["containers"][0]["image"] = "nginx:2"


def _mf_only(p):
    p["metadata"]["managedFields"] = [*p["metadata"]["managedFields"], MF_STATUS]


def _mf_bracket(p):
    p["metadata"]["managedFields"] = [{**MF_CREATE, "manager": "a]b"}]


def _ready_false(p):
    p["status"]["conditions"] = [{**c, "status": "False"} if c["type"] == "Ready" else c
                                 for c in p["status"]["conditions"]]


def _status_first(p):
    st = p.pop("status")
    rest = dict(p)
    p.clear()
    p.update({"status": st, **rest})


def _after_status(p):
    p["extra"] = {"k": "v"}


def _nested_status(p):
    p["spec"]["template"] = {"status": {"x": 1}, "other": 1}


def _rv_annotation(p):
    p["metadata"]["annotations"] = {"resourceVersion": "99"}


def _big_int(p):
    p["status"]["big"] = 12345678901234567890123


def _non_ascii(p):
    p["status"]["message"] = "Überfüllt ✓"


def _terminal(p):
    p["status"]["phase"] = "Succeeded"


def _empty_spec(p):
    p["spec"] = {}


def _no_status(p):
    del p["status"]


def _deletion(p):
    p["metadata"]["deletionTimestamp"] = "2026-12-03T12:54:00Z"
    p["metadata"]["deletionGracePeriodSeconds"] = 30


DRAIN = [("ADDED", lambda prev: created()), ("MODIFIED", lambda prev: bound(prev, "11")),
         ("MODIFIED", lambda prev: status_write(prev, "12"))]

# (name, events after the drain's three: (type, make(prev)), how many lines PodLines applies in all)
ROWS = [
    ("drain", [], 2),
    ("status again", [("MODIFIED", lambda prev: status_write(prev, "13", {**RUNNING, "podIP": "10.128.1.9"}))], 3),
    ("ready false", [("MODIFIED", modified(_ready_false, "13"))], 3),
    ("terminal", [("MODIFIED", modified(_terminal, "13"))], 3),
    ("labels", [("MODIFIED", modified(_labels, "13"))], 2),
    ("annotation", [("MODIFIED", modified(_annotation, "13"))], 2),
    ("owner released", [("MODIFIED", modified(_owner, "13"))], 2),
    ("deletion", [("MODIFIED", modified(_deletion, "13")), ("DELETED", lambda prev: prev)], 2),
    ("deleted then recreated", [("DELETED", lambda prev: prev),
                                ("ADDED", lambda prev: created(uid="u2")),
                                ("MODIFIED", lambda prev: bound(prev, "21"))], 3),
    ("recreated, same text but uid", [("DELETED", lambda prev: prev),
                                      ("ADDED", lambda prev: {**created(uid="u2"), "status": prev["status"]}),
                                      ("MODIFIED", lambda prev: status_write(prev, "22"))], 3),
    ("image", [("MODIFIED", modified(_image, "13"))], 3),
    ("managedFields only", [("MODIFIED", modified(_mf_only, "13"))], 3),
    ("bracket in managedFields", [("MODIFIED", modified(_mf_bracket, "13")),
                                  ("MODIFIED", modified(_status(phase="Failed"), "14"))], 2),
    ("node changed", [("MODIFIED", modified(_spec(nodeName="n2"), "13"))], 3),
    ("generation", [("MODIFIED", modified(_md(generation=2), "13"))], 2),
    ("status first", [("MODIFIED", modified(_status_first, "13")),
                      ("MODIFIED", modified(_status(phase="Failed"), "14"))], 2),
    ("member after status", [("MODIFIED", modified(_after_status, "13")),
                             ("MODIFIED", modified(_status(phase="Failed"), "14")),
                             ("MODIFIED", modified(lambda p: p.pop("extra"), "15"))], 5),
    ("nested status in spec", [("MODIFIED", modified(_nested_status, "13")),
                               ("MODIFIED", modified(_status(phase="Failed"), "14")),
                               ("MODIFIED", modified(_image, "15"))], 5),
    ("resourceVersion annotation", [("MODIFIED", modified(_rv_annotation, "13")),
                                    ("MODIFIED", modified(_status(phase="Failed"), "14"))], 3),
    ("long integer", [("MODIFIED", modified(_big_int, "13"))], 3),
    ("non-ASCII", [("MODIFIED", modified(_non_ascii, "13"))], 3),
    ("empty spec", [("MODIFIED", modified(_empty_spec, "13")),
                    ("MODIFIED", modified(_status(phase="Failed"), "14"))], 4),
    ("no status", [("MODIFIED", modified(_no_status, "13")),
                   ("MODIFIED", modified(lambda p: p.update(status={"phase": "Failed"}), "14")),
                   ("MODIFIED", modified(_status(phase="Running"), "15"))], 5),
]


def events(extra, first=DRAIN):
    out, prev = [], None
    for t, make in [*first, *extra]:
        prev = make(prev)
        out.append(line(t, prev))
    return out


@pytest.mark.parametrize("name,extra,applied", ROWS, ids=[r[0] for r in ROWS])
def test_same_as_a_whole_decode(name, extra, applied):
    pl = feed(events(extra))
    assert pl.applied == applied


def test_without_managed_fields():
    first = [("ADDED", lambda prev: created(mf=False)), ("MODIFIED", lambda prev: bound(prev, "11")),
             ("MODIFIED", lambda prev: status_write(prev, "12"))]
    assert feed(events([], first)).applied == 2


def test_claims_kept():
    first = [("ADDED", lambda prev: created(claim=True)), ("MODIFIED", lambda prev: bound(prev, "11")),
             ("MODIFIED", lambda prev: status_write(prev, "12"))]
    assert feed(events([], first)).applied == 2


def test_many_pods_interleaved():
    pods = [created(name=f"p{i}", uid=f"u{i}") for i in range(20)]
    out, rv = [], 10
    for p in pods:
        rv += 1
        p["metadata"]["resourceVersion"] = str(rv)
        out.append(line("ADDED", p))
    for i, p in enumerate(pods):
        rv += 1
        pods[i] = bound(p, str(rv), node=f"n{i % 3}")
        out.append(line("MODIFIED", pods[i]))
    for i, p in enumerate(reversed(pods)):
        rv += 1
        out.append(line("MODIFIED", status_write(p, str(rv))))
    assert feed(out).applied == 40


def test_relist_replaces_views():
    # the views a relist stores are not the registered ones: the next line is decoded whole
    ls = events([("MODIFIED", lambda prev: status_write(prev, "13", {**RUNNING, "podIP": "10.128.1.9"})),
                 ("MODIFIED", lambda prev: status_write(prev, "14"))])
    assert feed(ls, relist_after=2).applied == 3       # binding, Running, then the second line after the relist


def test_other_namespace_same_name():
    a = created()
    b = created(uid="u9")
    b["metadata"]["namespace"] = "other"
    ls = [line("ADDED", a), line("ADDED", b), line("MODIFIED", bound(a, "11")), line("MODIFIED", bound(b, "12"))]
    assert feed(ls).applied == 2


@pytest.mark.parametrize("raw", [
    b'{"type":"BOOKMARK","object":{"kind":"Pod","apiVersion":"v1","metadata":{"resourceVersion":"5"}}}',
    b'{"type":"ERROR","object":{"kind":"Status","code":410}}',
    b'{"type":"DELETED","object":{"metadata":{"name":"a","namespace":"d","resourceVersion":"5"},"spec":{}}}',
    b'{"type":"MODIFIED","object":{"metadata":{"name":"a","namespace":"d","resourceVersion":"x5"},"spec":{}}}',
    b'{"type":"MODIFIED","object":{"metadata":{"name":"a","namespace":"d"},"spec":{}}}',
    b'{"type":"MODIFIED","object":{"spec":{},"metadata":{"name":"a","namespace":"d","resourceVersion":"5"}}}',
    b'{"type":"MODIFIED","object":{"metadata":{"managedFields":[],"name":"a","resourceVersion":"5"},"spec":{}}}',
])
def test_other_lines_left_to_the_decode(raw):
    inf = Informer(NoClient(), "pods", transform=pod_view)
    pl = PodLines(inf, pod_view)
    assert pl.wanted(raw) is True


@pytest.mark.parametrize("raw,want", [
    (b'{"type":"MODIFIED","object":{"metadata":{"name":"a","managedFields":[{"x":1}],"resourceVersion":"7"},'
     b'"spec":{"a":1},"status":{}}}', ("7", b'"metadata":{"name":"a","managedFields":[', b'"}')),
    (b'{"type":"MODIFIED","object":{"metadata":{"name":"a","resourceVersion":"7","uid":"u"},"spec":{}}}',
     ("7", b'"metadata":{"name":"a","resourceVersion":"', b'","uid":"u"}')),
    (b'{"type":"MODIFIED","object":{"metadata":{"managedFields":[{"a":[1]}],"resourceVersion":"7"},"spec":{}}}',
     None),
    (b'{"type":"MODIFIED","object":{"metadata":{"managedFields":[],"name":"a","resourceVersion":"7"},"spec":{}}}',
     None),
    (b'{"type":"MODIFIED","object":{"metadata":{"resourceVersion":"7"},"status":{}}}', None),
    (b'{"type":"MODIFIED","object":{"metadata":{"resourceVersion":"7"},"spec":{"a":1}', None),
])
def test_prefix(raw, want):
    got = prefix(raw, len(b'{"type":"MODIFIED","object":{'))
    if want is None:
        assert got is None
    else:
        assert got[:3] == want and raw.startswith(b',"spec":{', got[3])


def test_limit(monkeypatch):
    monkeypatch.setattr(podlines, "LIMIT", 5)
    pods = [created(name=f"p{i}", uid=f"u{i}") for i in range(8)]
    ls = [line("ADDED", p) for p in pods] + [line("MODIFIED", bound(p, str(20 + i)))
                                             for i, p in reversed(list(enumerate(pods)))]
    pl = feed(ls)
    assert pl.applied == 5 and len(pl) == 5       # the three oldest registrations were dropped


def test_install_on_the_managers_factory():
    factory = InformerFactory(NoClient(), transforms=MANAGER_TRANSFORMS)
    assert install(factory) is None               # no pod informer: none made
    inf = factory.get("pods")
    pl = install(factory)
    assert pl is not None and inf.decode_line == pl.wanted
    other = InformerFactory(NoClient())
    other.get("pods")
    assert install(other) is None                 # not the controller-manager's view


def test_deleted_pod_forgotten():
    ls = events([("DELETED", lambda prev: prev)])
    pl = feed(ls[:2])
    assert len(pl) == 1
    inf = pl.informer
    inf.handle_event(jsonio.loads(ls[3]))
    assert len(pl) == 0 and not inf.cache


def _bind_with(**more):
    def make(prev):
        p = bound(prev, "11")
        p["spec"].update(more)
        return p
    return make


@pytest.mark.parametrize("name,first,applied,extended", [
    ("binding", DRAIN, 2, 1),
    ("binding adds another member", [DRAIN[0], ("MODIFIED", _bind_with(hostname="h")), DRAIN[2]], 2, 0),
    ("binding to another node", [DRAIN[0], ("MODIFIED", _bind_with(nodeName="n2")), DRAIN[2]], 2, 1),
    ("created bound, then a member added",
     [("ADDED", lambda prev: bound(created(), "10")), ("MODIFIED", modified(_spec(hostname="h"), "11")),
      ("MODIFIED", lambda prev: status_write(prev, "12"))], 2, 0),
    ("empty spec bound", [("ADDED", lambda prev: {**created(), "spec": {}}), DRAIN[1], DRAIN[2]], 2, 0),
    ("binding and a status", [DRAIN[0], ("MODIFIED", lambda prev: status_write(bound(prev, "11"), "11")),
                              ("MODIFIED", modified(_status(phase="Failed"), "12"))], 2, 1),
])
def test_spec_members_added(name, first, applied, extended):
    pl = feed(events([], first))
    assert (pl.applied, pl.extended) == (applied, extended)


SPECS = [
    {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 80}]}], "restartPolicy": "Always"},
    {"containers": [{"name": "c"}], "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "d"}},
                                                  {"name": "e", "emptyDir": {}}]},
    {"initContainers": [{"name": "i", "restartPolicy": "Always"}], "containers": [], "priority": 5},
    {"schedulerName": "x"},
]


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("added,same", [({"nodeName": "n1"}, True), ({"nodeName": None}, True),
                                        ({"hostname": "h"}, False), ({"nodeName": "n1", "hostname": "h"}, False),
                                        ({}, False)])
def test_spec_extended_is_the_view(spec, added, same):
    from labkube.controllers.views import spec_extended
    part = pod_view({"spec": copy.deepcopy(spec)})["spec"]
    got = spec_extended(part, added)
    if not same:
        assert got is None
        return
    want = pod_view({"spec": {**copy.deepcopy(spec), **added}})["spec"]
    assert got == want and list(got) == list(want) and jsonio.dumps(got) == jsonio.dumps(want)
    assert spec_extended(want, {"nodeName": "n2"}) is None       # the part has it already


# -- the apiserver's member order: metadata, spec, apiVersion, kind, status -------------------------
# (the lines above put apiVersion and kind first; the apiserver writes them between spec and status,
# so a binding's spec members are followed by them before the status)

def apiserver_order(p):
    """`p` with its members in the order the apiserver writes them."""
    out = {k: p[k] for k in ("metadata", "spec") if k in p}
    out.update((k, v) for k, v in p.items() if k not in ("metadata", "spec", "status"))
    if "status" in p:
        out["status"] = p["status"]
    return out


def ordered(make):
    return lambda prev: apiserver_order(make(prev))


def _between(**kw):
    """The pod with members `kw` between its spec and its status."""
    def make(prev):
        p = apiserver_order(prev)
        st = p.pop("status", None)
        p.update(kw)
        if st is not None:
            p["status"] = st
        return p
    return make


REAL = [("ADDED", ordered(lambda prev: created())), ("MODIFIED", ordered(lambda prev: bound(prev, "11"))),
        ("MODIFIED", ordered(lambda prev: status_write(prev, "12")))]


def _nested_look_alike(p):
    # inside the spec: an object whose last members read like the ones between spec and status
    p["spec"]["overhead"] = {"x": {}, "apiVersion": "v1", "kind": "Pod", "status": {"a": 1}}


# (name, events (type, make(prev)), applied, extended with spec members)
REAL_ROWS = [
    ("drain", REAL, 2, 1),
    ("no managedFields", [("ADDED", ordered(lambda prev: created(mf=False))), *REAL[1:]], 2, 1),
    ("claim", [("ADDED", ordered(lambda prev: created(claim=True))), *REAL[1:]], 2, 1),
    ("binding adds another member", [REAL[0], ("MODIFIED", ordered(_bind_with(hostname="h"))), REAL[2]], 2, 0),
    ("binding to another node, then again",
     [*REAL[:2], ("MODIFIED", ordered(modified(_spec(nodeName="n2"), "12")))], 2, 1),
    ("kind changed by the binding", [REAL[0], ("MODIFIED", lambda prev: {**bound(prev, "11"), "kind": "Other"}),
                                     REAL[2]], 2, 0),
    ("apiVersion changed by the binding",
     [REAL[0], ("MODIFIED", lambda prev: {**bound(prev, "11"), "apiVersion": "v2"}), REAL[2]], 2, 0),
    ("a member between added by the binding",
     [REAL[0], ("MODIFIED", lambda prev: _between(extra="x")(bound(prev, "11"))), REAL[2]], 2, 0),
    ("an object between", [("ADDED", lambda prev: _between(extra={"a": 1})(created())),
                           ("MODIFIED", lambda prev: bound(prev, "11")), REAL[2]], 2, 0),
    ("a string between", [("ADDED", lambda prev: _between(extra='},"kind":"Pod"')(created())),
                          ("MODIFIED", lambda prev: bound(prev, "11")), REAL[2]], 2, 1),
    ("a number between", [("ADDED", lambda prev: _between(extra=5)(created())),
                          ("MODIFIED", lambda prev: bound(prev, "11")), REAL[2]], 2, 0),
    ("nothing between", [("ADDED", lambda prev: {k: v for k, v in apiserver_order(created()).items()
                                                 if k not in ("apiVersion", "kind")}),
                         ("MODIFIED", lambda prev: bound(prev, "11")), REAL[2]], 2, 1),
    ("no status", [("ADDED", ordered(lambda prev: {k: v for k, v in created().items() if k != "status"})),
                   ("MODIFIED", ordered(lambda prev: {**prev, "metadata": {**prev["metadata"], "resourceVersion": "11"},
                                                      "spec": {**prev["spec"], "nodeName": "n1"}})),
                   ("MODIFIED", ordered(lambda prev: status_write(prev, "12")))], 2, 0),
    ("status first", [("ADDED", lambda prev: {"status": created()["status"], **created()}),
                      ("MODIFIED", lambda prev: bound(prev, "11")),
                      ("MODIFIED", lambda prev: status_write(prev, "12"))], 0, 0),
    ("look-alike inside the spec", [("ADDED", ordered(lambda prev: _nested(created()))),
                                    ("MODIFIED", ordered(lambda prev: bound(prev, "11"))),
                                    ("MODIFIED", ordered(lambda prev: status_write(prev, "12")))], 2, 0),
    ("empty spec bound", [("ADDED", ordered(lambda prev: {**created(), "spec": {}})), REAL[1], REAL[2]], 2, 0),
    ("a member after status", [("ADDED", lambda prev: {**apiserver_order(created()), "extra": 1}),
                               ("MODIFIED", lambda prev: bound(prev, "11")),
                               ("MODIFIED", lambda prev: status_write(prev, "12"))], 2, 1),
]


def _nested(p):
    _nested_look_alike(p)
    return p


@pytest.mark.parametrize("name,first,applied,extended", REAL_ROWS, ids=[r[0] for r in REAL_ROWS])
def test_apiserver_order(name, first, applied, extended):
    pl = feed(events([], first))
    assert (pl.applied, pl.extended) == (applied, extended)


@pytest.mark.parametrize("old,new", [
    (b'"apiVersion":"v1"', b'"apiVersion":"v\\u0031"'),       # another spelling of the same value
    (b'"kind":"Pod"', b'"kind" : "Pod"'),
    (b'"kind":"Pod"', b'"kind":"Pod","kind":"Pod"'),         # written twice
])
@pytest.mark.parametrize("where", [(0,), (1,), (0, 1)])
def test_apiserver_order_other_spellings(old, new, where):
    ls = events([], REAL)
    for i in where:
        assert old in ls[i]
        ls[i] = ls[i].replace(old, new)
    pl = feed(ls)
    assert pl.extended == 0


def test_apiserver_order_many_pods_interleaved():
    pods = [apiserver_order(created(name=f"p{i}", uid=f"u{i}")) for i in range(20)]
    out, rv = [], 10
    for p in pods:
        rv += 1
        p["metadata"]["resourceVersion"] = str(rv)
        out.append(line("ADDED", p))
    for i, p in enumerate(pods):
        rv += 1
        pods[i] = apiserver_order(bound(p, str(rv), node=f"n{i % 3}"))
        out.append(line("MODIFIED", pods[i]))
    for i, p in enumerate(reversed(pods)):
        rv += 1
        out.append(line("MODIFIED", apiserver_order(status_write(p, str(rv)))))
    pl = feed(out)
    assert (pl.applied, pl.extended) == (40, 20)


@pytest.mark.parametrize("view,want", [
    ({"metadata": {}, "spec": {}, "apiVersion": "v1", "kind": "Pod", "status": {}}, b',"apiVersion":"v1","kind":"Pod"'),
    ({"metadata": {}, "spec": {}, "status": {}, "apiVersion": "v1"}, b""),
    ({"apiVersion": "v1", "metadata": {}, "spec": {}}, b""),
    ({"metadata": {}, "spec": {}, "kind": "P\u00f6d\"}"}, b',"kind":"P\xc3\xb6d\\"}"'),
    ({"metadata": {}, "spec": {}, "x": 1, "status": {}}, None),
    ({"metadata": {}, "spec": {}, "x": None, "status": {}}, None),
    ({"metadata": {}, "status": {}, "kind": "Pod"}, b""),
])
def test_between_text(view, want):
    assert podlines.between_text(view) == want
