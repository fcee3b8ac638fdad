"""The HPA's replica calculation from CPU utilization, as Kubernetes' replica_calculator does it
for a Resource metric with a target utilization (simplified where noted):

- utilization of a pod = its containers' CPU usage / its containers' CPU requests; a pod without
  a CPU request on every container makes the calculation fail (`missing request for cpu`);
- pods being deleted or Failed are not counted; pods not Ready are "not yet ready" (upstream also
  looks at the CPU initialization period and the readiness delay; here: not Ready is not ready);
- usage ratio = sum(usage) / sum(requests) of the ready pods with metrics / target (no such
  pod: the calculation fails); the utilization shown is the same over the same pods;
  within tolerance (|ratio - 1| <= 0.1) nothing changes;
- otherwise, when pods lack metrics or are not ready, the ratio is recomputed with them in:
  on a scale-up, pods without metrics and not-ready pods count as using 0; on a scale-down,
  pods without metrics count as using 100 % of their request (not-ready pods stay out); if that
  ratio is within tolerance or points the other way, nothing changes;
- desired = ceil(ratio * pods counted).

Then, as the controller does for an HPA without `behavior`: `stabilize` (scale-down
stabilization window: the highest recommendation of the window wins) and `normalize` (min/max
and the scale-up rate: at most max(2 x current, 4) per step).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

TOLERANCE = 0.1


class MetricsError(Exception):
    """The utilization cannot be computed; the message says why (FailedGetResourceMetric)."""


@dataclass(frozen=True)
class PodInfo:
    name: str
    request_milli: int | None          # sum of the containers' CPU requests; None if one lacks it
    ready: bool
    usage_milli: int | None            # from metrics.k8s.io; None when missing


@dataclass(frozen=True)
class Calculation:
    replicas: int
    utilization: int                   # percent of requests, over the ready pods with metrics
    usage_milli: int                   # average usage of those pods (currentMetrics averageValue)


def calculate(current: int, target_percent: int, pods: list[PodInfo], tolerance: float = TOLERANCE) -> Calculation:
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    for p in pods:
        if p.request_milli is None or p.request_milli <= 0:
            raise MetricsError(f"missing request for cpu in pod {p.name}")
    with_metrics = [p for p in pods if p.usage_milli is not None]
    ready = [p for p in with_metrics if p.ready]
    not_ready = [p for p in with_metrics if not p.ready]
    missing = [p for p in pods if p.usage_milli is None]
    if not ready:
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    usage, requests = sum(p.usage_milli for p in ready), sum(p.request_milli for p in ready)
    shown, avg = int(100 * usage / requests), usage // len(ready)
    ratio = usage / requests * 100 / target_percent
    if not missing and not not_ready:
        if abs(ratio - 1.0) <= tolerance:
            return Calculation(current, shown, avg)
        return Calculation(max(math.ceil(ratio * len(ready)), 0), shown, avg)
    scale_up = ratio > 1.0
    counted = list(ready)
    if scale_up:
        for p in not_ready + missing:                       # counted as using nothing
            requests += p.request_milli
            counted.append(p)
    else:
        for p in missing:                                   # counted as using all they asked for
            usage += p.request_milli
            requests += p.request_milli
            counted.append(p)
    new_ratio = usage / requests * 100 / target_percent if requests else 0.0
    if abs(new_ratio - 1.0) <= tolerance or (ratio > 1.0) != (new_ratio > 1.0):
        return Calculation(current, shown, avg)
    desired = math.ceil(new_ratio * len(counted))
    if (desired > current) != scale_up and desired != current:
        return Calculation(current, shown, avg)
    return Calculation(desired, shown, avg)


def scale_up_limit(current: int) -> int:
    """The most replicas one step may reach (upstream's legacy normalization: factor 2, minimum 4)."""
    return max(2 * current, 4)


def stabilize(desired: int, history: list[tuple[float, int]], now: float, window: float) -> int:
    """The highest of `desired` and the recommendations of the last `window` seconds: scaling up
    follows at once, scaling down only once every recent recommendation agrees."""
    return max([desired] + [r for t, r in history if now - t < window])


def normalize(desired: int, current: int, low: int, high: int) -> tuple[int, str, str]:
    """(replicas, ScalingLimited reason, message): the bounds and the scale-up rate."""
    limit = scale_up_limit(current)
    top = min(limit, high)
    if desired < low:
        return low, "TooFewReplicas", "the desired replica count is less than the minimum replica count"
    if desired > top:
        if limit < high:
            return top, "ScaleUpLimit", "the desired replica count is increasing faster than the maximum scale rate"
        return top, "TooManyReplicas", "the desired replica count is more than the maximum replica count"
    return desired, "DesiredWithinRange", "the desired count is within the acceptable range"
