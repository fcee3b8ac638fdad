"""What the scheduler's informers keep of pods and nodes (labkube.scheduler.views)."""
from __future__ import annotations

import pytest

from labkube.scheduler.views import node_view, pod_view


def full_pod(node_name=None, conditions=None):
    status = {"phase": "Running" if node_name else "Pending", "hostIP": "10.0.0.1", "podIP": "10.244.0.5",
              "podIPs": [{"ip": "10.244.0.5"}], "startTime": "2026-12-01T00:00:00Z", "qosClass": "Burstable",
              "containerStatuses": [{"name": "c", "ready": True, "restartCount": 0, "image": "nginx"}],
              "conditions": conditions or [{"type": "Ready", "status": "True"}]}
    spec = {"schedulerName": "default-scheduler", "priority": 5, "tolerations": [{"operator": "Exists"}],
            "volumes": [{"name": "v", "emptyDir": {}}],
            "containers": [{"name": "c", "image": "nginx", "command": ["x"], "env": [{"name": "A", "value": "1"}],
                            "resources": {"requests": {"cpu": "10m"}}, "ports": [{"containerPort": 80, "hostPort": 8080}],
                            "volumeMounts": [{"name": "v", "mountPath": "/v"}]}],
            "initContainers": [{"name": "i", "image": "busybox", "restartPolicy": "Always",
                                "resources": {"requests": {"memory": "1Mi"}}}]}
    if node_name:
        spec["nodeName"] = node_name
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "namespace": "default", "uid": "u1", "resourceVersion": "7", "generation": 1,
                         "labels": {"app": "a"}, "annotations": {"big": "x" * 1000},
                         "ownerReferences": [{"kind": "ReplicaSet", "name": "rs", "uid": "r1", "controller": True}],
                         "managedFields": [{"manager": "kubectl"}]},
            "spec": spec, "status": status}


@pytest.mark.parametrize("node_name, status", [
    ("w1", {"phase": "Running"}),                                       # bound: no conditions
    (None, {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "message": "0/3"}]}),
])
def test_pod_view_keeps_what_scheduling_reads(node_name, status):
    raw = full_pod(node_name, conditions=None if node_name else status.get("conditions"))
    raw["status"]["nominatedNodeName"] = "w2"
    v = pod_view(raw)
    assert v["status"] == {**status, "nominatedNodeName": "w2"}
    assert v["metadata"] == {"name": "p", "namespace": "default", "uid": "u1", "resourceVersion": "7",
                             "generation": 1, "labels": {"app": "a"},
                             "ownerReferences": [{"kind": "ReplicaSet", "name": "rs", "uid": "r1", "controller": True}]}
    assert v["spec"]["containers"] == [{"name": "c", "resources": {"requests": {"cpu": "10m"}},
                                        "ports": [{"containerPort": 80, "hostPort": 8080}]}]
    assert v["spec"]["initContainers"] == [{"name": "i", "resources": {"requests": {"memory": "1Mi"}},
                                            "restartPolicy": "Always"}]
    assert "volumes" not in v["spec"]
    assert {k: v["spec"][k] for k in ("schedulerName", "priority", "tolerations")} == {
        "schedulerName": "default-scheduler", "priority": 5, "tolerations": [{"operator": "Exists"}]}
    assert v["kind"] == "Pod" and v["apiVersion"] == "v1"
    assert raw["spec"]["containers"][0]["image"] == "nginx"             # the input is not changed


def test_node_view_keeps_amounts_conditions_spec_and_labels():
    raw = {"apiVersion": "v1", "kind": "Node",
           "metadata": {"name": "w1", "labels": {"kubernetes.io/hostname": "w1"}},
           "spec": {"taints": [{"key": "k", "effect": "NoSchedule"}], "unschedulable": True},
           "status": {"allocatable": {"cpu": "2"}, "capacity": {"cpu": "2"},
                      "conditions": [{"type": "Ready", "status": "True"}],
                      "addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                      "nodeInfo": {"kubeletVersion": "v1.30"}, "images": [{"names": ["nginx"]}]}}
    v = node_view(raw)
    assert v == {**raw, "status": {"allocatable": {"cpu": "2"}, "capacity": {"cpu": "2"},
                                   "conditions": [{"type": "Ready", "status": "True"}]}}


def test_pods_of_one_template_share_spec_labels_and_owners():
    a, b = pod_view(full_pod()), pod_view(full_pod("w1"))
    for part, key in [("spec", "containers"), ("spec", "tolerations"), ("spec", "initContainers"),
                      ("metadata", "labels"), ("metadata", "ownerReferences")]:
        assert a[part][key] is b[part][key], key
    assert "nodeName" not in a["spec"] and b["spec"]["nodeName"] == "w1"


def test_pods_of_one_template_share_values_but_not_parts():
    a, b, c = pod_view(full_pod()), pod_view(full_pod("w1")), pod_view(full_pod("w2"))
    for part in ("metadata", "spec", "status"):
        assert a[part] is not b[part] and b[part] is not c[part], part     # each view owns its part dicts
    assert b["spec"]["containers"] is c["spec"]["containers"]
    assert (b["spec"]["nodeName"], c["spec"]["nodeName"]) == ("w1", "w2")
    assert "nodeName" not in a["spec"]
    other = full_pod("w1")
    other["metadata"].update(name="q", uid="u2", resourceVersion="9")
    d = pod_view(other)
    assert (d["metadata"]["name"], d["metadata"]["uid"], d["metadata"]["resourceVersion"]) == ("q", "u2", "9")
    assert d["metadata"]["labels"] is b["metadata"]["labels"]
    assert b["metadata"]["name"] == "p"                                  # the earlier view is untouched
