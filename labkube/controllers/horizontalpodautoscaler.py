"""HorizontalPodAutoscaler controller (autoscaling/v1 objects, `kubectl autoscale`), as Kubernetes'
podautoscaler controller does it for a CPU utilization target:

- every 15 s (Kubernetes' sync period) per HPA: the target's scale (Deployment, ReplicaSet,
  StatefulSet), its pods (the target's selector), their CPU usage from `metrics.k8s.io/v1beta1`
  PodMetrics (the metrics-server behind the apiserver's aggregation layer), their CPU requests;
- desired replicas from replicacalculator.py (tolerance 0.1, missing metrics and not-ready pods),
  then the scale-down stabilization window (controllers.yaml
  `horizontal_pod_autoscaler_downscale_stabilization`, default 300 s), the scale-up rate and
  min/max; a change is written to the target's replicas with event SuccessfulRescale
  `New size: N; reason: cpu resource utilization (percentage of request) above target`;
- status: currentReplicas, desiredReplicas, currentCPUUtilizationPercentage (what `kubectl get
  hpa` shows as `cpu: 87%/50%`), lastScaleTime, observedGeneration, and the autoscaling/v2 fields
  currentMetrics and conditions AbleToScale, ScalingActive, ScalingLimited (upstream keeps the
  last two in annotations of v1 objects; this cluster serves only v1 and keeps them in status);
- an HPA without targetCPUUtilizationPercentage aims at 80 % (upstream's v1 conversion default);
- without metrics (no metrics API, metrics-server down, pods without CPU requests) the count only
  follows min/max, with a FailedGetResourceMetric warning and ScalingActive False, and `kubectl
  get hpa` shows `cpu: <unknown>/50%`. A target scaled to 0 is left alone (ScalingActive False,
  ScalingDisabled).
"""
from __future__ import annotations

import copy

from labkube.api.quantity import parse as parse_quantity
from labkube.api.selectors import LabelSelector, selector_string
from labkube.client.errors import ApiError

from .base import Controller
from .replicacalculator import MetricsError, PodInfo, calculate, normalize, stabilize

TARGETS = {("apps", "Deployment"): "deployments", ("apps", "ReplicaSet"): "replicasets",
           ("apps", "StatefulSet"): "statefulsets"}
RESYNC = 15.0
DOWNSCALE_STABILIZATION = 300.0
DEFAULT_CPU_TARGET = 80
METRICS_PATH = "/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"


def milli_cpu(q) -> int:
    return int(parse_quantity(q) * 1000)


def desired_replicas(current: int, low: int, high: int) -> tuple[int, str]:
    """(replicas, reason) from the bounds alone; reason "" when metrics would decide."""
    if current == 0:
        return 0, ""
    if current > high:
        return high, "Current number of replicas above Spec.MaxReplicas"
    if current < low:
        return low, "Current number of replicas below Spec.MinReplicas"
    return current, ""


def pod_infos(pods: list[dict], usage: dict[str, int]) -> list[PodInfo]:
    """The pods that count (not being deleted, not Failed/Succeeded) with their CPU requests,
    readiness and usage (millicores, from PodMetrics by pod name)."""
    out = []
    for p in pods:
        if (p.get("metadata") or {}).get("deletionTimestamp") or (p.get("status") or {}).get("phase") in (
                "Failed", "Succeeded"):
            continue
        req = 0
        for c in (p.get("spec") or {}).get("containers") or []:
            cpu = ((c.get("resources") or {}).get("requests") or {}).get("cpu")
            if cpu is None:
                req = None
                break
            req += milli_cpu(cpu)
        ready = any(c.get("type") == "Ready" and c.get("status") == "True"
                    for c in (p.get("status") or {}).get("conditions") or [])
        name = p["metadata"]["name"]
        out.append(PodInfo(name, req, ready, usage.get(name)))
    return out


def usage_by_pod(pod_metrics: dict) -> dict[str, int]:
    """{pod name: millicores} of a PodMetricsList."""
    return {i["metadata"]["name"]: sum(milli_cpu(c["usage"]["cpu"]) for c in i.get("containers") or [])
            for i in pod_metrics.get("items") or []}


def condition(conds: list[dict], type_: str, status: bool, reason: str, message: str, now: str) -> list[dict]:
    """conds with the condition `type_` set (lastTransitionTime kept unless the status changes)."""
    st = "True" if status else "False"
    old = next((c for c in conds if c.get("type") == type_), None)
    since = old["lastTransitionTime"] if old is not None and old.get("status") == st else now
    new = {"type": type_, "status": st, "lastTransitionTime": since, "reason": reason, "message": message}
    return [new if c.get("type") == type_ else c for c in conds] if old is not None else conds + [new]


class HorizontalPodAutoscalerController(Controller):
    name = "horizontalpodautoscaler"

    def event_component(self) -> str:
        return "horizontal-pod-autoscaler"

    def setup(self) -> None:
        self.hpas = self.informer("horizontalpodautoscalers")
        # a status write of our own does not bring the next look forward: one step per period,
        # as upstream's queue with its 15 s interval (else the scale-up rate would not hold)
        self.hpas.add_handlers(self.enqueue, lambda o, n: self.enqueue(n) if o.get("spec") != n.get("spec") else None,
                               None)
        self.pods = self.informer("pods")
        self.window = float(self.settings.get("horizontal_pod_autoscaler_downscale_stabilization",
                                              DOWNSCALE_STABILIZATION))
        self.recommendations: dict[str, list[tuple[float, int]]] = {}

    async def metrics(self, ns: str, selector: str) -> dict[str, int]:
        try:
            got = await self.client.request("GET", METRICS_PATH.format(ns=ns), query={"labelSelector": selector})
        except ApiError as e:
            raise MetricsError(f"unable to get metrics for resource cpu: unable to fetch metrics from resource "
                               f"metrics API: {e.message or e.reason}") from None
        except OSError as e:
            raise MetricsError(f"unable to get metrics for resource cpu: {e}") from None
        return usage_by_pod(got)

    async def sync(self, key: str) -> None:
        hpa = self.hpas.get(key)
        if hpa is None:
            self.recommendations.pop(key, None)
            return
        self.queue.add_after(key, RESYNC)
        ns, spec = hpa["metadata"]["namespace"], hpa.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        group = (ref.get("apiVersion") or "apps/v1").rpartition("/")[0]
        res = TARGETS.get((group, ref.get("kind")))
        status = copy.deepcopy(hpa.get("status") or {})
        conds = list(status.get("conditions") or [])
        now = self.clock.now_str()
        if res is None:
            msg = f"the HPA controller cannot scale {ref.get('kind')} {ref.get('name')}"
            await self.recorder.warning(hpa, "FailedGetScale", msg)
            await self.write_status(hpa, dict(status, conditions=condition(conds, "AbleToScale", False,
                                                                            "FailedGetScale", msg, now)))
            return
        try:
            target = await self.client.get(res, ref.get("name"), namespace=ns)
        except ApiError as e:
            if e.code != 404:
                raise
            msg = f'{res}.{group} "{ref.get("name")}" not found'
            await self.recorder.warning(hpa, "FailedGetScale", msg)
            await self.write_status(hpa, dict(status, conditions=condition(conds, "AbleToScale", False,
                                                                            "FailedGetScale", msg, now)))
            return
        current = (target.get("spec") or {}).get("replicas", 1)
        low, high = spec.get("minReplicas", 1), spec.get("maxReplicas", 1)
        conds = condition(conds, "AbleToScale", True, "SucceededGetScale", "the HPA controller was able to get "
                          "the target's current scale", now)
        # an autoscaling/v1 HPA without a target aims at 80 % (upstream's conversion default)
        target_cpu = spec.get("targetCPUUtilizationPercentage") or DEFAULT_CPU_TARGET
        reason, utilization = "", None
        if current == 0:
            desired = 0
            conds = condition(conds, "ScalingActive", False, "ScalingDisabled",
                              "scaling is disabled since the replica count of the target is zero", now)
        else:
            try:
                calc = await self.calculate(ns, target, current, target_cpu)
            except MetricsError as e:
                desired, reason = desired_replicas(current, low, high)
                msg = f"the HPA was unable to compute the replica count: failed to get cpu utilization: {e}"
                if not any(c.get("type") == "ScalingActive" and c.get("status") == "False" and c.get("message") == msg
                           for c in conds):
                    await self.recorder.warning(hpa, "FailedGetResourceMetric", f"failed to get cpu utilization: {e}")
                conds = condition(conds, "ScalingActive", False, "FailedGetResourceMetric", msg, now)
                status.pop("currentCPUUtilizationPercentage", None)
                status.pop("currentMetrics", None)
            else:
                utilization = calc.utilization
                conds = condition(conds, "ScalingActive", True, "ValidMetricFound", "the HPA was able to "
                                  "successfully calculate a replica count from cpu resource utilization "
                                  "(percentage of request)", now)
                history = self.recommendations.setdefault(key, [])
                t = self.clock.monotonic()
                history[:] = [(ts, r) for ts, r in history if t - ts < self.window]
                stabilized = stabilize(calc.replicas, history, t, self.window)
                history.append((t, calc.replicas))
                desired, limit_reason, limit_msg = normalize(stabilized, current, low, high)
                conds = condition(conds, "ScalingLimited", limit_reason != "DesiredWithinRange", limit_reason,
                                  limit_msg, now)
                if desired != current:
                    direction = "above" if desired > current else "below"
                    reason = f"cpu resource utilization (percentage of request) {direction} target"
                status["currentCPUUtilizationPercentage"] = utilization
                status["currentMetrics"] = [{"type": "Resource", "resource": {"name": "cpu", "current": {
                    "averageUtilization": utilization, "averageValue": f"{calc.usage_milli}m"}}}]
        if desired != current:
            await self.client.patch(res, ref["name"], {"spec": {"replicas": desired}}, namespace=ns)
            await self.recorder.normal(hpa, "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
            status["lastScaleTime"] = now
        status.update({"observedGeneration": hpa["metadata"].get("generation", 1), "currentReplicas": current,
                       "desiredReplicas": desired, "conditions": conds})
        await self.write_status(hpa, status)

    async def calculate(self, ns: str, target: dict, current: int, target_cpu: int):
        sel = (target.get("spec") or {}).get("selector")
        if not sel:
            raise MetricsError("the target has no selector")
        match = LabelSelector.from_spec(sel)
        pods = [p for p in self.pods.items() if p["metadata"].get("namespace") == ns
                and match.matches(p["metadata"].get("labels") or {})]
        usage = await self.metrics(ns, selector_string(sel))
        return calculate(current, target_cpu, pod_infos(pods, usage))

    async def write_status(self, hpa: dict, status: dict) -> None:
        old = hpa.get("status") or {}
        # conditions' lastTransitionTime only moves with their status: compare without the clock
        if status == old:
            return
        body = copy.deepcopy(hpa)
        body["status"] = status
        await self.client.replace("horizontalpodautoscalers", hpa["metadata"]["name"], body,
                                  namespace=hpa["metadata"]["namespace"], subresource="status")
