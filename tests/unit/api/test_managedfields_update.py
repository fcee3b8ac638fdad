"""managedfields.updated reads the path sets of only the entries it changes (the others are looked up
along the changed paths): its results equal those of reading every entry (the reference below is
the earlier code) on a table of updates."""
import copy

import pytest

from labkube.api import managedfields as mf
from labkube.api.managedfields import Manager

POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "p", "namespace": "d", "uid": "u", "resourceVersion": "7",
                    "labels": {"app": "web", "shard": "1"}, "finalizers": ["a/b"]},
       "spec": {"containers": [{"name": "c", "image": "busybox:1.36", "ports": [{"containerPort": 80}],
                                "resources": {"requests": {"cpu": "10m"}}}],
                "selector": {"matchLabels": {"a": "b"}}, "nodeName": None, "tolerations": [{"operator": "Exists"}]},
       "status": {"phase": "Pending", "qosClass": "Burstable",
                  "conditions": [{"type": "PodScheduled", "status": "True"}]}}


def _running(pod):
    pod["status"].update(phase="Running", podIP="10.244.1.5", hostIP="10.200.0.10",
                         conditions=[{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}],
                         containerStatuses=[{"name": "c", "ready": True, "state": {"running": {"startedAt": "t"}}}])


def _edit(fn):
    new = copy.deepcopy(POD)
    fn(new)
    return new


UPDATES = [  # (what, new object made from POD)
    ("nothing changed", _edit(lambda o: None)),
    ("the kubelet's running status", _edit(_running)),
    ("a label changed, one added, one removed", _edit(lambda o: o["metadata"].update(
        labels={"app": "api", "tier": "x"}))),
    ("server-owned metadata only", _edit(lambda o: o["metadata"].update(resourceVersion="8", uid="v"))),
    ("a finalizer set value added", _edit(lambda o: o["metadata"]["finalizers"].append("c/d"))),
    ("a list item's field", _edit(lambda o: o["spec"]["containers"][0].update(image="busybox:1.37"))),
    ("a port's protocol spelled out (same key)", _edit(
        lambda o: o["spec"]["containers"][0]["ports"][0].update(protocol="TCP"))),
    ("1 -> 1.0: equal in Python, another key in FieldsV1", _edit(
        lambda o: o["spec"]["containers"][0]["ports"][0].update(containerPort=80.0))),
    ("a set value 1 -> true", _edit(lambda o: o["metadata"].update(finalizers=[True]))),
    ("a leaf \"10m\" -> true", _edit(lambda o: o["spec"]["containers"][0]["resources"].update(requests={"cpu": True}))),
    ("an atomic selector changed", _edit(lambda o: o["spec"]["selector"].update(matchLabels={"a": "c"}))),
    ("a selector that becomes a plain map", _edit(lambda o: o["spec"].update(selector={"a": "b"}))),
    ("a map emptied", _edit(lambda o: o["metadata"].update(labels={}))),
    ("a member set to null", _edit(lambda o: o["spec"].update(containers=None))),
    ("a null member set", _edit(lambda o: o["spec"].update(nodeName="n1"))),
    ("metadata that is no object", _edit(lambda o: o.update(metadata="x"))),
    ("status removed", _edit(lambda o: o.pop("status"))),
    ("spec replaced by a scalar", _edit(lambda o: o.update(spec=3))),
    ("key order only", _edit(lambda o: o["metadata"].update(labels={"shard": "1", "app": "web"}))),
]


def _reference_changes(old, new, scope):
    before, after = mf.fields(old, scope), mf.fields(new, scope)
    return ({p for p, v in after.items() if p not in before or before[p] != v}, set(before) - set(after))


TRIES = [
    {},
    {"f:metadata": {"f:labels": {".": {}, "f:app": {}}}, "f:spec": {"f:containers": {'k:{"name":"c"}': {
        ".": {}, "f:image": {}, "f:name": {}}}}},
    {".": {}, "f:a": {"f:b": {".": {"x": {}}, "f:c": {}}}, "f:leaf": 5, "f:null": None},
]
PATHS = [(), ("f:metadata",), ("f:metadata", "f:labels"), ("f:metadata", "f:labels", "f:app"),
         ("f:metadata", "f:labels", "f:app", "f:more"), ("f:spec", "f:containers"),
         ("f:spec", "f:containers", 'k:{"name":"c"}'), ("f:spec", "f:containers", 'k:{"name":"c"}', "f:image"),
         ("f:a",), ("f:a", "f:b"), ("f:a", "f:b", "."), ("f:a", "f:b", "x"), ("f:a", "f:b", "f:c"),
         ("f:leaf",), ("f:leaf", "f:x"), ("f:null",), ("f:missing",)]


@pytest.mark.parametrize("trie", TRIES, ids=range(len(TRIES)))
def test_a_path_looked_up_in_a_trie_is_a_member_of_its_path_set(trie):
    members = mf.from_fields_v1(trie)
    for p in PATHS:
        assert mf._trie_has(trie, p) == (p in members), p
    assert (not trie) == (not members)   # what _Entry.empty relies on


def _reference_updated(old, new, m, api_version, status_subresource):
    """updated() as it was: both objects' whole field sets and every entry's path set."""
    changed, removed = _reference_changes(old, new, mf._scope(status_subresource, m.subresource))
    current = (old.get("metadata") or {}).get("managedFields") or []
    if not changed and not removed:
        return mf._render(mf._entries(old), "T") if isinstance(current, list) else []
    entries = mf._entries(old)
    mine = mf._mine(entries, m, api_version)
    for e in entries:
        if e is not mine and e.paths & (changed | removed):
            e.paths -= changed | removed
            e.changed = True
    grown = (mine.paths | changed) - removed
    if grown != mine.paths:
        mine.paths, mine.changed = grown, True
    return mf._render(entries, "T")


CREATOR = Manager("kube-controller-manager", "Update")
KUBELET = Manager("hollow", "Update", "status")
EDITOR = Manager("kubectl-edit", "Update")


def _stored(pod):
    pod = copy.deepcopy(pod)
    pod["metadata"]["managedFields"] = mf.created(pod, CREATOR, "v1", True) + [
        {"manager": "broken", "operation": "Update", "fieldsV1": "not a trie"},
        {"manager": "empty", "operation": "Update", "apiVersion": "v1", "fieldsType": "FieldsV1", "fieldsV1": {}}]
    return pod


@pytest.mark.parametrize("who", [KUBELET, EDITOR, CREATOR], ids=lambda m: m.name)
@pytest.mark.parametrize("what,new", UPDATES, ids=[u[0] for u in UPDATES])
def test_updated_equals_reading_every_entry(what, new, who, monkeypatch):
    monkeypatch.setattr(mf, "_now", lambda: "T")
    old = _stored(POD)
    if isinstance(new.get("metadata"), dict):
        new = dict(new, metadata=dict(new["metadata"], managedFields=old["metadata"]["managedFields"]))
    want = _reference_updated(copy.deepcopy(old), new, who, "v1", True)
    assert mf.updated(copy.deepcopy(old), new, who, "v1", True) == want, what
    # a second writer over the first one's result: entries owned by both are read and changed
    again = copy.deepcopy(old)
    again["metadata"]["managedFields"] = want
    running = copy.deepcopy(new) if isinstance(new.get("status"), dict) else new
    if running is not new:
        _running(running)
    assert mf.updated(copy.deepcopy(again), running, KUBELET, "v1", True) == \
        _reference_updated(copy.deepcopy(again), running, KUBELET, "v1", True), what
