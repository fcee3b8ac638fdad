"""Defaults per kind, table-driven against what upstream Kubernetes fills in."""
import copy

import pytest

from labkube.api.resources import resource
from labkube.api.strategy import prepare_create


def _get(obj, path):
    for p in path.split("."):
        obj = obj[int(p)] if isinstance(obj, list) else obj[p]
    return obj


POD = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80}]}]}}
DEP = {"metadata": {"name": "web"},
       "spec": {"selector": {"matchLabels": {"a": "b"}},
                "template": {"metadata": {"labels": {"a": "b"}}, "spec": {"containers": [{"name": "c", "image": "x:1"}]}}}}

CASES = [
    ("pods", POD, "spec.restartPolicy", "Always"),
    ("pods", POD, "spec.terminationGracePeriodSeconds", 30),
    ("pods", POD, "spec.dnsPolicy", "ClusterFirst"),
    ("pods", POD, "spec.schedulerName", "default-scheduler"),
    ("pods", POD, "spec.enableServiceLinks", True),
    ("pods", POD, "spec.priority", 0),
    ("pods", POD, "status.phase", "Pending"),
    ("pods", POD, "status.qosClass", "BestEffort"),
    ("pods", POD, "spec.containers.0.imagePullPolicy", "Always"),
    ("pods", POD, "spec.containers.0.terminationMessagePath", "/dev/termination-log"),
    ("pods", POD, "spec.containers.0.terminationMessagePolicy", "File"),
    ("pods", POD, "spec.containers.0.ports.0.protocol", "TCP"),
    ("deployments", DEP, "spec.replicas", 1),
    ("deployments", DEP, "spec.strategy", {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}),
    ("deployments", DEP, "spec.revisionHistoryLimit", 10),
    ("deployments", DEP, "spec.progressDeadlineSeconds", 600),
    ("deployments", DEP, "spec.template.spec.containers.0.imagePullPolicy", "IfNotPresent"),
    ("deployments", DEP, "metadata.generation", 1),
    ("replicasets", DEP, "spec.replicas", 1),
    ("namespaces", {"metadata": {"name": "team"}}, "status.phase", "Active"),
    ("namespaces", {"metadata": {"name": "team"}}, "spec.finalizers", ["kubernetes"]),
    ("namespaces", {"metadata": {"name": "team"}}, "metadata.labels", {"kubernetes.io/metadata.name": "team"}),
    ("services", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}, "spec.type", "ClusterIP"),
    ("services", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}, "spec.sessionAffinity", "None"),
    ("services", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}, "spec.ports.0.protocol", "TCP"),
    ("services", {"metadata": {"name": "s"}, "spec": {"ports": [{"port": 80}]}}, "spec.ports.0.targetPort", 80),
    ("secrets", {"metadata": {"name": "s"}, "stringData": {"k": "v"}}, "data", {"k": "dg=="}),
    ("secrets", {"metadata": {"name": "s"}}, "type", "Opaque"),
]


@pytest.mark.parametrize("res,obj,path,expected", CASES)
def test_defaults(res, obj, path, expected):
    out = prepare_create(resource(res), copy.deepcopy(obj), "default")
    assert _get(out, path) == expected


@pytest.mark.parametrize("image,policy", [("busybox", "Always"), ("busybox:latest", "Always"),
                                          ("busybox:1.36", "IfNotPresent"), ("reg:5000/busybox", "Always"),
                                          ("reg:5000/busybox:1", "IfNotPresent"), ("b@sha256:abc", "IfNotPresent")])
def test_image_pull_policy(image, policy):
    pod = {"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "image": image}]}}
    assert prepare_create(resource("pods"), pod, "d")["spec"]["containers"][0]["imagePullPolicy"] == policy


def test_create_sets_server_fields_and_generate_name():
    out = prepare_create(resource("pods"), {"metadata": {"generateName": "web-", "resourceVersion": "9"},
                                            "spec": {"containers": [{"name": "c", "image": "x"}]},
                                            "status": {"phase": "Running"}}, "ns1")
    md = out["metadata"]
    assert md["name"].startswith("web-") and len(md["name"]) == 9
    assert md["namespace"] == "ns1" and md["uid"] and md["creationTimestamp"].endswith("Z")
    assert "resourceVersion" not in md
    assert out["status"]["phase"] == "Pending"
    assert out["kind"] == "Pod" and out["apiVersion"] == "v1"


def test_typed_client_empty_strategy_is_defaulted():
    dep = copy.deepcopy(DEP)
    dep["spec"]["strategy"] = {}
    out = prepare_create(resource("deployments"), dep, "d")
    assert out["spec"]["strategy"]["type"] == "RollingUpdate"


STS = {"metadata": {"name": "db"}, "spec": {"selector": {"matchLabels": {"a": "b"}}, "serviceName": "db",
                                            "template": DEP["spec"]["template"]}}
DS = {"metadata": {"name": "agent"}, "spec": {"selector": {"matchLabels": {"a": "b"}},
                                              "template": DEP["spec"]["template"]}}
DEP_ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": "25%", "maxSurge": "25%"}}
STS_ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
DS_ROLLING = {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1, "maxSurge": 0}}


@pytest.mark.parametrize("res, obj, key, given, expected", [
    # none given, {} (a typed client's empty struct), or a type that is null or "": RollingUpdate
    ("deployments", DEP, "strategy", None, DEP_ROLLING),
    ("deployments", DEP, "strategy", {}, DEP_ROLLING),
    ("deployments", DEP, "strategy", {"type": ""}, DEP_ROLLING),
    ("statefulsets", STS, "updateStrategy", None, STS_ROLLING),
    ("statefulsets", STS, "updateStrategy", {"type": None}, STS_ROLLING),
    ("statefulsets", STS, "updateStrategy", {"type": ""}, STS_ROLLING),
    ("daemonsets", DS, "updateStrategy", None, DS_ROLLING),
    ("daemonsets", DS, "updateStrategy", {"type": ""}, DS_ROLLING),
    # the fields given stay; the missing or null ones are defaulted
    ("deployments", DEP, "strategy", {"rollingUpdate": {"maxSurge": 3, "maxUnavailable": None}},
     {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 3, "maxUnavailable": "25%"}}),
    ("statefulsets", STS, "updateStrategy", {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
     {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}}),
    ("daemonsets", DS, "updateStrategy", {"rollingUpdate": {"maxSurge": "10%"}},
     {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "10%", "maxUnavailable": 1}}),
    # other types get no rollingUpdate
    ("deployments", DEP, "strategy", {"type": "Recreate"}, {"type": "Recreate"}),
    ("statefulsets", STS, "updateStrategy", {"type": "OnDelete"}, {"type": "OnDelete"}),
    ("daemonsets", DS, "updateStrategy", {"type": "OnDelete"}, {"type": "OnDelete"}),
])
def test_rolling_update_strategies(res, obj, key, given, expected):
    obj = copy.deepcopy(obj)
    if given is not None:
        obj["spec"][key] = copy.deepcopy(given)
    assert prepare_create(resource(res), obj, "default")["spec"][key] == expected
