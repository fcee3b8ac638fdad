"""HorizontalPodAutoscaler controller (autoscaling/v1) for a cluster without a metrics API, the
way Kubernetes behaves without metrics-server (what `kubectl autoscale` meets in the lab):

- a target scaled to 0 is left alone (autoscaling disabled);
- a target above maxReplicas is scaled down to it, one below minReplicas up to it (event
  SuccessfulRescale "New size: N; reason: ...");
- in between the replica count would come from CPU utilization, which no metrics API
  delivers: the count stays, with a FailedGetResourceMetric warning event, and
  `kubectl get hpa` shows `cpu: <unknown>/50%`.

Status: currentReplicas, desiredReplicas, lastScaleTime, observedGeneration. Each HPA is
looked at again every 15 s (Kubernetes' sync period) to follow hand-made scaling.
"""
from __future__ import annotations

import copy

from labkube.client.errors import ApiError

from .base import Controller

TARGETS = {("apps", "Deployment"): "deployments", ("apps", "ReplicaSet"): "replicasets",
           ("apps", "StatefulSet"): "statefulsets"}
RESYNC = 15.0
NO_METRICS = ("failed to get cpu utilization: unable to get metrics for resource cpu: "
              "no metrics API in this cluster (the lab runs no metrics-server)")


def desired_replicas(current: int, low: int, high: int) -> tuple[int, str]:
    """(replicas, reason) from the bounds alone; reason "" when metrics would decide."""
    if current == 0:
        return 0, ""
    if current > high:
        return high, "Current number of replicas above Spec.MaxReplicas"
    if current < low:
        return low, "Current number of replicas below Spec.MinReplicas"
    return current, ""


class HorizontalPodAutoscalerController(Controller):
    name = "horizontalpodautoscaler"

    def event_component(self) -> str:
        return "horizontal-pod-autoscaler"

    def setup(self) -> None:
        self.hpas = self.informer("horizontalpodautoscalers")
        self.hpas.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), None)

    async def sync(self, key: str) -> None:
        hpa = self.hpas.get(key)
        if hpa is None:
            return
        self.queue.add_after(key, RESYNC)
        ns, spec = hpa["metadata"]["namespace"], hpa.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        group = (ref.get("apiVersion") or "apps/v1").rpartition("/")[0]
        res = TARGETS.get((group, ref.get("kind")))
        if res is None:
            await self.recorder.warning(hpa, "FailedGetScale",
                                        f"the HPA controller cannot scale {ref.get('kind')} {ref.get('name')}")
            return
        try:
            target = await self.client.get(res, ref.get("name"), namespace=ns)
        except ApiError as e:
            if e.code != 404:
                raise
            await self.recorder.warning(hpa, "FailedGetScale", f'{res}.{group} "{ref.get("name")}" not found')
            return
        current = (target.get("spec") or {}).get("replicas", 1)
        desired, reason = desired_replicas(current, spec.get("minReplicas", 1), spec.get("maxReplicas", 1))
        status = copy.deepcopy(hpa.get("status") or {})
        if desired != current:
            await self.client.patch(res, ref["name"], {"spec": {"replicas": desired}}, namespace=ns)
            await self.recorder.normal(hpa, "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
            status["lastScaleTime"] = self.clock.now_str()
        elif current and spec.get("targetCPUUtilizationPercentage") and not status.get("desiredReplicas"):
            await self.recorder.warning(hpa, "FailedGetResourceMetric", NO_METRICS)
        status.update({"observedGeneration": hpa["metadata"].get("generation", 1), "currentReplicas": current,
                       "desiredReplicas": desired})
        if status == (hpa.get("status") or {}):
            return
        body = copy.deepcopy(hpa)
        body["status"] = status
        await self.client.replace("horizontalpodautoscalers", hpa["metadata"]["name"], body, namespace=ns,
                                  subresource="status")
