"""The HorizontalPodAutoscaler controller on the FakeApi, as in a cluster without metrics:
the bounds scale the target (events say why), in between nothing changes and a warning says
that no CPU metrics exist; a target at 0 is left alone; a missing target is reported."""
from __future__ import annotations

import pytest

from labkube.controllers.horizontalpodautoscaler import HorizontalPodAutoscalerController, desired_replicas

from .harness import Harness


@pytest.mark.parametrize("current,low,high,want", [
    (1, 2, 5, (2, "Current number of replicas below Spec.MinReplicas")),
    (9, 2, 5, (5, "Current number of replicas above Spec.MaxReplicas")),
    (3, 2, 5, (3, "")),                 # metrics would decide: none here
    (0, 2, 5, (0, "")),                 # scaled to zero by hand: autoscaling disabled
])
def test_desired_replicas_from_the_bounds(current, low, high, want):
    assert desired_replicas(current, low, high) == want


def hpa(name="web", low=2, high=5, kind="Deployment", target="web"):
    return {"metadata": {"name": name}, "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": target},
        "minReplicas": low, "maxReplicas": high, "targetCPUUtilizationPercentage": 50}}


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
    assert (st["currentReplicas"], st["desiredReplicas"]) == (2, 2) and st["lastScaleTime"]
    assert [e["message"] for e in h.events("SuccessfulRescale")] == [
        "New size: 2; reason: Current number of replicas below Spec.MinReplicas"]
    await h.api.patch("deployments", "web", {"spec": {"replicas": 9}}, "default")     # scaled by hand
    h.controllers[0].queue.add("default/web")          # the next periodic look
    await h.run()
    assert (await h.api.get("deployments", "web", "default"))["spec"]["replicas"] == 5
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
