"""HorizontalPodAutoscaler (autoscaling/v1, what `kubectl autoscale` creates): served as a
resource, defaulted (minReplicas 1), validated (target, bounds, CPU target) and printed with
the columns of `kubectl get hpa`."""
import pytest

from labkube.api.defaults import apply_defaults
from labkube.api.resources import resource
from labkube.api.tables import to_table
from labkube.api.validation import validate

HPA = resource("horizontalpodautoscalers")


def hpa(**spec):
    base = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5}
    return {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"}, "spec": {**base, **spec}}


def test_served_as_autoscaling_v1_with_the_short_name_hpa():
    assert (HPA.group, HPA.version, HPA.kind, HPA.namespaced) == ("autoscaling", "v1", "HorizontalPodAutoscaler", True)
    assert "hpa" in HPA.short_names and "all" in HPA.categories and "status" in HPA.subresources


def test_min_replicas_defaults_to_one():
    assert apply_defaults(HPA, hpa())["spec"]["minReplicas"] == 1


@pytest.mark.parametrize("spec,path,detail", [
    ({"scaleTargetRef": {"kind": "Deployment"}}, "spec.scaleTargetRef.name", ""),
    ({"maxReplicas": 0}, "spec.maxReplicas", "must be greater than or equal to 1"),
    ({"minReplicas": 0}, "spec.minReplicas", "must be greater than or equal to 1"),
    ({"minReplicas": 6}, "spec.minReplicas", "must be less than or equal to maxReplicas"),
    ({"targetCPUUtilizationPercentage": 0}, "spec.targetCPUUtilizationPercentage", "must be greater than or equal to 1"),
])
def test_invalid_specs_name_the_field(spec, path, detail):
    errs = validate(HPA, apply_defaults(HPA, hpa(**spec)))
    assert [(e.path, e.detail) for e in errs] == [(path, detail)]


def test_a_valid_hpa_passes():
    assert validate(HPA, apply_defaults(HPA, hpa(minReplicas=2, targetCPUUtilizationPercentage=50))) == []


@pytest.mark.parametrize("status,targets", [({}, "cpu: <unknown>/50%"), ({"currentCPUUtilizationPercentage": 20,
                                                                          "currentReplicas": 3}, "cpu: 20%/50%")])
def test_get_hpa_columns(status, targets):
    obj = apply_defaults(HPA, hpa(minReplicas=2, targetCPUUtilizationPercentage=50))
    obj["status"] = status
    table = to_table(HPA, [obj], "1")
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"]
    assert table["rows"][0]["cells"][:6] == ["web", "Deployment/web", targets, 2, 5, status.get("currentReplicas", 0)]
