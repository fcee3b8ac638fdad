"""`kubectl get apiservice` columns as the upstream aggregator prints them."""
import pytest

from labkube.api.tables import to_table


def apiservice(service=None, conditions=None):
    return {"metadata": {"name": "v1beta1.metrics.k8s.io", "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"group": "metrics.k8s.io", "version": "v1beta1", **({"service": service} if service else {})},
            "status": {"conditions": conditions or []}}


SVC = {"namespace": "kube-system", "name": "metrics-server", "port": 443}


@pytest.mark.parametrize("obj, service, available", [
    (apiservice(SVC, [{"type": "Available", "status": "True", "reason": "Passed"}]), "kube-system/metrics-server",
     "True"),
    (apiservice(SVC, [{"type": "Available", "status": "False", "reason": "MissingEndpoints"}]),
     "kube-system/metrics-server", "False (MissingEndpoints)"),
    (apiservice(SVC, [{"type": "Available", "status": "False"}]), "kube-system/metrics-server", "False"),
    (apiservice(SVC), "kube-system/metrics-server", "Unknown"),
    (apiservice(None, [{"type": "Available", "status": "True", "reason": "Local"}]), "Local", "True"),
])
def test_apiservice_columns(obj, service, available):
    table = to_table("apiservices", [obj], "1")
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Service", "Available", "Age"]
    assert table["rows"][0]["cells"][:3] == ["v1beta1.metrics.k8s.io", service, available]
