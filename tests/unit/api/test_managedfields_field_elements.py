"""managedfields.fields with each `f:` element taken from _FIELD (one string object per field name,
bounded) instead of built anew: the same {path: value} as the earlier form, kept here as the
reference, in the same order, on a table of objects and scopes, including a field-name cache
emptied while a walk runs."""
import copy
import json

import pytest

from labkube.api import managedfields as mf
from labkube.kubelet.hollow.pods import running_status


def _walk_before(value, path, name, out):  # the earlier form
    if isinstance(value, dict):
        if not value or (name == "selector" and any(k in value for k in mf.SELECTOR_KEYS)):
            out[path] = value
            return
        if name in mf.GRANULAR_MAPS or name == "selector":
            out[path] = mf.MARK
        for k, v in value.items():
            if type(v) in mf._SCALARS:
                out[path + ("f:" + k,)] = v
            elif v is not None:
                _walk_before(v, path + ("f:" + k,), k, out)
    elif isinstance(value, list):
        keys = mf._list_keys(name, value)
        if keys:
            for item in value:
                p = path + (mf.key_element(item, keys),)
                out[p] = mf.MARK
                for k, v in item.items():
                    if type(v) in mf._SCALARS:
                        out[p + ("f:" + k,)] = v
                    elif v is not None:
                        _walk_before(v, p + ("f:" + k,), k, out)
        elif name in mf.PRIMITIVE_MERGE and value and not any(isinstance(v, (dict, list)) for v in value):
            out[path] = mf.MARK
            for v in value:
                out[path + ("v:" + mf._dumps(v),)] = v
        else:
            out[path] = value
    else:
        out[path] = value


def _fields_before(obj, status_scope):
    out = {}
    for k, v in (obj or {}).items():
        if v is None or k in ("apiVersion", "kind"):
            continue
        if (status_scope is True and k != "status") or (status_scope is False and k == "status"):
            continue
        if k == "metadata" and isinstance(v, dict):
            for mk, mv in v.items():
                if mk not in mf.IGNORED_META and mv is not None:
                    _walk_before(mv, ("f:metadata", "f:" + mk), mk, out)
            continue
        _walk_before(v, ("f:" + k,), k, out)
    return out


POD = {"apiVersion": "v1", "kind": "Pod",
       "metadata": {"name": "p", "namespace": "d", "uid": "u", "resourceVersion": "5", "generateName": "p-",
                    "labels": {"app": "web", "pod-template-hash": "7d9"}, "annotations": {"a/b": "c"},
                    "finalizers": ["a/b", "c/d"], "managedFields": [{"manager": "m"}],
                    "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "r", "uid": "x",
                                         "controller": True}]},
       "spec": {"containers": [{"name": "c", "image": "nginx", "ports": [{"containerPort": 80}],
                                "env": [{"name": "A", "value": "1"}], "resources": {"requests": {"cpu": "1"}}}],
                "nodeName": "n1", "nodeSelector": {"k": "v"}, "tolerations": [{"key": "k", "operator": "Exists"}],
                "affinity": None, "securityContext": {}},
       "status": {"phase": "Pending", "conditions": [
           {"type": "PodScheduled", "status": "True", "lastProbeTime": None, "lastTransitionTime": "t0"}]}}
SVC = {"metadata": {"name": "s"}, "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP"}],
                                           "clusterIPs": ["10.0.0.1"]}}
DEPLOY = {"metadata": {"name": "d"}, "spec": {"selector": {"matchLabels": {"app": "web"}}, "replicas": 3,
                                              "template": {"metadata": {"labels": {"app": "web"}},
                                                           "spec": {"containers": [{"name": "c"}]}}}}
LABELS = {"metadata": {"name": "many", "labels": {f"key-{i}": str(i) for i in range(mf._FIELD_MAX + 50)}},
          "data": {"f": "x", "g": {"h": [1, 2]}}}
running = copy.deepcopy(POD)
running["status"] = running_status(POD, "10.200.0.1", "10.244.0.5", now=1.7e9)

OBJECTS = [("a pending pod", POD), ("a running pod", running), ("a service", SVC), ("a deployment", DEPLOY),
           ("more label keys than the cache holds", LABELS), ("an empty object", {}),
           ("odd field names", {"metadata": {"name": "x", "labels": {"": "e", "é\u2028": "u", "f:x": "y"}},
                                "spec": {"": {"": 1}, "0": [None, 1.5, True]}})]


@pytest.mark.parametrize("scope", [None, False, True], ids=["all", "no status", "status"])
@pytest.mark.parametrize("what,obj", OBJECTS, ids=[o[0] for o in OBJECTS])
def test_fields_as_before(what, obj, scope):
    for _ in range(2):  # with the names not cached yet, then cached
        got, want = mf.fields(obj, scope), _fields_before(obj, scope)
        assert list(got.items()) == list(want.items()), what
        assert json.dumps(mf.to_fields_v1(got)) == json.dumps(mf.to_fields_v1(want))


def test_cache_stays_bounded_and_elements_are_shared():
    mf.fields(LABELS, None)
    assert len(mf._FIELD) <= mf._FIELD_MAX
    a, b = mf.fields(running, True), mf.fields(copy.deepcopy(running), True)
    for p, q in zip(a, b):
        assert p == q and all(x is y for x, y in zip(p, q) if x.startswith("f:"))


def test_a_non_string_key_fails_as_before():
    with pytest.raises(TypeError):
        _fields_before({"spec": {1: "x"}}, None)
    with pytest.raises(TypeError):
        mf.fields({"spec": {1: "x"}}, None)
