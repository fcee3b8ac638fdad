"""Validation per kind, table-driven: each bad object names its field like upstream."""
import copy

import pytest

from labkube.api.resources import resource
from labkube.api.strategy import prepare_create
from labkube.api.validation import validate

POD = {"metadata": {"name": "p", "namespace": "d"},
       "spec": {"containers": [{"name": "c", "image": "busybox"}]}}
DEP = {"metadata": {"name": "web", "namespace": "d"},
       "spec": {"selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                             "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}
SVC = {"metadata": {"name": "s", "namespace": "d"}, "spec": {"ports": [{"port": 80}]}}


def _set(obj, path, value):
    obj = copy.deepcopy(obj)
    cur = obj
    parts = path.split(".")
    for p in parts[:-1]:
        cur = cur[int(p)] if isinstance(cur, list) else cur.setdefault(p, {})
    last = parts[-1]
    if value is _DEL:
        del cur[last]
    elif isinstance(cur, list):
        cur[int(last)] = value
    else:
        cur[last] = value
    return obj


_DEL = object()

CASES = [
    ("pods", POD, "spec.containers.0.image", _DEL, "spec.containers[0].image: Required value"),
    ("pods", POD, "spec.containers.0.name", _DEL, "spec.containers[0].name: Required value"),
    ("pods", POD, "spec.containers", [], "spec.containers: Required value"),
    ("pods", POD, "metadata.name", "Bad_Name", 'metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain'),
    ("pods", POD, "metadata.name", _DEL, "metadata.name: Required value"),
    ("pods", POD, "spec.restartPolicy", "Sometimes", 'spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'),
    ("pods", POD, "spec.containers.0.ports", [{"containerPort": 70000}], "spec.containers[0].ports[0].containerPort: Invalid value: 70000"),
    ("pods", POD, "spec.containers.0.imagePullPolicy", "Sometimes", "spec.containers[0].imagePullPolicy: Unsupported value"),
    ("pods", POD, "spec.containers.0.volumeMounts", [{"name": "v", "mountPath": "/x"}], 'spec.containers[0].volumeMounts[0].name: Not found: "v"'),
    ("pods", POD, "spec.terminationGracePeriodSeconds", -1, "spec.terminationGracePeriodSeconds: Invalid value: -1"),
    ("pods", POD, "metadata.labels", {"a": "b c"}, "metadata.labels[a]: Invalid value"),
    ("pods", _set(POD, "spec.containers", [{"name": "c", "image": "a"}, {"name": "c", "image": "b"}]),
     "metadata.name", "p", 'spec.containers[1].name: Duplicate value: "c"'),
    ("deployments", DEP, "spec.selector", _DEL, "spec.selector: Required value"),
    ("deployments", DEP, "spec.template.metadata.labels", {"app": "other"},
     "spec.template.metadata.labels: Invalid value: {\"app\": \"other\"}: `selector` does not match template `labels`"),
    ("deployments", DEP, "spec.replicas", -1, "spec.replicas: Invalid value: -1: must be greater than or equal to 0"),
    ("deployments", DEP, "spec.template.spec.restartPolicy", "Never", 'spec.template.spec.restartPolicy: Unsupported value: "Never": supported values: "Always"'),
    ("deployments", DEP, "spec.template.spec.containers.0.image", "", "spec.template.spec.containers[0].image: Required value"),
    ("deployments", DEP, "spec.strategy", {"type": "Bogus"}, 'spec.strategy.type: Unsupported value: "Bogus"'),
    ("replicasets", DEP, "spec.selector", {}, "spec.selector: Invalid value: {}: empty selector is invalid for deployment"),
    ("namespaces", {"metadata": {"name": "ok"}}, "metadata.name", "a.b", 'metadata.name: Invalid value: "a.b": a lowercase RFC 1123 label'),
    ("services", SVC, "spec.ports.0.port", 0, "spec.ports[0].port: Invalid value: 0"),
    ("services", SVC, "spec.type", "Weird", 'spec.type: Unsupported value: "Weird"'),
    ("services", SVC, "metadata.name", "1abc", 'metadata.name: Invalid value: "1abc": a DNS-1035 label'),
    ("configmaps", {"metadata": {"name": "c", "namespace": "d"}}, "data", {"bad key": "v"}, 'data: Invalid value: "bad key"'),
    ("events", {"metadata": {"name": "e", "namespace": "d"}, "involvedObject": {}}, "involvedObject", _DEL, "involvedObject: Required value"),
    ("nodes", {"metadata": {"name": "n"}}, "spec", {"taints": [{"key": "k", "effect": "Sometimes"}]}, 'spec.taints[0].effect: Unsupported value: "Sometimes"'),
]


@pytest.mark.parametrize("res,base,path,value,expected", CASES)
def test_invalid_objects_name_their_field(res, base, path, value, expected):
    obj = _set(base, path, value)
    errs = [str(e) for e in validate(resource(res), obj)]
    assert any(e.startswith(expected) for e in errs), errs


@pytest.mark.parametrize("res,obj", [("pods", POD), ("deployments", DEP), ("replicasets", DEP), ("services", SVC),
                                     ("namespaces", {"metadata": {"name": "team-a"}})])
def test_valid_objects_pass(res, obj):
    r = resource(res)
    o = prepare_create(r, copy.deepcopy(obj), (obj["metadata"].get("namespace")))
    assert validate(r, o) == []


def test_pod_update_may_only_change_image():
    r = resource("pods")
    old = prepare_create(r, copy.deepcopy(POD), "d")
    ok = _set(old, "spec.containers.0.image", "busybox:2")
    assert validate(r, ok, old) == []
    bad = _set(old, "spec.restartPolicy", "Never")
    assert any(str(e).startswith("spec: Forbidden: pod updates may not change fields") for e in validate(r, bad, old))


def test_deployment_selector_is_immutable():
    r = resource("deployments")
    old = prepare_create(r, copy.deepcopy(DEP), "d")
    new = _set(old, "spec.selector.matchLabels", {"app": "web", "x": "y"})
    new = _set(new, "spec.template.metadata.labels", {"app": "web", "x": "y"})
    assert any("spec.selector: Invalid value" in str(e) and "field is immutable" in str(e)
               for e in validate(r, new, old))


STS = {"metadata": {"name": "web", "namespace": "d"},
       "spec": {"selector": {"matchLabels": {"app": "nginx"}}, "serviceName": "nginx",
                "template": {"metadata": {"labels": {"app": "nginx"}},
                             "spec": {"containers": [{"name": "nginx", "image": "nginx", "volumeMounts": [
                                 {"name": "www", "mountPath": "/usr/share/nginx/html"}]}]}},
                "volumeClaimTemplates": [{"metadata": {"name": "www"}, "spec": {
                    "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}]}}


@pytest.mark.parametrize("claims,errors", [
    (STS["spec"]["volumeClaimTemplates"], []),                      # the Kubernetes docs' StatefulSet
    ([], ['spec.template.spec.containers[0].volumeMounts[0].name']),  # a mount of nothing
])
def test_a_statefulset_may_mount_its_claim_templates(claims, errors):
    sts = copy.deepcopy(STS)
    sts["spec"]["volumeClaimTemplates"] = claims
    assert [e.path for e in validate(resource("statefulsets"), sts)] == errors


@pytest.mark.parametrize("case, spec_kept, meta_change, want", [
    ("status write, spec as stored: the spec's rules are not run", True, {}, []),
    ("not kept: they are", False, {}, ["spec.containers[0].name"]),
    ("kept, but metadata rules still hold", True, {"labels": {"bad key!": "x"}}, ["metadata.labels"]),
])
def test_a_kept_pod_spec_is_not_validated_again(case, spec_kept, meta_change, want):
    pods = resource("pods")
    old = prepare_create(pods, copy.deepcopy(POD), "d")
    old["spec"]["containers"][0]["name"] = "Not_A_Label"   # stored before some rule, say
    new = copy.deepcopy(old)
    new["metadata"].update(meta_change)
    new["status"] = {"phase": "Running"}
    got = [e.path for e in validate(pods, new, old, spec_kept=spec_kept)]
    assert got == want, case
