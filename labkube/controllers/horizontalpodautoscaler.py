"""HorizontalPodAutoscaler controller (autoscaling/v2 objects; v1 ones, from `kubectl autoscale`,
are the same objects seen through the apiserver's conversion), as Kubernetes' podautoscaler:

- every 15 s (upstream's sync period) per HPA: the target's scale (Deployment, ReplicaSet,
  StatefulSet) and its pods (the target's selector); a target outside min/max is brought inside
  (`Current number of replicas above Spec.MaxReplicas`), a target at 0 is left alone
  (ScalingActive False, ScalingDisabled);
- otherwise each metric of `spec.metrics` proposes a replica count (replicacalculator.py):
  Resource and ContainerResource metrics for cpu and memory, with Utilization (percent of the
  pods' requests) or AverageValue targets, from `metrics.k8s.io/v1beta1` PodMetrics (the
  metrics-server behind the apiserver's aggregation layer; one read per sync); the largest
  proposal wins (`<metric> above target`, or `All metrics below target`). A metric that cannot be
  computed (no metrics API, pods without requests, Pods/Object/External metrics, which need a
  custom metrics API this cluster does not have) warns FailedGet<Type>Metric; when every metric
  fails, or some fail and the rest would scale down, nothing changes (ScalingActive False);
- then, without `spec.behavior`, upstream's legacy normalization (scale-down stabilization over
  controllers.yaml `horizontal_pod_autoscaler_downscale_stabilization`, default 300 s; scale-up at
  most max(2 x current, 4) per step); with it, hpabehavior.py (windows, Pods/Percent policies,
  selectPolicy Max/Min/Disabled); min/max bound both;
- a change is written to the target's replicas (event SuccessfulRescale `New size: N; reason: ...`);
- status in v2 form: currentReplicas, desiredReplicas, currentMetrics (one per metric, in spec
  order: what `kubectl get hpa` shows as `cpu: 87%/50%`), lastScaleTime, observedGeneration and the
  conditions AbleToScale, ScalingActive, ScalingLimited.
"""
from __future__ import annotations

import copy

from labkube.api.autoscaling.conversion import DEFAULT_CPU_UTILIZATION
from labkube.api.quantity import parse as parse_quantity
from labkube.api.selectors import LabelSelector, selector_string
from labkube.client.errors import ApiError

from . import hpabehavior
from .base import Controller
from .replicacalculator import MetricsError, PodInfo, calculate, calculate_average, normalize, stabilize
from .util import is_ready

TARGETS = {("apps", "Deployment"): "deployments", ("apps", "ReplicaSet"): "replicasets",
           ("apps", "StatefulSet"): "statefulsets"}
RESYNC = 15.0
DOWNSCALE_STABILIZATION = 300.0
DEFAULT_METRICS = [{"type": "Resource", "resource": {"name": "cpu", "target": {
    "type": "Utilization", "averageUtilization": DEFAULT_CPU_UTILIZATION}}}]
METRICS_PATH = "/apis/metrics.k8s.io/v1beta1/namespaces/{ns}/pods"
SOURCES = {"Resource": "resource", "ContainerResource": "containerResource", "Pods": "pods", "Object": "object",
           "External": "external"}


def milli(q) -> int:
    """A quantity in milli-units (millicores, millibytes), as upstream's MilliValue."""
    return int(parse_quantity(q) * 1000)


def milli_cpu(q) -> int:
    return milli(q)


def milli_quantity(v: int) -> str:
    """A milli-unit count as a canonical decimal quantity: 87m, 1, 52428800, 2M."""
    if v % 1000:
        return f"{v}m"
    n, suffix = v // 1000, ""
    for s in ("k", "M", "G", "T", "P", "E"):
        if n == 0 or n % 1000:
            break
        n, suffix = n // 1000, s
    return f"{n}{suffix}"


def desired_replicas(current: int, low: int, high: int) -> tuple[int, str]:
    """(replicas, reason) from the bounds alone; reason "" when metrics would decide."""
    if current == 0:
        return 0, ""
    if current > high:
        return high, "Current number of replicas above Spec.MaxReplicas"
    if current < low:
        return low, "Current number of replicas below Spec.MinReplicas"
    return current, ""


def pod_infos(pods: list[dict], usage: dict[str, dict], resource: str = "cpu",
              container: str | None = None) -> list[PodInfo]:
    """The pods that count (not being deleted, not Failed/Succeeded) with their requests for
    `resource` (of one container, or all), readiness and usage (milli-units, from PodMetrics)."""
    out = []
    for p in pods:
        if (p.get("metadata") or {}).get("deletionTimestamp") or (p.get("status") or {}).get("phase") in (
                "Failed", "Succeeded"):
            continue
        req = 0
        for c in (p.get("spec") or {}).get("containers") or []:
            if container is not None and c.get("name") != container:
                continue
            q = ((c.get("resources") or {}).get("requests") or {}).get(resource)
            if q is None:
                req = None
                break
            req += milli(q)
        name = p["metadata"]["name"]
        used = usage.get(name, {}).get((container, resource)) if container else usage.get(name, {}).get(resource)
        out.append(PodInfo(name, req, is_ready(p), used))
    return out


def usage_by_pod(pod_metrics: dict) -> dict[str, dict]:
    """{pod name: {resource: milli-units, (container, resource): milli-units}} of a PodMetricsList."""
    out = {}
    for item in pod_metrics.get("items") or []:
        per: dict = {}
        for c in item.get("containers") or []:
            for r, q in (c.get("usage") or {}).items():
                v = milli(q)
                per[r] = per.get(r, 0) + v
                per[(c.get("name"), r)] = v
        out[item["metadata"]["name"]] = per
    return out


def condition(conds: list[dict], type_: str, status: bool, reason: str, message: str, now: str) -> list[dict]:
    """conds with the condition `type_` set (lastTransitionTime kept unless the status changes)."""
    st = "True" if status else "False"
    old = next((c for c in conds if c.get("type") == type_), None)
    since = old["lastTransitionTime"] if old is not None and old.get("status") == st else now
    new = {"type": type_, "status": st, "lastTransitionTime": since, "reason": reason, "message": message}
    return [new if c.get("type") == type_ else c for c in conds] if old is not None else conds + [new]


class MetricFailure(Exception):
    """One metric could not be computed: reason (FailedGet<Type>Metric) and message."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


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
        self.recommendations: dict[str, list[tuple[float, int]]] = {}     # without behavior
        self.memory: dict[str, hpabehavior.Memory] = {}                   # with behavior

    async def pod_metrics(self, ns: str, selector: str) -> dict[str, dict]:
        try:
            got = await self.client.request("GET", METRICS_PATH.format(ns=ns), query={"labelSelector": selector})
        except ApiError as e:
            raise MetricsError(f"unable to fetch metrics from resource metrics API: {e.message or e.reason}") from None
        except OSError as e:
            raise MetricsError(f"unable to fetch metrics from resource metrics API: {e}") from None
        return usage_by_pod(got)

    async def sync(self, key: str) -> None:
        hpa = self.hpas.get(key)
        if hpa is None:
            self.recommendations.pop(key, None)
            self.memory.pop(key, None)
            return
        self.queue.add_after(key, RESYNC)
        ns, spec = hpa["metadata"]["namespace"], hpa.get("spec") or {}
        ref = spec.get("scaleTargetRef") or {}
        group = (ref.get("apiVersion") or "apps/v1").rpartition("/")[0]
        res = TARGETS.get((group, ref.get("kind")))
        status = copy.deepcopy(hpa.get("status") or {})
        conds = list(status.get("conditions") or [])
        now = self.clock.now_str()
        target, msg = None, f"the HPA controller cannot scale {ref.get('kind')} {ref.get('name')}"
        if res is not None:
            try:
                target = await self.client.get(res, ref.get("name"), namespace=ns)
            except ApiError as e:
                if e.code != 404:
                    raise
                msg = f'{res}.{group} "{ref.get("name")}" not found'
        if target is None:
            await self.recorder.warning(hpa, "FailedGetScale", msg)
            await self.write_status(hpa, dict(status, conditions=condition(conds, "AbleToScale", False,
                                                                            "FailedGetScale", msg, now)))
            return
        current = (target.get("spec") or {}).get("replicas", 1)
        low, high = spec.get("minReplicas") or 1, spec.get("maxReplicas", 1)
        conds = condition(conds, "AbleToScale", True, "SucceededGetScale", "the HPA controller was able to get "
                          "the target's current scale", now)
        desired, reason = desired_replicas(current, low, high)
        status["currentMetrics"] = None       # as upstream: only a look at the metrics fills them in
        if current == 0:
            conds = condition(conds, "ScalingActive", False, "ScalingDisabled",
                              "scaling is disabled since the replica count of the target is zero", now)
        elif not reason:
            got, reason, conds, status["currentMetrics"] = await self.from_metrics(key, hpa, target, current, low,
                                                                                     high, conds, now)
            if got is None:                       # no usable metric: status only
                status.update({"currentReplicas": current, "conditions": conds})
                status.setdefault("desiredReplicas", current)
                await self.write_status(hpa, status)
                return
            desired = got
        if desired != current:
            await self.client.patch(res, ref["name"], {"spec": {"replicas": desired}}, namespace=ns)
            await self.recorder.normal(hpa, "SuccessfulRescale", f"New size: {desired}; reason: {reason}")
            status["lastScaleTime"] = now
            conds = condition(conds, "AbleToScale", True, "SucceededRescale",
                              f"the HPA controller was able to update the target scale to {desired}", now)
            if isinstance(spec.get("behavior"), dict):
                hpabehavior.record_scale(self.memory.setdefault(key, hpabehavior.Memory()), spec["behavior"],
                                         current, desired, self.clock.monotonic())
        status.update({"observedGeneration": hpa["metadata"].get("generation", 1), "currentReplicas": current,
                       "desiredReplicas": desired, "conditions": conds})
        await self.write_status(hpa, status)

    async def from_metrics(self, key: str, hpa: dict, target: dict, current: int, low: int, high: int,
                           conds: list[dict], now: str):
        """(desired, rescale reason, conditions, currentMetrics) from the metrics and the normalization;
        desired is None when no metric can be used (the conditions say why)."""
        spec = hpa.get("spec") or {}
        metrics = [m for m in spec.get("metrics") or [] if isinstance(m, dict)] or DEFAULT_METRICS
        statuses: list[dict] = []
        best, best_name, failure = 0, "", None
        usage: dict | MetricsError | None = None
        for m in metrics:
            try:
                if m.get("type") in ("Resource", "ContainerResource") and usage is None:
                    try:
                        usage = await self.usage(hpa, target)
                    except MetricsError as e:
                        usage = e
                replicas, name, st = self.propose(m, target, current, usage)
            except MetricFailure as e:
                statuses.append({"type": ""})
                failure = failure or e
                continue
            statuses.append(st)
            if best == 0 or replicas > best:
                best, best_name = replicas, name
        failed = sum(1 for s in statuses if not s["type"])
        if failure is not None and (failed == len(metrics) or best < current):
            msg = f"the HPA was unable to compute the replica count: {failure}"
            if not any(c.get("type") == "ScalingActive" and c.get("status") == "False" and c.get("message") == msg
                       for c in conds):
                await self.recorder.warning(hpa, failure.reason, str(failure))
            conds = condition(conds, "ScalingActive", False, failure.reason, msg, now)
            return None, "", conds, None if failed == len(metrics) else statuses
        conds = condition(conds, "ScalingActive", True, "ValidMetricFound", "the HPA was able to successfully "
                          f"calculate a replica count from {best_name}", now)
        reason = f"{best_name} above target" if best > current else "All metrics below target" if best < current \
            else ""
        t = self.clock.monotonic()
        behavior = spec.get("behavior")
        if isinstance(behavior, dict):
            out = hpabehavior.normalize(self.memory.setdefault(key, hpabehavior.Memory()), behavior, best, current,
                                        low, high, self.window, t)
            conds = condition(conds, "AbleToScale", True, out.able_reason, out.able_message, now)
            conds = condition(conds, "ScalingLimited", out.limited, out.limit_reason, out.limit_message, now)
            return out.replicas, reason, conds, statuses
        history = self.recommendations.setdefault(key, [])
        history[:] = [(ts, r) for ts, r in history if t - ts < self.window]
        stabilized = stabilize(best, history, t, self.window)
        history.append((t, best))
        if stabilized != best:
            conds = condition(conds, "AbleToScale", True, "ScaleDownStabilized", "recent recommendations were "
                              "higher than current one, applying the highest recent recommendation", now)
        else:
            conds = condition(conds, "AbleToScale", True, "ReadyForNewScale", "recommended size matches current "
                              "size", now)
        desired, limit_reason, limit_msg = normalize(stabilized, current, low, high)
        conds = condition(conds, "ScalingLimited", desired != stabilized, limit_reason, limit_msg, now)
        return desired, reason, conds, statuses

    async def usage(self, hpa: dict, target: dict) -> tuple[list[dict], dict]:
        """(the target's pods, their usage by pod) for Resource metrics."""
        sel = (target.get("spec") or {}).get("selector")
        if not sel:
            raise MetricsError("the target has no selector")
        ns = hpa["metadata"]["namespace"]
        match = LabelSelector.from_spec(sel)
        pods = [p for p in self.pods.items() if p["metadata"].get("namespace") == ns
                and match.matches(p["metadata"].get("labels") or {})]
        return pods, await self.pod_metrics(ns, selector_string(sel))

    @staticmethod
    def propose(m: dict, target: dict, current: int, usage) -> tuple[int, str, dict]:
        """(replicas, metric name, MetricStatus) of one metric; MetricFailure when it cannot be computed."""
        kind = m.get("type")
        if kind not in ("Resource", "ContainerResource"):
            raise MetricFailure(f"FailedGet{kind}Metric", f"unable to get {(kind or 'unknown').lower()} metric: "
                                "no custom or external metrics API is served by this cluster")
        key = SOURCES[kind]
        src = m.get(key) or {}
        resource, container = src.get("name", ""), src.get("container") if kind == "ContainerResource" else None
        tgt = src.get("target") or {}
        what = f"{resource} container resource" if container else f"{resource} resource"
        reason = f"FailedGet{kind}Metric"
        try:
            if isinstance(usage, MetricsError):
                raise MetricsError(f"unable to get metrics for resource {resource}: {usage}")
            pods, by_pod = usage
            infos = pod_infos(pods, by_pod, resource, container)
            if tgt.get("averageValue") is not None:
                calc = calculate_average(current, milli(tgt["averageValue"]), infos, resource=resource)
                current_value = {"averageValue": milli_quantity(calc.usage_milli)}
                name = what
            elif tgt.get("averageUtilization") is not None:
                calc = calculate(current, tgt["averageUtilization"], infos, resource=resource)
                current_value = {"averageUtilization": calc.utilization,
                                 "averageValue": milli_quantity(calc.usage_milli)}
                name = f"{what} utilization (percentage of request)"
            else:
                raise MetricFailure(reason, "invalid resource metric source: neither an average utilization target "
                                    "nor an average value (usage) target was set")
        except MetricsError as e:
            verb = "usage" if tgt.get("averageValue") is not None else "utilization"
            raise MetricFailure(reason, f"failed to get {resource} {verb}: {e}") from None
        status = {"name": resource, "current": current_value}
        if container:
            status["container"] = container
        return calc.replicas, name, {"type": kind, key: status}

    async def write_status(self, hpa: dict, status: dict) -> None:
        old = hpa.get("status") or {}
        if status.get("currentMetrics") is None:
            status.pop("currentMetrics", None)
        # conditions' lastTransitionTime only moves with their status: compare without the clock
        if status == old:
            return
        body = copy.deepcopy(hpa)
        body["status"] = status
        await self.client.replace("horizontalpodautoscalers", hpa["metadata"]["name"], body,
                                  namespace=hpa["metadata"]["namespace"], subresource="status")
