"""Server-side apply field management: field sets, FieldsV1, apply merge/conflicts/removal, updates."""
import copy

import pytest

from labkube.api import managedfields as mf
from labkube.api.errors import ApiError
from labkube.api.managedfields import APPLY, MARK, UPDATE, Manager

DEPLOY = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web", "labels": {"app": "web"}},
          "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                   "template": {"metadata": {"labels": {"app": "web"}},
                                "spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                                         "ports": [{"containerPort": 80}], "args": ["a"]}]}}}}
C = ("f:spec", "f:template", "f:spec", "f:containers", 'k:{"name":"nginx"}')


def _paths(obj, scope=None):
    return {mf.path_string(p): (("MARK" if v is MARK else v)) for p, v in mf.fields(obj, scope).items()}


@pytest.mark.parametrize("obj,scope,want", [
    # struct fields are leaves; maps (labels) and list items are members themselves
    ({"metadata": {"name": "x", "uid": "u", "resourceVersion": "1", "labels": {"a": "1"}}, "data": {"k": "v"}}, None,
     {".metadata.labels": "MARK", ".metadata.labels.a": "1", ".data": "MARK", ".data.k": "v"}),
    # apiVersion, kind and server-owned metadata are nobody's; null values are not fields
    ({"apiVersion": "v1", "kind": "Pod", "metadata": {"creationTimestamp": "t", "generation": 3},
      "spec": {"nodeName": None, "restartPolicy": "Always"}}, None, {".spec.restartPolicy": "Always"}),
    # a label selector is atomic, a Service selector a map
    ({"spec": {"selector": {"matchLabels": {"a": "b"}}}}, None, {".spec.selector": {"matchLabels": {"a": "b"}}}),
    ({"spec": {"selector": {"a": "b"}}}, None, {".spec.selector": "MARK", ".spec.selector.a": "b"}),
    # containers by name, ports by containerPort+protocol (TCP when absent), env by name, args atomic
    ({"spec": {"containers": [{"name": "c", "args": ["x"], "env": [{"name": "E", "value": "1"}],
                               "ports": [{"containerPort": 53, "protocol": "UDP"}, {"containerPort": 80}]}]}}, None,
     {'.spec.containers[name="c"]': "MARK", '.spec.containers[name="c"].name': "c",
      '.spec.containers[name="c"].args': ["x"],
      '.spec.containers[name="c"].env[name="E"]': "MARK", '.spec.containers[name="c"].env[name="E"].name': "E",
      '.spec.containers[name="c"].env[name="E"].value': "1",
      '.spec.containers[name="c"].ports[containerPort=53,protocol="UDP"]': "MARK",
      '.spec.containers[name="c"].ports[containerPort=53,protocol="UDP"].containerPort': 53,
      '.spec.containers[name="c"].ports[containerPort=53,protocol="UDP"].protocol': "UDP",
      '.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"]': "MARK",
      '.spec.containers[name="c"].ports[containerPort=80,protocol="TCP"].containerPort': 80}),
    # Service ports by port+protocol; finalizers are a set; empty structs are leaves
    ({"metadata": {"finalizers": ["a/b"]}, "spec": {"ports": [{"port": 80}], "volumes": [{"name": "v", "emptyDir": {}}]}},
     None, {".metadata.finalizers": "MARK", '.metadata.finalizers[="a/b"]': "a/b",
            '.spec.ports[port=80,protocol="TCP"]': "MARK", '.spec.ports[port=80,protocol="TCP"].port': 80,
            '.spec.volumes[name="v"]': "MARK", '.spec.volumes[name="v"].name': "v",
            '.spec.volumes[name="v"].emptyDir': {}}),
    # a list whose items lack the merge key is atomic
    ({"spec": {"tolerations": [{"operator": "Exists"}]}}, None, {".spec.tolerations": [{"operator": "Exists"}]}),
    # status scope: the main resource of a kind with a status subresource leaves status out, status only it
    ({"spec": {"replicas": 1}, "status": {"replicas": 1}}, False, {".spec.replicas": 1}),
    ({"spec": {"replicas": 1}, "status": {"replicas": 1}}, True, {".status.replicas": 1}),
])
def test_field_sets(obj, scope, want):
    assert _paths(obj, scope) == want


def test_fields_v1_is_upstreams_trie_and_round_trips():
    paths = set(mf.fields(DEPLOY, False))
    trie = mf.to_fields_v1(paths)
    assert trie["f:metadata"] == {"f:labels": {".": {}, "f:app": {}}}
    assert trie["f:spec"]["f:selector"] == {} and trie["f:spec"]["f:replicas"] == {}
    item = trie["f:spec"]["f:template"]["f:spec"]["f:containers"]['k:{"name":"nginx"}']
    assert list(item) == [".", "f:args", "f:image", "f:name", "f:ports"]
    assert item["f:ports"] == {'k:{"containerPort":80,"protocol":"TCP"}': {".": {}, "f:containerPort": {}}}
    assert mf.from_fields_v1(trie) == paths


def _apply(live, config, name="a", force=False):
    return mf.apply(copy.deepcopy(live), copy.deepcopy(config), Manager(name, APPLY, None, force), "apps/v1", True)


def _owners(managed):
    return {e["manager"] + "/" + e["operation"]: {mf.path_string(p) for p in mf.from_fields_v1(e["fieldsV1"])}
            for e in managed}


def test_apply_records_an_apply_entry():
    merged, managed = _apply({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}}, DEPLOY)
    assert merged["spec"] == DEPLOY["spec"]
    [entry] = managed
    assert (entry["manager"], entry["operation"], entry["apiVersion"], entry["fieldsType"]) == \
        ("a", "Apply", "apps/v1", "FieldsV1")
    assert entry["time"].endswith("Z") and ".spec.replicas" in _owners(managed)["a/Apply"]


def test_same_value_is_shared_a_different_value_conflicts_force_takes_over():
    live, _ = _apply(DEPLOY, DEPLOY, "a")
    # b applies the same replicas: no conflict, both own it
    live, managed = _apply(live, {**DEPLOY, "spec": {"replicas": 2}}, "b")
    assert ".spec.replicas" in _owners(managed)["a/Apply"] and ".spec.replicas" in _owners(managed)["b/Apply"]
    # b wants 5 and another image: two conflicts with a, nothing changes
    want = {**DEPLOY, "spec": {"replicas": 5, "template": {"spec": {"containers": [{"name": "nginx", "image": "x"}]}}}}
    with pytest.raises(ApiError) as e:
        _apply(live, want, "b")
    assert e.value.code == 409 and e.value.reason == "Conflict"
    assert e.value.message == ('Apply failed with 2 conflicts: conflicts with "a"\n- .spec.replicas\n'
                               '- .spec.template.spec.containers[name="nginx"].image')
    assert [c["field"] for c in e.value.details["causes"]] == [
        ".spec.replicas", '.spec.template.spec.containers[name="nginx"].image']
    assert {c["message"] for c in e.value.details["causes"]} == {'conflict with "a"'}
    # forced: b owns both, a loses them
    merged, managed = _apply(live, want, "b", force=True)
    assert merged["spec"]["replicas"] == 5
    owners = _owners(managed)
    assert ".spec.replicas" in owners["b/Apply"] and ".spec.replicas" not in owners["a/Apply"]
    assert '.spec.template.spec.containers[name="nginx"].image' not in owners["a/Apply"]


def test_one_conflict_message_names_an_update_manager_with_its_version():
    live = copy.deepcopy(DEPLOY)
    live["metadata"]["managedFields"] = mf.created(live, Manager("kubectl-create"), "apps/v1", True)
    with pytest.raises(ApiError) as e:
        _apply(live, {**DEPLOY, "spec": {"replicas": 3}})
    assert e.value.message.startswith('Apply failed with 1 conflict: conflict with "kubectl-create" using apps/v1 at ')
    assert e.value.message.endswith(": .spec.replicas")


@pytest.mark.parametrize("second,check", [
    # labels dropped from the applied config are removed from the object (the whole map)
    ({"metadata": {"name": "web"}, "spec": DEPLOY["spec"]}, lambda o: "labels" not in o["metadata"]),
    # one label of two dropped
    ({"metadata": {"labels": {"tier": "x"}}}, lambda o: o["metadata"]["labels"] == {"tier": "x"}),
    # a container replaced by another: the old item goes, the new one is there; replicas gone too
    ({"spec": {"template": {"spec": {"containers": [{"name": "side", "image": "busybox"}]}}}},
     lambda o: [c["name"] for c in o["spec"]["template"]["spec"]["containers"]] == ["side"]
     and "replicas" not in o["spec"]),
    # one port of a container dropped
    ({"spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:1.25",
                                                     "ports": [{"containerPort": 81}]}]}}}},
     lambda o: o["spec"]["template"]["spec"]["containers"][0]["ports"] == [{"containerPort": 81}]),
])
def test_fields_no_longer_applied_are_removed(second, check):
    live, _ = _apply(DEPLOY, DEPLOY)
    merged, _ = _apply(live, {"apiVersion": "apps/v1", "kind": "Deployment", **second})
    assert check(merged), merged


def test_removal_keeps_what_another_manager_owns():
    live, _ = _apply(DEPLOY, DEPLOY, "a")
    live, _ = _apply(live, {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"labels": {"app": "web"}},
                            "spec": {"replicas": 2}}, "b")
    merged, managed = _apply(live, {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"paused": True}}, "a")
    assert merged["metadata"]["labels"] == {"app": "web"} and merged["spec"]["replicas"] == 2  # b still owns them
    assert "containers" not in merged["spec"]["template"]["spec"]  # a applied the only container
    assert _owners(managed)["a/Apply"] == {".spec.paused"}


def test_removal_keeps_an_item_whose_field_another_manager_changed():
    live, _ = _apply(DEPLOY, DEPLOY, "a")
    edited = copy.deepcopy(live)
    edited["spec"]["template"]["spec"]["containers"][0]["image"] = "nginx:1.26"
    edited["metadata"]["managedFields"] = mf.updated(live, edited, Manager("kubectl-edit"), "apps/v1", True)
    merged, _ = _apply(edited, {"apiVersion": "apps/v1", "kind": "Deployment", "spec": {"replicas": 2}}, "a")
    [c] = merged["spec"]["template"]["spec"]["containers"]
    assert c == {"name": "nginx", "image": "nginx:1.26"}  # the edited field holds its item; a's other fields go


def test_update_takes_ownership_and_drops_removed_fields():
    live, _ = _apply(DEPLOY, DEPLOY, "a")
    new = copy.deepcopy(live)
    new["spec"]["replicas"] = 7
    del new["metadata"]["labels"]
    managed = mf.updated(live, new, Manager("kubectl-scale", UPDATE, "scale"), "apps/v1", True)
    owners = _owners(managed)
    assert owners["kubectl-scale/Update"] == {".spec.replicas"}
    assert ".spec.replicas" not in owners["a/Apply"] and ".metadata.labels.app" not in owners["a/Apply"]
    scale = next(e for e in managed if e["manager"] == "kubectl-scale")
    assert scale["subresource"] == "scale" and scale["apiVersion"] == "apps/v1"


def test_update_that_changes_nothing_leaves_managed_fields_alone():
    live, managed = _apply(DEPLOY, DEPLOY, "a")
    assert mf.updated(live, copy.deepcopy(live), Manager("other"), "apps/v1", True) == managed


def test_reapplying_the_same_config_keeps_the_entry_time():
    live, managed = _apply(DEPLOY, DEPLOY, "a")
    live["metadata"]["managedFields"][0]["time"] = "2020-01-01T00:00:00Z"
    _, again = _apply(live, DEPLOY, "a")
    assert again[0]["time"] == "2020-01-01T00:00:00Z"


def test_set_values_are_removed_one_by_one():
    cm = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c", "finalizers": ["x/a", "x/b"]}}
    live, _ = mf.apply(copy.deepcopy(cm), cm, Manager("a", APPLY), "v1", False)
    merged, _ = mf.apply(live, {**cm, "metadata": {"name": "c", "finalizers": ["x/a"]}}, Manager("a", APPLY), "v1", False)
    assert merged["metadata"]["finalizers"] == ["x/a"]


@pytest.mark.parametrize("obj", [
    DEPLOY,
    {"metadata": {"name": "x", "labels": {}, "finalizers": ["b", "a"], "annotations": {"k": None}},
     "spec": {"selector": {"app": "x"}, "ports": [{"port": 443, "name": "https"}, {"port": 80, "protocol": "UDP"}],
              "containers": [{"name": "z"}, {"name": "a", "env": [{"name": "E", "valueFrom": None}]}],
              "volumes": [{"name": "v", "emptyDir": {}}], "empty": {"x": None}, "tolerations": []},
     "status": {"phase": "Running"}},
])
@pytest.mark.parametrize("scope", [None, False, True])
def test_one_pass_trie_equals_the_trie_of_the_field_set(obj, scope):
    assert mf.fields_v1_of(obj, scope) == mf.to_fields_v1(set(mf.fields(obj, scope)))
    assert list(mf.fields_v1_of(obj, scope)) == list(mf.to_fields_v1(set(mf.fields(obj, scope))))


def test_a_path_set_rendered_again_is_an_equal_fresh_trie_and_the_kept_renderings_are_bounded():
    from labkube.api import managedfields as mf
    paths = {("f:status",), ("f:status", "f:phase"), ("f:status", "f:conditions", 'k:{"type":"Ready"}'),
             ("f:status", "f:conditions", 'k:{"type":"Ready"}', "f:status")}
    first = mf.to_fields_v1(paths)
    again = mf.to_fields_v1(set(paths))
    assert again == first == mf._render_trie(frozenset(paths))
    again["f:status"]["f:phase"]["x"] = {}
    assert mf.to_fields_v1(paths) == first                 # what a caller does to its copy stays there
    for i in range(mf._RENDERED_MAX + 10):
        mf.to_fields_v1({("f:data", f"f:k{i}")})
    assert len(mf._RENDERED) == mf._RENDERED_MAX
    assert mf.to_fields_v1({("f:a", "f:\ud800")}) == {"f:a": {"f:\ud800": {}}}   # not JSON-writable: rendered, not kept
