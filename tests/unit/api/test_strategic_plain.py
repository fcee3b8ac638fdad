"""The strategic merge's shortcuts give what its general walk gives: a patch without directives is
merged by `_merge_plain` as `_merge_map` merges it; `_clean` of a value without directives equals
`_clean_walk`'s, `_copy_items` equals a deep copy. Equal in value, in JSON text (key order) and in
types, with the original left as it was, on a table of patches."""
import copy
import datetime
import json
import math

import pytest

from labkube.api.patch import strategic
from labkube.api.patch.jsonpatch import PatchError
from labkube.api.patch import APPLY, STRATEGIC, apply_patch
from labkube.api.patch.strategic import _clean, _clean_walk, _copy_items, _merge_map, _take, merge_map
from labkube.kubelet.hollow.pods import running_status

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "p", "labels": {"app": "web"}, "finalizers": ["a/b"]},
       "spec": {"containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80}],
                                "env": [{"name": "A", "value": "1"}]}],
                "tolerations": [{"key": "k", "operator": "Exists"}]},
       "status": {"phase": "Pending", "conditions": [
           {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": "t0"}]}}

RUNNING = {"status": {
    "phase": "Running",
    "conditions": [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": "t1"}
                   for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")],
    "hostIP": "10.200.0.10", "hostIPs": [{"ip": "10.200.0.10"}], "podIP": "10.244.1.5", "podIPs": [{"ip": "10.244.1.5"}],
    "startTime": "t1", "qosClass": "BestEffort",
    "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0, "lastState": {},
                           "state": {"running": {"startedAt": "t1"}}, "containerID": "crun://x"}]}}


class Str(str):
    pass


PLAIN = [  # (what, original, patch without directives)
    ("a kubelet's Running status", POD, RUNNING),
    ("a condition changed in place, one added", POD, {"status": {"conditions": [
        {"type": "PodScheduled", "status": "False", "reason": None, "message": "m"},
        {"type": "Ready", "status": "False", "lastProbeTime": None}]}}),
    ("null deletes at each level", POD, {"metadata": {"labels": {"app": None, "x": "y"}}, "spec": None}),
    ("null members of new list items dropped, null list items kept", POD,
     {"spec": {"args": [None, 1, {"a": None, "b": [None, {"c": None}]}]}}),
    ("a container merged by name, ports by containerPort, env by name", POD, {"spec": {"containers": [
        {"name": "c", "image": "nginx", "ports": [{"containerPort": 80, "protocol": "UDP"}, {"containerPort": 81}],
         "env": [{"name": "B", "value": "2"}, {"name": "A", "value": None}]},
        {"name": "d", "image": "x"}]}}),
    ("finalizers: a set of scalars", POD, {"metadata": {"finalizers": ["a/b", "c/d", "c/d"]}}),
    ("a list without a merge key replaced", POD, {"spec": {"tolerations": [{"key": "z", "value": None}]}}),
    ("an empty list, an empty object", POD, {"spec": {"containers": [], "securityContext": {}}}),
    ("a merge-key list with a scalar item: replaced", POD, {"spec": {"containers": [{"name": "c"}, 3]}}),
    ("an object over a scalar, a scalar over an object", {"a": 1, "b": {"c": 2}}, {"a": {"x": 1}, "b": 5}),
    ("a list over a missing or scalar field", {"a": 1}, {"a": [{"name": "x"}], "conditions": [{"type": "R"}]}),
    ("two items with one key value: the first merged", {"conditions": [{"type": "R", "n": 1}, {"type": "R", "n": 2}]},
     {"conditions": [{"type": "R", "m": 3}]}),
    ("an item without its key", {"conditions": [{"status": "x"}, {"type": "R"}]},
     {"conditions": [{"type": None, "status": "y"}, {"reason": "r"}]}),
    ("values of every JSON type", {"spec": {}}, {"spec": {"i": 1, "f": 1.0, "b": True, "s": "é\u2028", "n": -0.0,
                                                          "big": 2 ** 63, "l": [1, 1.0, True]}}),
    ("a NaN in the original's list items", {"conditions": [{"type": "R", "v": math.nan}]},
     {"conditions": [{"type": "S"}]}),
    ("a merge-key value that is an object", {"conditions": [{"type": {"a": 1}}]},
     {"conditions": [{"type": {"a": 1}, "x": 1}, {"type": {"a": 2}}]}),
    ("a string holding $ or null (no directive)", POD, {"metadata": {"labels": {"a": "$patch", "b": "null"}}}),
    ("tuples in a replaced list and a new item (a Python-built patch)", POD,
     {"spec": {"args": [("a", "b")], "tolerations": [{"key": ("k",)}]}, "status": {"conditions": [{"type": "X", "v": ("y",)}]}}),
]


def _same(a, b):
    return json.dumps(a, allow_nan=True) == json.dumps(b, allow_nan=True) and _types(a) == _types(b)


def _types(v):
    if isinstance(v, dict):
        return ("d", [(k, _types(x)) for k, x in v.items()])
    if isinstance(v, list):
        return ("l", [_types(x) for x in v])
    return type(v).__name__


@pytest.mark.parametrize("what,orig,patch", PLAIN, ids=[p[0] for p in PLAIN])
def test_plain_patch_merges_as_the_general_walk(what, orig, patch):
    before, pbefore = copy.deepcopy(orig), copy.deepcopy(patch)
    general = _merge_map(copy.deepcopy(orig), copy.deepcopy(patch))
    out = merge_map(orig, patch)
    assert _same(out, general), what
    assert _same(orig, before) and _same(patch, pbefore)  # neither is modified


def test_plain_path_is_taken(monkeypatch):
    calls = []
    monkeypatch.setattr(strategic, "_merge_map", lambda o, p: calls.append(p) or {})
    merge_map(POD, RUNNING)
    assert calls == []
    merge_map(POD, {"spec": {"$setElementOrder/containers": [{"name": "c"}]}})
    assert len(calls) == 1


GENERAL = [  # patches the plain path must leave to the general walk (their results differ or may)
    ("a directive nested deep", {"status": {"conditions": [{"type": "PodScheduled", "$patch": "delete"}]}}),
    ("$retainKeys", {"spec": {"$retainKeys": ["containers"]}}),
    ("a str subclass value", {"metadata": {"labels": {"a": Str("x")}}}),
    ("a datetime value", {"metadata": {"annotations": {"t": datetime.datetime(2026, 1, 1)}}}),
    ("an integer beyond 64 bits", {"spec": {"n": 2 ** 70}}),
    ("a non-string key", {"spec": {1: "x"}}),
]


@pytest.mark.parametrize("what,patch", GENERAL, ids=[g[0] for g in GENERAL])
def test_other_patches_take_the_general_walk(monkeypatch, what, patch):
    def outcome(merge):
        try:
            return repr(merge(copy.deepcopy(POD), patch))
        except Exception as e:  # noqa: BLE001 - e.g. a non-string key: AttributeError (a 422 in apply_patch)
            return type(e).__name__
    expected = outcome(_merge_map)
    calls = []
    full = strategic._merge_map
    monkeypatch.setattr(strategic, "_merge_map", lambda o, p: calls.append(p) or full(o, p))
    assert outcome(merge_map) == expected and calls


@pytest.mark.parametrize("patch", [[], "x", None])
def test_a_patch_that_is_no_object_is_refused(patch):
    with pytest.raises(PatchError):
        merge_map({}, patch)


CLEAN = [
    {"a": None, "b": {"c": None, "d": [None, {"e": None}]}},
    [{"type": "R", "lastProbeTime": None}, None, 1.0, True, "null"],
    {"x": "$not-a-directive", "y": None},
    {"$patch": "delete"},
    [{"a": 1, "$patch": "delete"}, {"$patch": "replace"}, {"b": None}],
    {"k": {"$retainKeys": ["a"], "a": None}},
    {"v": math.nan, "w": None},
    {"s": Str("x"), "n": None},
    {"big": 2 ** 70, "n": None},
    {"plain": [1, 2, {"a": "b"}]},
]


@pytest.mark.parametrize("value", CLEAN)
def test_clean_equals_the_walk(value):
    before = copy.deepcopy(value)
    assert repr(_clean(value)) == repr(_clean_walk(value))
    assert repr(value) == repr(before)


@pytest.mark.parametrize("items", [[], [{"type": "R", "lastProbeTime": None, "v": 1.0}], [{"v": math.nan}],
                                   [{"s": Str("x")}], [{"n": 2 ** 70}], [1, "a", None, [True, {}]],
                                   [{"d": datetime.date(2026, 1, 1)}], [("a", 1)], [{"t": ("x",)}]])
def test_copy_items_is_a_deep_copy(items):
    out = _copy_items(items)
    assert repr(out) == repr(copy.deepcopy(items)) and _types(out) == _types(items)
    for a, b in zip(out, items):
        assert a is not b or not isinstance(a, (dict, list))


def _hollow_pods():
    """Stored pods as the hollow kubelet sees them before its Running write, and its patches."""
    base = {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "d", "uid": "0d1f2a3b-1111-2222-3333-444455556666",
                         "managedFields": [{"manager": "m", "operation": "Update", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"containers": [{"name": "c", "image": "nginx"}], "nodeName": "n1"},
            "status": {"phase": "Pending", "qosClass": "BestEffort", "conditions": [
                {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": "t0"}]}}
    inits = copy.deepcopy(base)
    inits["spec"]["initContainers"] = [{"name": "i", "image": "busybox"}, {"name": "j"}]
    inits["spec"]["containers"].append({"name": "d", "image": "x"})
    net = copy.deepcopy(base)
    net["spec"]["hostNetwork"] = True
    bare = copy.deepcopy(base)
    del bare["status"]
    out = []
    for i, pod in enumerate((base, inits, net, bare)):
        st = running_status(pod, f"10.200.0.{i + 1}", f"10.244.{i}.5", now=1.7e9 + i)
        out.append((f"hollow pod {i}", pod, {"status": st}))
    return out


def _decoded(patch):
    return json.loads(json.dumps(patch))


# patches as the direct path decodes them (JSON text read back: tuples become lists)
OWNED = [(w, o, p) for w, o, p in PLAIN if "tuples" not in w] + _hollow_pods() + [
    ("a second write of the same status", _hollow_pods()[0][1] | _hollow_pods()[0][2], _hollow_pods()[0][2]),
    ("a directive: the general walk, copying", POD, {"status": {"conditions": [{"type": "X", "$patch": "delete"}],
                                                               "podIPs": [{"ip": "a", "x": None}]}}),
    ("a float, -0.0, a big int", POD, {"status": {"f": 0.1, "z": -0.0, "b": 2 ** 64, "n": None}}),
]


@pytest.mark.parametrize("what,orig,patch", OWNED, ids=[p[0] for p in OWNED])
def test_an_owned_patch_merges_as_a_copied_one(what, orig, patch):
    """merge_map(owned=True), whose result takes the decoded patch's values, equals the copying
    merge (the earlier code's path) in JSON text and types, and leaves the original as it was."""
    before = copy.deepcopy(orig)
    copied = merge_map(orig, _decoded(patch))
    owned_patch = _decoded(patch)
    out = merge_map(orig, owned_patch, owned=True)
    assert _same(out, copied), what
    assert json.dumps(out, allow_nan=True).encode() == json.dumps(copied, allow_nan=True).encode()
    assert _same(orig, before)
    via = apply_patch(STRATEGIC, orig, _decoded(patch), owned=True)
    assert _same(via, copied)


def test_an_owned_patch_is_taken_not_copied():
    what, orig, patch = _hollow_pods()[0]
    p = _decoded(patch)
    statuses = p["status"]["containerStatuses"]
    out = merge_map(orig, p, owned=True)
    assert out["status"]["containerStatuses"] is statuses
    p2 = _decoded(patch)
    copied = merge_map(orig, p2)
    assert copied["status"]["containerStatuses"] is not p2["status"]["containerStatuses"]
    assert p2 == _decoded(patch)  # the copying merge leaves the patch as it was


def test_apply_is_not_owned():
    """An apply patch (apply_patch's APPLY) is merged with copies as before, owned or not."""
    p = {"status": {"conditions": [{"type": "X", "lastProbeTime": None}], "c": [{"a": None}]}}
    kept = copy.deepcopy(p)
    apply_patch(APPLY, POD, p, owned=True)
    assert p == kept


@pytest.mark.parametrize("value", [v for v in CLEAN if "$" not in repr(v) and "Str" not in repr(v)] + [
    {"conditions": [{"type": "R", "lastProbeTime": None, "x": {"y": None, "z": [None, {}]}}]}, [], {}, [None], 0])
def test_take_equals_clean(value):
    expected = _clean(copy.deepcopy(value))
    assert repr(_take(value)) == repr(expected) and _types(value) == _types(expected)
