"""HorizontalPodAutoscaler: autoscaling/v2 stored and preferred, autoscaling/v1 converted as
upstream converts it (CPU target <-> a Resource cpu Utilization metric, the rest in
autoscaling.alpha.kubernetes.io annotations), v2 defaults (minReplicas, the 80 % CPU metric,
behavior rules) and validation naming the field, and the columns of `kubectl get hpa`."""
import json

import pytest

from labkube.api import errors
from labkube.api.autoscaling.conversion import to_v1, to_v2
from labkube.api.defaults import apply_defaults
from labkube.api.resources import find, resource
from labkube.api.tables import to_table
from labkube.api.validation import validate

HPA = resource("horizontalpodautoscalers")
REF = {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}


def cpu(p):
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": p}}}


def mem(v="100Mi"):
    return {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": v}}}


def hpa(**spec):
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "web", "namespace": "default"},
            "spec": {"scaleTargetRef": REF, "maxReplicas": 5, **spec}}


def test_v2_is_stored_and_preferred_v1_is_converted():
    assert (HPA.group, HPA.version, HPA.converted) == ("autoscaling", "v2", False)
    v1 = find("autoscaling", "v1", "horizontalpodautoscalers")
    assert v1.converted and v1.stored_as == "v2" and v1.kind == HPA.kind
    assert "hpa" in HPA.short_names and "all" in HPA.categories and "status" in HPA.subresources


ANN = "autoscaling.alpha.kubernetes.io/"


@pytest.mark.parametrize("v2spec, v1spec, annotations", [
    ({"minReplicas": 1, "maxReplicas": 5, "metrics": [cpu(50)]},
     {"minReplicas": 1, "maxReplicas": 5, "targetCPUUtilizationPercentage": 50}, {}),
    ({"maxReplicas": 5, "metrics": [mem()]}, {"maxReplicas": 5},
     {"metrics": [{"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}}]}),
    ({"maxReplicas": 5, "metrics": [mem(), cpu(70)], "behavior": {"scaleUp": {"selectPolicy": "Disabled"}}},
     {"maxReplicas": 5, "targetCPUUtilizationPercentage": 70},
     {"metrics": [{"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}}],
      "behavior": {"scaleUp": {"selectPolicy": "Disabled"}}}),
    ({"maxReplicas": 5, "metrics": [{"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {
        "type": "AverageValue", "averageValue": "10"}}}, cpu(60)]},
     {"maxReplicas": 5, "targetCPUUtilizationPercentage": 60},
     {"metrics": [{"type": "Pods", "pods": {"metricName": "qps", "targetAverageValue": "10"}}]}),
    ({"maxReplicas": 5, "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "AverageValue", "averageValue": "200m"}}}]}, {"maxReplicas": 5},
     {"metrics": [{"type": "Resource", "resource": {"name": "cpu", "targetAverageValue": "200m"}}]}),
])
def test_spec_conversion_round_trips(v2spec, v1spec, annotations):
    obj = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "x"},
           "spec": {"scaleTargetRef": REF, **v2spec}}
    one = to_v1(obj)
    assert one["apiVersion"] == "autoscaling/v1" and one["spec"] == {"scaleTargetRef": REF, **v1spec}
    got = {k[len(ANN):]: json.loads(v) for k, v in (one["metadata"].get("annotations") or {}).items()}
    assert got == annotations
    assert to_v2(one) == obj and obj["spec"] == {"scaleTargetRef": REF, **v2spec}    # obj itself unchanged


@pytest.mark.parametrize("v2status, v1status", [
    ({}, {"currentReplicas": 0, "desiredReplicas": 0}),
    ({"currentReplicas": 2, "desiredReplicas": 4, "lastScaleTime": "2026-01-01T00:00:00Z", "observedGeneration": 3,
      "currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
          "averageUtilization": 87, "averageValue": "87m"}}}]},
     {"currentReplicas": 2, "desiredReplicas": 4, "lastScaleTime": "2026-01-01T00:00:00Z", "observedGeneration": 3,
      "currentCPUUtilizationPercentage": 87}),
])
def test_status_conversion_keeps_the_raw_metrics_in_an_annotation(v2status, v1status):
    obj = {"apiVersion": "autoscaling/v2", "metadata": {"name": "x"}, "spec": {"metrics": [cpu(50)]},
           "status": v2status}
    one = to_v1(obj)
    assert one["status"] == v1status
    if v2status.get("currentMetrics"):
        assert json.loads(one["metadata"]["annotations"][ANN + "current-metrics"]) == [
            {"type": "Resource", "resource": {"name": "cpu", "currentAverageUtilization": 87,
                                              "currentAverageValue": "87m"}}]
        assert to_v2(one)["status"] == v2status


def test_v1_without_a_target_gets_80_percent_cpu_and_bad_annotations_are_400():
    assert to_v2({"apiVersion": "autoscaling/v1", "spec": {"maxReplicas": 2}})["spec"]["metrics"] == [cpu(80)]
    bad = {"apiVersion": "autoscaling/v1", "metadata": {"annotations": {ANN + "metrics": "{nope"}}, "spec": {}}
    with pytest.raises(errors.ApiError) as e:
        to_v2(bad)
    assert e.value.code == 400 and ANN + "metrics" in e.value.message


def test_defaults():
    got = apply_defaults(HPA, hpa(behavior={"scaleUp": {"stabilizationWindowSeconds": 30}, "scaleDown": {
        "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}}))["spec"]
    assert got["minReplicas"] == 1 and got["metrics"] == [cpu(80)]
    assert got["behavior"]["scaleUp"] == {"stabilizationWindowSeconds": 30, "selectPolicy": "Max", "policies": [
        {"type": "Pods", "value": 4, "periodSeconds": 15}, {"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert got["behavior"]["scaleDown"] == {"selectPolicy": "Max",
                                            "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]}
    assert "behavior" not in apply_defaults(HPA, hpa())["spec"]          # no behavior: none made up


def rules(**r):
    return {"behavior": {"scaleUp": r}}


@pytest.mark.parametrize("spec, path, detail", [
    ({"scaleTargetRef": {"kind": "Deployment"}}, "spec.scaleTargetRef.name", ""),
    ({"maxReplicas": 0}, "spec.maxReplicas", "must be greater than 0"),
    ({"minReplicas": 0}, "spec.minReplicas", "must be greater than or equal to 1"),
    ({"minReplicas": 6}, "spec.maxReplicas", "must be greater than or equal to `minReplicas`"),
    ({"metrics": [cpu(0)]}, "spec.metrics[0].resource.target.averageUtilization", "must be greater than 0"),
    ({"metrics": [mem("-1Mi")]}, "spec.metrics[0].resource.target.averageValue", "must be positive"),
    ({"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization"}}}]},
     "spec.metrics[0].resource.target.averageUtilization", "must set either a target raw value or a target utilization"),
    ({"metrics": [{"type": "Resource", "resource": {"target": {"type": "AverageValue", "averageValue": "1"}}}]},
     "spec.metrics[0].resource.name", "must specify a resource name"),
    ({"metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": {
        "type": "Percent", "averageUtilization": 5}}}]},
     "spec.metrics[0].resource.target.type", "must be either Utilization, Value, or AverageValue"),
    ({"metrics": [{"type": "Resource"}]}, "spec.metrics[0].resource",
     "must populate information for the given metric source"),
    ({"metrics": [{"type": "Magic"}]}, "spec.metrics[0].type",
     'supported values: "ContainerResource", "External", "Object", "Pods", "Resource"'),
    (rules(stabilizationWindowSeconds=-1), "spec.behavior.scaleUp.stabilizationWindowSeconds",
     "must be greater than or equal to zero"),
    (rules(stabilizationWindowSeconds=3601), "spec.behavior.scaleUp.stabilizationWindowSeconds",
     "must be less than or equal to 3600"),
    (rules(selectPolicy="Sometimes"), "spec.behavior.scaleUp.selectPolicy",
     'supported values: "Disabled", "Max", "Min"'),
    (rules(policies=[]), "spec.behavior.scaleUp.policies", "must specify at least one Policy"),
    (rules(policies=[{"type": "Nodes", "value": 1, "periodSeconds": 15}]), "spec.behavior.scaleUp.policies[0].type",
     'supported values: "Percent", "Pods"'),
    (rules(policies=[{"type": "Pods", "value": 0, "periodSeconds": 15}]), "spec.behavior.scaleUp.policies[0].value",
     "must be greater than zero"),
    (rules(policies=[{"type": "Pods", "value": 1, "periodSeconds": 1801}]),
     "spec.behavior.scaleUp.policies[0].periodSeconds", "must be less than or equal to 1800"),
])
def test_invalid_specs_name_the_field(spec, path, detail):
    errs = validate(HPA, apply_defaults(HPA, hpa(**spec)))
    assert [(e.path, e.detail) for e in errs] == [(path, detail)]


def test_a_valid_hpa_passes():
    body = hpa(minReplicas=2, metrics=[cpu(50), mem()], behavior={"scaleDown": {"stabilizationWindowSeconds": 0}})
    assert validate(HPA, apply_defaults(HPA, body)) == []


@pytest.mark.parametrize("metrics, current, targets", [
    ([cpu(50)], [], "cpu: <unknown>/50%"),
    ([cpu(50)], [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 20}}}],
     "cpu: 20%/50%"),
    ([cpu(50), mem()], [{"type": "Resource", "resource": {"name": "cpu", "current": {"averageUtilization": 20}}},
                        {"type": "Resource", "resource": {"name": "memory", "current": {"averageValue": "52428800"}}}],
     "cpu: 20%/50%, memory: 52428800/100Mi"),
    ([cpu(50), mem()], [{"type": ""}, {"type": "Resource", "resource": {"name": "memory", "current": {}}}],
     "cpu: <unknown>/50%, memory: <unknown>/100Mi"),
    ([mem(), cpu(50), cpu(60)], [], "memory: <unknown>/100Mi, cpu: <unknown>/50% + 1 more..."),
    ([{"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "10"}}}],
     [{"type": "Pods", "pods": {"current": {"averageValue": "12"}}}], "12/10"),
])
def test_get_hpa_columns(metrics, current, targets):
    obj = apply_defaults(HPA, hpa(minReplicas=2, metrics=metrics))
    obj["status"] = {"currentReplicas": 3, "currentMetrics": current}
    table = to_table(HPA, [obj], "1")
    assert [c["name"] for c in table["columnDefinitions"]] == [
        "Name", "Reference", "Targets", "MinPods", "MaxPods", "Replicas", "Age"]
    assert table["rows"][0]["cells"][:6] == ["web", "Deployment/web", targets, "2", 5, 3]


def test_a_v1_object_prints_its_v2_form():
    obj = apply_defaults(HPA, hpa(metrics=[cpu(50)]))
    obj["status"] = {"currentMetrics": [{"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageUtilization": 12}}}]}
    assert to_table(HPA, [to_v1(obj)], "1")["rows"][0]["cells"][2] == "cpu: 12%/50%"
