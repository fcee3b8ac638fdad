"""managedfields.updated finds what an update changed by walking the old and the new object together
(_changes) instead of building both field sets whole and comparing them: its changed and removed
paths, and so the managedFields it returns, equal those of the earlier code (kept below as the
reference) over a seeded table of old/new object pairs and writers."""
import copy
import random

import orjson
import pytest

from labkube.api import managedfields as mf
from labkube.api.managedfields import APPLY, UPDATE, Manager


def _reference_changes(old, new, scope):
    """The earlier way: both field sets whole, compared."""
    before, after = mf.fields(old, scope), mf.fields(new, scope)
    return {p for p, v in after.items() if p not in before or before[p] != v}, set(before) - set(after)


def _reference_updated(old, new, m, api_version, status_subresource):
    """updated() as it was before _changes (the same helpers otherwise)."""
    scope = mf._scope(status_subresource, m.subresource)
    changed, removed = _reference_changes(old, new, scope)
    current = (old.get("metadata") or {}).get("managedFields") or []
    if not changed and not removed:
        return mf._render(mf._entries(old, lazy=True), mf._now()) if isinstance(current, list) else []
    entries = mf._entries(old, lazy=True)
    mine = mf._mine(entries, m, api_version)
    touched = changed | removed
    for e in entries:
        if e is mine:
            continue
        if e.owns_any(touched):
            e.paths -= touched
            e.changed = True
    grown = (mine.paths | changed) - removed
    if grown != mine.paths:
        mine.paths, mine.changed = grown, True
    return mf._render(entries, mf._now())


def _pending_pod():
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "web-x", "namespace": "bench", "generateName": "web-", "uid": "u",
                         "resourceVersion": "7", "labels": {"app": "web", "shard": "1"}, "annotations": {},
                         "finalizers": ["a/b"],
                         "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web",
                                              "uid": "rs-1", "controller": True}]},
            "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
                                     "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}],
                     "selector": {"matchLabels": {"a": "b"}}, "nodeName": "n1", "securityContext": {},
                     "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoExecute"}]},
            "status": {"phase": "Pending", "qosClass": "Burstable",
                       "conditions": [{"type": "PodScheduled", "status": "True", "lastProbeTime": None,
                                       "lastTransitionTime": "t0"}]}}


def _running_status(ip="10.100.0.5", ready="True", scheduled_time="t0"):
    return {"phase": "Running", "qosClass": "Burstable",
            "conditions": [{"type": t, "status": ready if t in ("Ready", "ContainersReady") else "True",
                            "lastProbeTime": None, "lastTransitionTime": scheduled_time if t == "PodScheduled" else "t1"}
                           for t in ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady",
                                     "PodScheduled")],
            "hostIP": "10.1.0.1", "hostIPs": [{"ip": "10.1.0.1"}], "podIP": ip, "podIPs": [{"ip": ip}],
            "startTime": "t1",
            "containerStatuses": [{"name": "c", "image": "nginx", "imageID": "fake://nginx", "ready": True,
                                   "restartCount": 0, "started": True, "state": {"running": {"startedAt": "t1"}},
                                   "lastState": {}, "containerID": "crun://1"}]}


# what a write can do to a value somewhere in the object: the odd ones are where Python's == and
# the field elements part ways (1 == 1.0 == True, but `v:1`, `v:1.0`, `v:true`), NaN (not equal to
# itself), duplicate merge keys (the field set keeps the last item's values), type changes
ODD_SCALARS = [0, 1, 1.0, True, False, -0.0, 0.0, "", "x", "1", float("nan"), 2 ** 70]


def _mutate(rng, value, depth=0):
    """value with one random change somewhere in it (a fresh copy)."""
    value = copy.deepcopy(value)
    if isinstance(value, dict) and value and rng.random() < 0.8:
        k = rng.choice(sorted(value))
        r = rng.random()
        if r < 0.55 and isinstance(value[k], (dict, list)) and depth < 6:
            value[k] = _mutate(rng, value[k], depth + 1)
        elif r < 0.65:
            del value[k]
        elif r < 0.72:
            value[k] = None
        elif r < 0.8:
            value[rng.choice(["phase", "extra", "labels", "data", "selector", "conditions", k + "2"])] = \
                _odd_value(rng)
        else:
            value[k] = _odd_value(rng)
        return value
    if isinstance(value, list) and value and rng.random() < 0.85:
        r = rng.random()
        i = rng.randrange(len(value))
        if r < 0.45 and isinstance(value[i], (dict, list)):
            value[i] = _mutate(rng, value[i], depth + 1)
        elif r < 0.6:
            value.pop(i)
        elif r < 0.75:
            value.append(copy.deepcopy(value[i]))  # a duplicate item (or merge key)
        elif r < 0.85:
            value.reverse()
        else:
            value.insert(i, _odd_value(rng))
        return value
    return _odd_value(rng)


def _odd_value(rng):
    r = rng.random()
    if r < 0.45:
        return rng.choice(ODD_SCALARS)
    if r < 0.6:
        return {}
    if r < 0.7:
        return []
    if r < 0.8:
        return [rng.choice(ODD_SCALARS) for _ in range(rng.randrange(1, 3))]
    if r < 0.9:
        return {"type": rng.choice(["Ready", "X", 1, True]), "status": rng.choice(ODD_SCALARS)}
    return {"matchLabels": {"a": "b"}} if rng.random() < 0.5 else {"a": {"b": [1, {"c": None}]}}


CREATOR = Manager("labkube-controller-manager", UPDATE)
KUBELET = Manager("hollow-kubelet", UPDATE, "status")
OTHER_KUBELET = Manager("other-kubelet", UPDATE, "status")
EDITOR = Manager("kubectl-edit", UPDATE)
APPLIER = Manager("kubectl", APPLY)
STATUS_APPLIER = Manager("kubectl", APPLY, "status")
WRITERS = [KUBELET, OTHER_KUBELET, EDITOR, CREATOR, APPLIER, STATUS_APPLIER]


def _with_entries(obj, entries):
    obj = copy.deepcopy(obj)
    if isinstance(obj.get("metadata"), dict):
        obj["metadata"]["managedFields"] = entries
    return obj


def _pairs():
    """(what, old, new) pairs: the hollow kubelet's Running write and seeded random edits of it."""
    pod = _pending_pod()
    created = mf.created(pod, CREATOR, "v1", True)
    stored = _with_entries(pod, created)
    running = copy.deepcopy(stored)
    running["status"] = _running_status()
    out = [("the kubelet's Running write", stored, running),
           ("no existing entries", _with_entries(pod, []), _with_entries(running, [])),
           ("managedFields absent", {k: v for k, v in pod.items()},
            dict(running, metadata={k: v for k, v in running["metadata"].items() if k != "managedFields"})),
           ("nothing changed", stored, copy.deepcopy(stored)),
           ("Ready flips, PodScheduled's time too", running,
            _with_entries(dict(running, status=_running_status(ready="False", scheduled_time="t9")), created)),
           ("a new pod IP", running, dict(running, status=_running_status(ip="10.100.0.6"))),
           ("conditions emptied", running, dict(running, status=dict(running["status"], conditions=[]))),
           ("status removed", running, {k: v for k, v in running.items() if k != "status"}),
           ("metadata that is no object", stored, dict(stored, metadata="x")),
           ("spec replaced by a scalar", stored, dict(stored, spec=3))]
    dup = copy.deepcopy(running)
    dup["status"]["conditions"].append({"type": "Ready", "status": "False"})
    out += [("a duplicate condition type", running, dup), ("a duplicate condition type dropped", dup, running)]
    nan = float("nan")  # one object on both sides: still a change for the field sets (nan != nan)
    out.append(("the same NaN on both sides", dict(stored, status=dict(stored["status"], extra=nan)),
                dict(running, status=dict(running["status"], extra=nan))))
    edited = copy.deepcopy(stored)
    edited["spec"]["containers"].append({"name": "d", "image": "busybox", "ports": [{"port": 53, "protocol": "UDP"}]})
    edited["spec"]["containers"][0]["ports"] = [{"containerPort": 80, "protocol": "TCP"}, {"containerPort": 443}]
    out += [("a container added, ports by other keys", stored, edited), ("a container removed", edited, stored),
            ("containers by name, twice", edited, dict(edited, spec=dict(
                edited["spec"], containers=edited["spec"]["containers"] + edited["spec"]["containers"][:1])))]
    rng = random.Random(18)
    for i in range(260):
        base = rng.choice([stored, running])
        new = base
        for _ in range(rng.randrange(1, 4)):
            new = _mutate(rng, new)
        if not isinstance(new, dict):
            continue
        old = base if rng.random() < 0.7 else _mutate(rng, base)
        if not isinstance(old, dict):
            continue
        out.append((f"random {i}", old, new))
    return out


PAIRS = _pairs()


def _dumps(v):
    try:
        return orjson.dumps(v)
    except TypeError:  # an integer beyond 64 bits
        return repr(v).encode()


@pytest.mark.parametrize("scope", [None, False, True])
@pytest.mark.parametrize("what,old,new", PAIRS, ids=[p[0] for p in PAIRS])
def test_changes_equal_comparing_the_field_sets(what, old, new, scope):
    heads = set()
    changed, removed = mf._changes(old, new, scope, heads)
    want_changed, want_removed = _reference_changes(old, new, scope)
    assert set(changed) == want_changed, what
    assert set(removed) == want_removed, what
    assert heads == {p[0] for p in want_changed | want_removed}, what


@pytest.mark.parametrize("status_subresource", [True, False])
@pytest.mark.parametrize("what,old,new", PAIRS, ids=[p[0] for p in PAIRS])
def test_updated_equals_the_earlier_code(what, old, new, status_subresource, monkeypatch):
    clock = iter(range(10 ** 6))

    def now():  # each call a new time, the same sequence for both sides
        return f"T{next(clock)}"
    monkeypatch.setattr(mf, "_now", now)
    for m in WRITERS:
        clock = iter(range(10 ** 6))
        got = mf.updated(copy.deepcopy(old), new, m, "v1", status_subresource)
        clock = iter(range(10 ** 6))
        want = _reference_updated(copy.deepcopy(old), new, m, "v1", status_subresource)
        assert _dumps(got) == _dumps(want), (what, m)
        if not isinstance(new.get("metadata"), dict) or not isinstance(got, list):
            continue
        # the same manager writes again, then another one takes fields over, over that result
        written = _with_entries(new, got)
        for again, by in ((new, m), (_mutate(random.Random(len(what)), new), m),
                          (old, OTHER_KUBELET), (old, EDITOR)):
            if not isinstance(again, dict):
                continue
            clock = iter(range(10 ** 6))
            got2 = mf.updated(copy.deepcopy(written), again, by, "v1", status_subresource)
            clock = iter(range(10 ** 6))
            want2 = _reference_updated(copy.deepcopy(written), again, by, "v1", status_subresource)
            assert _dumps(got2) == _dumps(want2), (what, m, by)


def test_the_table_holds_the_odd_cases():
    """The seeded table reaches the cases the paired walk hands back to the field sets."""
    texts = [repr(p[2]) for p in PAIRS]
    assert any("nan" in t for t in texts)
    assert any("1.0" in t for t in texts)
    assert any(t.count("'type': 'Ready'") > 1 for t in texts)  # a duplicate merge key
    assert sum(1 for p in PAIRS if mf._changes(p[1], p[2], True) != ({}, {})) > 80  # status writes
