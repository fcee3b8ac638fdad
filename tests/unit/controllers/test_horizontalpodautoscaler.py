"""The HorizontalPodAutoscaler controller on the FakeApi (autoscaling/v2 objects). Without a metrics
API: the bounds scale the target (events say why), in between nothing changes and a warning says
that no CPU metrics exist; a target at 0 is left alone; a missing target is reported. With
PodMetrics: the CPU utilization against the pods' requests scales up at once and down after the
stabilization window, with status and conditions as Kubernetes writes them; memory, AverageValue
targets, several metrics (the largest proposal wins) and `behavior` (windows, policies,
selectPolicy) as upstream."""
from __future__ import annotations

import pytest

from labkube.client.errors import ApiError
from labkube.controllers.horizontalpodautoscaler import (HorizontalPodAutoscalerController, desired_replicas,
                                                         pod_infos, usage_by_pod)

from .harness import Harness


def serve_metrics(api, usage: dict[str, str] | None, memory: dict[str, str] | None = None):
    """Answer the metrics API's PodMetrics list from {pod: cpu quantity} (and {pod: memory}); None:
    503 as the apiserver's aggregator answers without a metrics-server."""
    async def request(method, path, query=None, **kw):
        assert (method, path) == ("GET", "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods")
        if usage is None:
            raise ApiError(503, "ServiceUnavailable", "the server is currently unable to handle the request")
        return {"kind": "PodMetricsList", "items": [
            {"metadata": {"name": n}, "containers": [{"name": "c", "usage": {
                "cpu": cpu, "memory": (memory or {}).get(n, "1Mi")}}]}
            for n, cpu in usage.items()]}
    api.request = request


@pytest.fixture(autouse=True)
def no_metrics_api(monkeypatch):
    """A FakeApi has no metrics API unless a test serves one."""
    from labkube.client.fake import FakeApi

    async def request(self, method, path, **kw):
        raise ApiError(404, "NotFound", "the server could not find the requested resource")
    monkeypatch.setattr(FakeApi, "request", request, raising=False)


@pytest.mark.parametrize("current,low,high,want", [
    (1, 2, 5, (2, "Current number of replicas below Spec.MinReplicas")),
    (9, 2, 5, (5, "Current number of replicas above Spec.MaxReplicas")),
    (3, 2, 5, (3, "")),                 # metrics would decide: none here
    (0, 2, 5, (0, "")),                 # scaled to zero by hand: autoscaling disabled
])
def test_desired_replicas_from_the_bounds(current, low, high, want):
    assert desired_replicas(current, low, high) == want


def cpu(percent=50):
    return {"type": "Resource", "resource": {"name": "cpu", "target": {"type": "Utilization",
                                                                       "averageUtilization": percent}}}


def hpa(name="web", low=2, high=5, kind="Deployment", target="web", metrics=None, behavior=None):
    spec = {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target},
            "minReplicas": low, "maxReplicas": high, "metrics": metrics or [cpu(50)]}
    if behavior is not None:
        spec["behavior"] = behavior
    return {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": name},
            "spec": spec}


def deploy(name="web", replicas=1):
    return {"metadata": {"name": name}, "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
                                                 "template": {"metadata": {"labels": {"app": name}}}}}


async def test_scales_into_the_bounds_then_waits_for_metrics():
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("deployments", deploy(replicas=1))
    await h.api.create("horizontalpodautoscalers", hpa())
    await h.start()
    await h.run()
    assert (await h.api.get("deployments", "web", "default"))["spec"]["replicas"] == 2
    st = (await h.api.get("horizontalpodautoscalers", "web", "default"))["status"]
    assert (st["currentReplicas"], st["desiredReplicas"]) == (1, 2) and st["lastScaleTime"]
    assert [e["message"] for e in h.events("SuccessfulRescale")] == [
        "New size: 2; reason: Current number of replicas below Spec.MinReplicas"]
    await h.api.patch("deployments", "web", {"spec": {"replicas": 9}}, "default")     # scaled by hand
    h.clock.advance(15)                                # the next periodic look
    await h.run()
    assert (await h.api.get("deployments", "web", "default"))["spec"]["replicas"] == 5
    h.clock.advance(15)
    await h.run()
    assert (await h.api.get("horizontalpodautoscalers", "web", "default"))["status"]["currentReplicas"] == 5


async def test_in_bounds_and_scaled_to_zero_nothing_changes():
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("deployments", deploy("mid", replicas=3))
    await h.api.create("deployments", deploy("off", replicas=0))
    await h.api.create("horizontalpodautoscalers", hpa("mid", target="mid"))
    await h.api.create("horizontalpodautoscalers", hpa("off", target="off"))
    await h.start()
    await h.run()
    assert (await h.api.get("deployments", "mid", "default"))["spec"]["replicas"] == 3
    assert (await h.api.get("deployments", "off", "default"))["spec"]["replicas"] == 0
    assert not h.events("SuccessfulRescale")
    assert [e["involvedObject"]["name"] for e in h.events("FailedGetResourceMetric")] == ["mid"]


async def test_a_missing_or_unscalable_target_is_reported():
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("horizontalpodautoscalers", hpa("ghost", target="nosuch"))
    await h.api.create("horizontalpodautoscalers", hpa("odd", kind="ConfigMap"))
    await h.start()
    await h.run()
    assert sorted(e["message"] for e in h.events("FailedGetScale")) == [
        'deployments.apps "nosuch" not found', "the HPA controller cannot scale ConfigMap web"]


async def web_pods(h, n, ready=True, request="100m", memory=None):
    for i in range(n):
        requests = {**({"cpu": request} if request else {}), **({"memory": memory} if memory else {})}
        await h.api.create("pods", {"metadata": {"name": f"web-{i}", "labels": {"app": "web"}}, "spec": {
            "containers": [{"name": "c", "image": "busybox", **({"resources": {"requests": requests}} if requests
                                                                 else {})}]}})
        await h.ready(f"web-{i}", ready=ready)


def hpa_status(h):
    return h.api.all("horizontalpodautoscalers")[0]["status"]


def conditions(st):
    return {c["type"]: (c["status"], c["reason"]) for c in st["conditions"]}


async def test_cpu_above_target_scales_up_and_reports_utilization():
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("deployments", deploy(replicas=2))
    await h.api.create("horizontalpodautoscalers", hpa(low=1, high=10))
    await web_pods(h, 2)
    serve_metrics(h.api, {"web-0": "87m", "web-1": "87000000n"})
    await h.start()
    await h.run()
    assert (await h.api.get("deployments", "web", "default"))["spec"]["replicas"] == 4     # 1.74 x 2
    st = hpa_status(h)
    assert (st["currentReplicas"], st["desiredReplicas"]) == (2, 4)
    assert st["currentMetrics"] == [{"type": "Resource", "resource": {"name": "cpu", "current": {
        "averageUtilization": 87, "averageValue": "87m"}}}]
    assert conditions(st) == {"AbleToScale": ("True", "SucceededRescale"),
                              "ScalingActive": ("True", "ValidMetricFound"),
                              "ScalingLimited": ("False", "DesiredWithinRange")}
    assert [e["message"] for e in h.events("SuccessfulRescale")] == [
        "New size: 4; reason: cpu resource utilization (percentage of request) above target"]


async def test_scale_up_is_limited_per_period():
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("deployments", deploy(replicas=1))
    await h.api.create("horizontalpodautoscalers", hpa(low=1, high=10))
    await web_pods(h, 1)
    serve_metrics(h.api, {"web-0": "900m"})                             # 18 x the target
    await h.start()
    await h.run()
    assert (await h.api.get("deployments", "web", "default"))["spec"]["replicas"] == 4      # max(2 x 1, 4)
    assert conditions(hpa_status(h))["ScalingLimited"] == ("True", "ScaleUpLimit")
    h.clock.advance(15)
    await h.run()                                                       # the next period: 2 x 4
    assert (await h.api.get("deployments", "web", "default"))["spec"]["replicas"] == 8


async def test_scale_down_waits_for_the_stabilization_window():
    h = Harness(HorizontalPodAutoscalerController, settings={"horizontal_pod_autoscaler_downscale_stabilization": 60})
    await h.api.create("deployments", deploy(replicas=4))
    await h.api.create("horizontalpodautoscalers", hpa(low=1, high=10))
    await web_pods(h, 4)
    serve_metrics(h.api, {f"web-{i}": "50m" for i in range(4)})        # at target
    await h.start()
    await h.run()
    serve_metrics(h.api, {f"web-{i}": "5m" for i in range(4)})         # the load stops
    for _ in range(3):                                                  # 45 s: still in the window
        h.clock.advance(15)
        h.controllers[0].queue.add("default/web")
        await h.run()
        assert (await h.api.get("deployments", "web", "default"))["spec"]["replicas"] == 4
        assert hpa_status(h)["currentMetrics"][0]["resource"]["current"]["averageUtilization"] == 5
        assert conditions(hpa_status(h))["AbleToScale"] == ("True", "ScaleDownStabilized")
    h.clock.advance(20)                                                 # the at-target recommendation is old
    h.controllers[0].queue.add("default/web")
    await h.run()
    assert (await h.api.get("deployments", "web", "default"))["spec"]["replicas"] == 1
    assert conditions(hpa_status(h))["ScalingLimited"] == ("False", "DesiredWithinRange")    # ceil(0.4) = 1
    assert [e["message"] for e in h.events("SuccessfulRescale")] == ["New size: 1; reason: All metrics below target"]


@pytest.mark.parametrize("usage, cpu_request, reason", [
    (None, "100m", "the server is currently unable to handle the request"),    # metrics-server down: 503
    ({"web-0": "90m", "web-1": "90m"}, None, "missing request for cpu in pod web-0"),
    ({}, "100m", "did not receive metrics for targeted pods"),
])
async def test_without_usable_metrics_only_the_bounds_apply(usage, cpu_request, reason):
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("deployments", deploy(replicas=2))
    await h.api.create("horizontalpodautoscalers", hpa(low=1, high=10))
    await web_pods(h, 2, request=cpu_request)
    serve_metrics(h.api, usage)
    await h.start()
    await h.run()
    assert (await h.api.get("deployments", "web", "default"))["spec"]["replicas"] == 2
    st = hpa_status(h)
    assert "currentMetrics" not in st and conditions(st)["ScalingActive"] == ("False", "FailedGetResourceMetric")
    [warning] = h.events("FailedGetResourceMetric")
    assert reason in warning["message"]


def test_pod_infos_skip_deleted_and_finished_pods_and_sum_requests():
    def pod(name, phase="Running", deleting=False, cpus=("100m", "0.25")):
        md = {"name": name, **({"deletionTimestamp": "2026-01-01T00:00:00Z"} if deleting else {})}
        return {"metadata": md, "spec": {"containers": [{"resources": {"requests": {"cpu": c}}} for c in cpus]},
                "status": {"phase": phase, "conditions": [{"type": "Ready", "status": "True"}]}}
    got = pod_infos([pod("a"), pod("b", phase="Succeeded"), pod("c", deleting=True), pod("d")],
                    usage_by_pod({"items": [{"metadata": {"name": "a"}, "containers": [
                        {"name": "x", "usage": {"cpu": "150000000n"}}, {"name": "y", "usage": {"cpu": "20m"}}]}]}))
    assert [(p.name, p.request_milli, p.ready, p.usage_milli) for p in got] == [
        ("a", 350, True, 170), ("d", 350, True, None)]


@pytest.mark.parametrize("conditions, ready", [
    ([{"type": "Ready", "status": "True"}], True),
    ([{"type": "PodScheduled", "status": "True"}, {"type": "Ready", "status": "True"}], True),
    ([{"type": "Ready", "status": "False"}], False),
    ([{"type": "ContainersReady", "status": "True"}], False),
    ([], False),
])
def test_pod_infos_take_readiness_from_the_pods_ready_condition(conditions, ready):
    pod = {"metadata": {"name": "a"}, "spec": {"containers": [{"resources": {"requests": {"cpu": "100m"}}}]},
           "status": {"phase": "Running", "conditions": conditions}}
    [info] = pod_infos([pod], {})
    assert info.ready is ready


async def test_without_metrics_it_aims_at_80_percent_cpu():
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("deployments", deploy(replicas=2))
    body = hpa(low=1, high=10)
    del body["spec"]["metrics"]
    await h.api.create("horizontalpodautoscalers", body)
    await web_pods(h, 2)
    serve_metrics(h.api, {"web-0": "120m", "web-1": "120m"})          # 120 % / 80 % = 1.5 x 2
    await h.start()
    await h.run()
    assert (await h.api.get("deployments", "web", "default"))["spec"]["replicas"] == 3


def memory(value="100Mi", utilization=None):
    target = {"type": "Utilization", "averageUtilization": utilization} if utilization else \
        {"type": "AverageValue", "averageValue": value}
    return {"type": "Resource", "resource": {"name": "memory", "target": target}}


async def replicas(h):
    return (await h.api.get("deployments", "web", "default"))["spec"]["replicas"]


@pytest.mark.parametrize("metric, mem_request, want, current", [
    # 200Mi average against 100Mi per pod: 2 x 2 pods
    (memory("100Mi"), None, 4, {"averageValue": "209715200"}),
    # 200Mi of 400Mi requested = 50 % against 25 %: 2 x 2
    (memory(utilization=25), "400Mi", 4, {"averageUtilization": 50, "averageValue": "209715200"}),
])
async def test_memory_targets_scale_on_the_pods_memory(metric, mem_request, want, current):
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("deployments", deploy(replicas=2))
    await h.api.create("horizontalpodautoscalers", hpa(low=1, high=10, metrics=[metric]))
    await web_pods(h, 2, memory=mem_request)
    serve_metrics(h.api, {"web-0": "10m", "web-1": "10m"}, {"web-0": "200Mi", "web-1": "200Mi"})
    await h.start()
    await h.run()
    assert await replicas(h) == want
    assert hpa_status(h)["currentMetrics"] == [{"type": "Resource", "resource": {"name": "memory", "current": current}}]
    name = "memory resource" + (" utilization (percentage of request)" if mem_request else "")
    assert [e["message"] for e in h.events("SuccessfulRescale")] == [f"New size: {want}; reason: {name} above target"]


async def test_several_metrics_take_the_largest_proposal_and_list_each_status():
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("deployments", deploy(replicas=2))
    await h.api.create("horizontalpodautoscalers", hpa(low=1, high=10, metrics=[cpu(50), memory("100Mi")]))
    await web_pods(h, 2)
    serve_metrics(h.api, {"web-0": "75m", "web-1": "75m"}, {"web-0": "200Mi", "web-1": "200Mi"})
    await h.start()
    await h.run()
    assert await replicas(h) == 4                         # cpu proposes 3, memory 4
    st = hpa_status(h)
    assert [m["resource"]["name"] for m in st["currentMetrics"]] == ["cpu", "memory"]
    assert conditions(st)["ScalingActive"] == ("True", "ValidMetricFound")
    assert "memory resource above target" in h.events("SuccessfulRescale")[0]["message"]


async def test_a_metric_that_fails_blocks_a_scale_down_but_not_a_scale_up():
    pods_metric = {"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue",
                                                                                   "averageValue": "10"}}}
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("deployments", deploy(replicas=2))
    await h.api.create("horizontalpodautoscalers", hpa(low=1, high=10, metrics=[pods_metric, cpu(50)]))
    await web_pods(h, 2)
    serve_metrics(h.api, {"web-0": "5m", "web-1": "5m"})                # cpu alone would scale down
    await h.start()
    await h.run()
    assert await replicas(h) == 2
    st = hpa_status(h)
    assert conditions(st)["ScalingActive"] == ("False", "FailedGetPodsMetric")
    assert st["currentMetrics"][0] == {"type": ""}                     # as upstream: the failed metric's slot
    serve_metrics(h.api, {"web-0": "100m", "web-1": "100m"})            # cpu now says up: that goes ahead
    h.clock.advance(15)
    await h.run()
    assert await replicas(h) == 4
    assert len(h.events("FailedGetPodsMetric")) == 1                    # warned once while it stays broken


UP_TWO_PODS_PER_MINUTE = {"scaleUp": {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]}}


async def test_behavior_scale_up_policy_limits_each_period():
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("deployments", deploy(replicas=1))
    await h.api.create("horizontalpodautoscalers", hpa(low=1, high=10, behavior=UP_TWO_PODS_PER_MINUTE))
    await web_pods(h, 1)
    serve_metrics(h.api, {"web-0": "900m"})                             # 18 x the target
    await h.start()
    await h.run()
    assert await replicas(h) == 3                                        # 1 + 2 pods
    assert conditions(hpa_status(h))["ScalingLimited"] == ("True", "ScaleUpLimit")
    for _ in range(3):                                                   # 45 s: the same period
        h.clock.advance(15)
        await h.run()
        assert await replicas(h) == 3
    h.clock.advance(16)                                                  # past 60 s since the first step
    await h.run()
    assert await replicas(h) == 5


async def test_behavior_scale_down_window_and_percent_policy():
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 30,
                              "policies": [{"type": "Percent", "value": 50, "periodSeconds": 60}]}}
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("deployments", deploy(replicas=8))
    await h.api.create("horizontalpodautoscalers", hpa(low=1, high=10, behavior=behavior))
    await web_pods(h, 8)
    serve_metrics(h.api, {f"web-{i}": "50m" for i in range(8)})         # at target
    await h.start()
    await h.run()
    serve_metrics(h.api, {f"web-{i}": "5m" for i in range(8)})          # the load stops: 1 replica wanted
    h.clock.advance(15)
    await h.run()
    assert await replicas(h) == 8                                        # the 30 s window holds the 8
    assert conditions(hpa_status(h))["AbleToScale"] == ("True", "ScaleDownStabilized")
    h.clock.advance(16)
    await h.run()
    assert await replicas(h) == 4                                        # at most 50 % per minute
    assert conditions(hpa_status(h))["ScalingLimited"] == ("True", "ScaleDownLimit")


@pytest.mark.parametrize("direction, start, usage, want", [
    ("scaleUp", 2, "200m", 2),
    ("scaleDown", 4, "5m", 4),
])
async def test_behavior_select_policy_disabled_stops_that_direction(direction, start, usage, want):
    behavior = {direction: {"selectPolicy": "Disabled", "stabilizationWindowSeconds": 0}}
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("deployments", deploy(replicas=start))
    await h.api.create("horizontalpodautoscalers", hpa(low=1, high=10, behavior=behavior))
    await web_pods(h, start)
    serve_metrics(h.api, {f"web-{i}": usage for i in range(start)})
    await h.start()
    await h.run()
    assert await replicas(h) == want
    assert not h.events("SuccessfulRescale")


async def test_a_look_that_changes_nothing_writes_nothing():
    h = Harness(HorizontalPodAutoscalerController)
    await h.api.create("deployments", deploy(replicas=9))
    await h.api.create("horizontalpodautoscalers", hpa(low=1, high=5))
    await h.start()
    await h.run()                                     # above the bounds: scaled to 5, no metrics looked at
    assert await replicas(h) == 5 and "currentMetrics" not in hpa_status(h)
    h.clock.advance(15)
    await h.run()                                     # in bounds now, no metrics API: status says so
    rv = h.api.all("horizontalpodautoscalers")[0]["metadata"]["resourceVersion"]
    h.clock.advance(15)
    await h.run()
    assert h.api.all("horizontalpodautoscalers")[0]["metadata"]["resourceVersion"] == rv
