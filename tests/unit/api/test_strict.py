"""Unknown-field detection used by fieldValidation=Strict/Warn."""
import pytest

from labkube.api.strict import unknown_fields

POD = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {}},
       "spec": {"containers": [{"name": "c", "image": "x", "ports": [{"containerPort": 1}]}], "restartPolicy": "Never"},
       "status": {}}
DEP = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "d"},
       "spec": {"replicas": 1, "selector": {}, "template": {"metadata": {"labels": {}},
                                                           "spec": {"containers": [{"name": "c", "image": "x"}]}}}}


@pytest.mark.parametrize("res,obj,expected", [
    ("pods", POD, []),
    ("deployments", DEP, []),
    ("pods", {**POD, "sepc": {}}, ["sepc"]),
    ("pods", {**POD, "metadata": {"name": "p", "label": {}}}, ["metadata.label"]),
    ("pods", {**POD, "spec": {"containers": [{"name": "c", "imagee": "x"}], "nodeSelectr": {}}},
     ["spec.nodeSelectr", "spec.containers[0].imagee"]),
    ("deployments", {**DEP, "spec": {**DEP["spec"], "replica": 2}}, ["spec.replica"]),
    ("deployments", {**DEP, "spec": {**DEP["spec"], "template": {"spec": {"containers": [{"nam": "c"}]}}}},
     ["spec.template.spec.containers[0].nam"]),
    ("configmaps", {"metadata": {"name": "c"}, "data": {}, "dat": {}}, ["dat"]),
    ("deployments", {"spec": {"$setElementOrder/containers": [], "template": {"spec": {"$retainKeys": []}}}}, []),
    ("widgets", {"anything": 1}, []),
])
def test_unknown_fields(res, obj, expected):
    assert unknown_fields(res, obj) == expected
