"""Patch types: JSON merge, JSON patch, strategic merge with directives, table-driven."""
import pytest

from labkube.api.errors import ApiError
from labkube.api.patch import JSON, MERGE, STRATEGIC, apply_patch

BASE = {"metadata": {"labels": {"a": "1", "b": "2"}},
        "spec": {"replicas": 1, "finalizers": ["x"],
                 "containers": [{"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80}],
                                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]},
                                {"name": "side", "image": "busybox"}],
                 "args": ["a", "b"]}}


@pytest.mark.parametrize("ctype,patch,check", [
    (MERGE, {"metadata": {"labels": {"a": None, "c": "3"}}}, lambda o: o["metadata"]["labels"] == {"b": "2", "c": "3"}),
    (MERGE, {"spec": {"containers": [{"name": "only"}]}}, lambda o: o["spec"]["containers"] == [{"name": "only"}]),
    (JSON, [{"op": "replace", "path": "/spec/replicas", "value": 3}], lambda o: o["spec"]["replicas"] == 3),
    (JSON, [{"op": "add", "path": "/spec/args/-", "value": "c"}], lambda o: o["spec"]["args"] == ["a", "b", "c"]),
    (JSON, [{"op": "remove", "path": "/metadata/labels/a"}], lambda o: "a" not in o["metadata"]["labels"]),
    (JSON, [{"op": "add", "path": "/metadata/annotations", "value": {"x~y/z": "1"}},
            {"op": "copy", "from": "/metadata/annotations/x~0y~1z", "path": "/metadata/labels/c"}],
     lambda o: o["metadata"]["labels"]["c"] == "1"),
    (JSON, [{"op": "test", "path": "/spec/replicas", "value": 1}, {"op": "move", "from": "/spec/args", "path": "/spec/command"}],
     lambda o: o["spec"]["command"] == ["a", "b"] and "args" not in o["spec"]),
    (STRATEGIC, {"spec": {"containers": [{"name": "web", "image": "nginx:2"}]}},
     lambda o: [c["image"] for c in o["spec"]["containers"]] == ["nginx:2", "busybox"]
     and o["spec"]["containers"][0]["ports"] == [{"containerPort": 80}]),
    (STRATEGIC, {"spec": {"containers": [{"name": "new", "image": "x"}]}},
     lambda o: [c["name"] for c in o["spec"]["containers"]] == ["web", "side", "new"]),
    (STRATEGIC, {"spec": {"containers": [{"name": "side", "$patch": "delete"}]}},
     lambda o: [c["name"] for c in o["spec"]["containers"]] == ["web"]),
    (STRATEGIC, {"spec": {"containers": [{"name": "z", "image": "z"}, {"$patch": "replace"}]}},
     lambda o: o["spec"]["containers"] == [{"name": "z", "image": "z"}]),
    (STRATEGIC, {"spec": {"$setElementOrder/containers": [{"name": "side"}, {"name": "web"}],
                          "containers": [{"name": "web", "image": "nginx:3"}]}},
     lambda o: [c["name"] for c in o["spec"]["containers"]] == ["side", "web"]),
    (STRATEGIC, {"spec": {"containers": [{"name": "web", "env": [{"name": "B", "value": "9"}, {"name": "C", "value": "3"}]}]}},
     lambda o: o["spec"]["containers"][0]["env"] == [{"name": "A", "value": "1"}, {"name": "B", "value": "9"}, {"name": "C", "value": "3"}]),
    (STRATEGIC, {"spec": {"$deleteFromPrimitiveList/finalizers": ["x"]}}, lambda o: o["spec"]["finalizers"] == []),
    (STRATEGIC, {"spec": {"finalizers": ["y"]}}, lambda o: o["spec"]["finalizers"] == ["x", "y"]),
    (STRATEGIC, {"spec": {"args": ["z"]}}, lambda o: o["spec"]["args"] == ["z"]),
    (STRATEGIC, {"spec": {"replicas": None}}, lambda o: "replicas" not in o["spec"]),
    (STRATEGIC, {"spec": {"$patch": "replace", "replicas": 5}}, lambda o: o["spec"] == {"replicas": 5}),
    (STRATEGIC, {"spec": {"$retainKeys": ["replicas"], "replicas": 2}}, lambda o: o["spec"] == {"replicas": 2}),
    (STRATEGIC, {"metadata": {"labels": {"$patch": "delete"}}}, lambda o: "labels" not in o["metadata"]),
    (STRATEGIC, {"spec": {"containers": [{"name": "web", "ports": [{"containerPort": 443}]}]}},
     lambda o: o["spec"]["containers"][0]["ports"] == [{"containerPort": 80}, {"containerPort": 443}]),
])
def test_patch(ctype, patch, check):
    import copy
    before = copy.deepcopy(BASE)
    out = apply_patch(ctype, BASE, patch)
    assert check(out), out
    assert BASE == before  # the original is never modified


@pytest.mark.parametrize("ctype,patch,code", [
    (JSON, [{"op": "remove", "path": "/nope"}], 422),
    (JSON, [{"op": "test", "path": "/spec/replicas", "value": 9}], 422),
    (JSON, {"op": "add"}, 422),
    (MERGE, [1, 2], 422),
    ("application/weird", {}, 415),
])
def test_bad_patches(ctype, patch, code):
    with pytest.raises(ApiError) as e:
        apply_patch(ctype, BASE, patch)
    assert e.value.code == code


@pytest.mark.parametrize("case, value", [
    ("plain status", {"containerStatuses": [{"name": "c", "ready": True, "restartCount": 0,
                                            "state": {"running": {"startedAt": "2026-12-02T01:00:00Z"}}}]}),
    ("nulls dropped at any depth", {"a": None, "b": [{"c": None, "d": 1}], "e": {"f": {"g": None}}}),
    ("directives dropped", {"$setElementOrder/containers": [{"name": "a"}], "x": {"$retainKeys": ["y"], "y": 1}}),
    ("deleted and replace-only items dropped", [{"name": "a"}, {"$patch": "delete"}, {"$patch": "replace"}]),
    ("a nested $patch: delete becomes None", {"x": {"$patch": "delete", "k": 1}}),
    ("the word null inside a string", {"message": "returned null", "cost": "$5"}),
    ("integers beyond 64 bits", {"n": 2 ** 70, "m": [2 ** 64]}),
    ("floats, unicode, empty containers", {"f": 1.5e-7, "u": "ünï", "l": [], "d": {}}),
    ("a list of scalars", [1, "two", 3.0, True]),
])
def test_strategic_clean_matches_the_walk_and_copies(case, value):
    from labkube.api.patch import strategic
    import copy
    before = copy.deepcopy(value)
    got = strategic._clean(value)
    assert got == strategic._clean_walk(before), case
    assert value == before, case                   # the patch itself is left alone
    if isinstance(got, (dict, list)) and got:
        assert got is not value, case              # a copy: later steps may mutate it
