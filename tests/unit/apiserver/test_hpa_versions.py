"""HorizontalPodAutoscaler served as autoscaling/v2 (stored, preferred) and autoscaling/v1
(converted), end to end through the apiserver: every verb in either version, watch, tables,
discovery, OpenAPI, and 4xx Status naming the field; APIService table columns."""
import asyncio
import json

V1 = "/apis/autoscaling/v1/namespaces/default/horizontalpodautoscalers"
V2 = "/apis/autoscaling/v2/namespaces/default/horizontalpodautoscalers"
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
AGG = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
MERGE = {"Content-Type": "application/merge-patch+json"}


def v2(name="web", metrics=None, behavior=None, **spec):
    s = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}, "maxReplicas": 5,
         **spec}
    if metrics is not None:
        s["metrics"] = metrics
    if behavior is not None:
        s["behavior"] = behavior
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name}, "spec": s}


def cpu(p):
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": p}}}


MEMORY = {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "100Mi"}}}


async def test_a_v2_object_reads_in_both_versions(api):
    r = await api.post(V2, json=v2(metrics=[cpu(50), MEMORY], behavior={"scaleDown": {"stabilizationWindowSeconds": 60}}))
    assert r.status == 201, await r.text()
    got2 = await (await api.get(V2 + "/web")).json()
    assert got2["apiVersion"] == "autoscaling/v2" and got2["spec"]["minReplicas"] == 1
    assert got2["spec"]["behavior"]["scaleDown"] == {"stabilizationWindowSeconds": 60, "selectPolicy": "Max",
                                                     "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert got2["spec"]["behavior"]["scaleUp"]["policies"][0] == {"type": "Pods", "value": 4, "periodSeconds": 15}
    assert "annotations" not in got2["metadata"]
    got1 = await (await api.get(V1 + "/web")).json()
    assert got1["apiVersion"] == "autoscaling/v1" and got1["spec"]["targetCPUUtilizationPercentage"] == 50
    assert "metrics" not in got1["spec"] and "behavior" not in got1["spec"]
    ann = got1["metadata"]["annotations"]
    assert json.loads(ann["autoscaling.alpha.kubernetes.io/metrics"]) == [
        {"type": "Resource", "resource": {"name": "memory", "targetAverageValue": "100Mi"}}]
    assert json.loads(ann["autoscaling.alpha.kubernetes.io/behavior"])["scaleDown"]["stabilizationWindowSeconds"] == 60
    assert got1["status"] == {"currentReplicas": 0, "desiredReplicas": 0}
    lst = await (await api.get(V1)).json()
    assert lst["apiVersion"] == "autoscaling/v1" and lst["items"][0]["spec"]["targetCPUUtilizationPercentage"] == 50


async def test_a_v1_update_keeps_what_only_v2_can_say(api):
    await api.post(V2, json=v2(metrics=[cpu(50), MEMORY], behavior={"scaleUp": {"stabilizationWindowSeconds": 30}}))
    r = await api.patch(V1 + "/web", json={"spec": {"targetCPUUtilizationPercentage": 70, "maxReplicas": 8}},
                        headers=MERGE)
    assert r.status == 200, await r.text()
    assert (await r.json())["spec"]["targetCPUUtilizationPercentage"] == 70
    got = await (await api.get(V2 + "/web")).json()
    assert got["spec"]["maxReplicas"] == 8
    assert got["spec"]["metrics"] == [MEMORY, cpu(70)]           # upstream's order: the CPU target last
    assert got["spec"]["behavior"]["scaleUp"]["stabilizationWindowSeconds"] == 30
    assert "annotations" not in got["metadata"]
    one = await (await api.get(V1 + "/web")).json()
    r = await api.put(V1 + "/web", json=one)                      # a v1 round trip changes nothing
    assert r.status == 200 and (await (await api.get(V2 + "/web")).json())["spec"] == got["spec"]


async def test_a_v1_object_without_a_target_aims_at_80_percent_cpu(api):
    body = {"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "web"},
            "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "web"}, "maxReplicas": 3}}
    r = await api.post(V1, json=body)
    assert r.status == 201, await r.text()
    assert (await r.json())["apiVersion"] == "autoscaling/v1"
    got = await (await api.get(V2 + "/web")).json()
    assert got["spec"]["metrics"] == [cpu(80)]


async def test_status_written_in_v2_reads_as_v1_utilization(api):
    await api.post(V2, json=v2(metrics=[cpu(50)]))
    status = {"currentReplicas": 2, "desiredReplicas": 3, "currentMetrics": [{"type": "Resource", "resource": {
        "name": "cpu", "current": {"averageUtilization": 87, "averageValue": "87m"}}}],
        "conditions": [{"type": "AbleToScale", "status": "True", "reason": "SucceededRescale", "message": "m",
                        "lastTransitionTime": "2026-01-01T00:00:00Z"}]}
    r = await api.patch(V2 + "/web/status", json={"status": status}, headers=MERGE)
    assert r.status == 200, await r.text()
    one = await (await api.get(V1 + "/web/status")).json()
    assert one["status"]["currentCPUUtilizationPercentage"] == 87 and one["status"]["desiredReplicas"] == 3
    assert json.loads(one["metadata"]["annotations"]["autoscaling.alpha.kubernetes.io/conditions"])[0]["reason"] == \
        "SucceededRescale"
    table = await (await api.get(V2, headers=TABLE)).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Reference", "Targets", "MinPods", "MaxPods",
                                                               "Replicas", "Age"]
    assert table["rows"][0]["cells"][:6] == ["web", "Deployment/web", "cpu: 87%/50%", "1", 5, 2]
    table1 = await (await api.get(V1 + "/web", headers=TABLE)).json()
    assert table1["rows"][0]["cells"][2] == "cpu: 87%/50%"


async def test_watch_in_v1_sees_v1_objects(api):
    lst = await (await api.get(V1)).json()
    resp = await api.get(V1 + f"?watch=true&resourceVersion={lst['metadata']['resourceVersion']}")
    resp2 = await api.get(V2 + f"?watch=true&resourceVersion={lst['metadata']['resourceVersion']}")
    await api.post(V2, json=v2(metrics=[cpu(60)]))
    ev = json.loads(await asyncio.wait_for(resp.content.readline(), 30))
    ev2 = json.loads(await asyncio.wait_for(resp2.content.readline(), 30))
    assert ev["object"]["apiVersion"] == "autoscaling/v1" and ev["object"]["spec"]["targetCPUUtilizationPercentage"] == 60
    assert ev2["object"]["apiVersion"] == "autoscaling/v2" and ev2["object"]["spec"]["metrics"] == [cpu(60)]
    resp.close()
    resp2.close()


async def test_bad_specs_get_422_naming_the_field(api):
    cases = [
        (v2(metrics=[cpu(0)]), "spec.metrics[0].resource.target.averageUtilization"),
        (v2(behavior={"scaleUp": {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 0}]}}),
         "spec.behavior.scaleUp.policies[0].periodSeconds"),
        (v2(behavior={"scaleDown": {"selectPolicy": "Sometimes"}}), "spec.behavior.scaleDown.selectPolicy"),
        (v2(behavior={"scaleDown": {"stabilizationWindowSeconds": 4000}}),
         "spec.behavior.scaleDown.stabilizationWindowSeconds"),
        (v2(minReplicas=6), "spec.maxReplicas"),
    ]
    for body, field in cases:
        r = await api.post(V2, json=body)
        st = await r.json()
        assert (r.status, st["reason"]) == (422, "Invalid"), st
        assert field in st["message"] and st["details"]["causes"][0]["field"] == field
    r = await api.post(V1, json={"apiVersion": "autoscaling/v1", "kind": "HorizontalPodAutoscaler",
                                 "metadata": {"name": "x"}, "spec": {"scaleTargetRef": {"kind": "Deployment",
                                                                                        "name": "x"},
                                                                     "maxReplicas": 2, "targetCPUUtilizationPercentage": "lots"}})
    assert r.status == 400 and "averageUtilization" in (await r.json())["message"]


async def test_discovery_prefers_v2_and_openapi_explains_behavior(api):
    groups = await (await api.get("/apis")).json()
    auto = next(g for g in groups["groups"] if g["name"] == "autoscaling")
    assert [v["version"] for v in auto["versions"]] == ["v2", "v1"] and auto["preferredVersion"]["version"] == "v2"
    agg = await (await api.get("/apis", headers={"Accept": AGG})).json()
    item = next(i for i in agg["items"] if i["metadata"]["name"] == "autoscaling")
    assert [v["version"] for v in item["versions"]] == ["v2", "v1"]
    for gv in ("autoscaling/v2", "autoscaling/v1"):
        names = [e["name"] for e in (await (await api.get(f"/apis/{gv}")).json())["resources"]]
        assert names == ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]
    root = await (await api.get("/openapi/v3")).json()
    doc = await (await api.get(root["paths"]["apis/autoscaling/v2"]["serverRelativeURL"])).json()
    schema = doc["components"]["schemas"]["io.k8s.labkube.autoscaling.v2.HorizontalPodAutoscaler"]
    rules = schema["properties"]["spec"]["properties"]["behavior"]["properties"]["scaleUp"]
    assert "stabilizationWindowSeconds" in rules["properties"] and rules["description"]
    doc1 = await (await api.get(root["paths"]["apis/autoscaling/v1"]["serverRelativeURL"])).json()
    spec1 = doc1["components"]["schemas"]["io.k8s.labkube.autoscaling.v1.HorizontalPodAutoscaler"]["properties"]["spec"]
    assert "targetCPUUtilizationPercentage" in spec1["properties"] and "behavior" not in spec1["properties"]


async def test_apiservice_table_columns(api):
    base = "/apis/apiregistration.k8s.io/v1/apiservices"
    await api.post(base, json={"metadata": {"name": "v1beta1.metrics.k8s.io"}, "spec": {
        "group": "metrics.k8s.io", "version": "v1beta1", "groupPriorityMinimum": 100, "versionPriority": 100,
        "insecureSkipTLSVerify": True, "service": {"namespace": "kube-system", "name": "metrics-server"}}})
    table = await (await api.get(base + "/v1beta1.metrics.k8s.io", headers=TABLE)).json()
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Service", "Available", "Age"]
    assert table["rows"][0]["cells"][:2] == ["v1beta1.metrics.k8s.io", "kube-system/metrics-server"]
    assert table["rows"][0]["cells"][2] in ("Unknown", "False (MissingEndpoints)", "False (ServiceNotFound)")
