"""The HPA's replica calculation for a Resource metric (cpu or memory of the pods, from the
metrics-server), as Kubernetes' replica_calculator does it (simplified where noted). Usage and
requests are in milli-units (millicores, millibytes), as upstream keeps them.

Utilization target (`calculate`, percent of the pods' requests):
- utilization of the pods = sum(usage) / sum(requests); a pod without a request for the
  resource on every container makes the calculation fail (`missing request for cpu`);
- pods being deleted or Failed are not counted (the controller drops them); for cpu, pods not
  Ready are "not yet ready" (upstream also looks at the CPU initialization period and the
  readiness delay; here: not Ready is not ready); for other resources every pod with metrics counts;
- usage ratio = utilization of the ready pods with metrics / target (no such pod: the
  calculation fails); within tolerance (|ratio - 1| <= 0.1) nothing changes;
- otherwise, when pods lack metrics or are not ready, the ratio is recomputed with them in:
  on a scale-up, pods without metrics and not-ready pods count as using 0; on a scale-down,
  pods without metrics count as using 100 % of their request (the target if above 100 %;
  not-ready pods stay out); if that
  ratio is within tolerance or points the other way, nothing changes;
- desired = ceil(ratio * pods counted).
AverageValue target (`calculate_average`): the same with the plain average usage per pod against
the target quantity (no requests needed; pods without metrics count as using the target on a
scale-down).

Then, for an HPA without `behavior` (upstream's normalizeDesiredReplicas): `stabilize` (the
scale-down stabilization window: the highest recommendation of the window wins) and `normalize`
(min/max and the scale-up rate: at most max(2 x current, 4) per step). With `behavior`:
labkube.controllers.hpabehavior.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

TOLERANCE = 0.1


class MetricsError(Exception):
    """The metric cannot be computed; the message says why (FailedGetResourceMetric)."""


@dataclass(frozen=True)
class PodInfo:
    name: str
    request_milli: int | None          # sum of the containers' requests for the resource; None if one lacks it
    ready: bool
    usage_milli: int | None            # from metrics.k8s.io; None when missing


@dataclass(frozen=True)
class Calculation:
    replicas: int
    utilization: int | None            # percent of requests over the ready pods with metrics (Utilization)
    usage_milli: int                   # average usage of those pods (currentMetrics averageValue)


def _groups(pods: list[PodInfo], readiness: bool):
    with_metrics = [p for p in pods if p.usage_milli is not None]
    ready = [p for p in with_metrics if p.ready or not readiness]
    not_ready = [p for p in with_metrics if readiness and not p.ready]
    missing = [p for p in pods if p.usage_milli is None]
    if not ready:
        raise MetricsError("did not receive metrics for targeted pods (pods might be unready)")
    return ready, not_ready, missing


def _decide(current: int, ratio: float, new_ratio: float, counted: int, ready: int, complete: bool,
            tolerance: float) -> int:
    """upstream's rule: the plain ratio when every pod is measured and ready, else the recomputed one
    unless it is within tolerance or changes direction."""
    if complete:
        return current if abs(ratio - 1.0) <= tolerance else max(math.ceil(ratio * ready), 0)
    scale_up = ratio > 1.0
    if abs(new_ratio - 1.0) <= tolerance or scale_up != (new_ratio > 1.0):
        return current
    desired = math.ceil(new_ratio * counted)
    if (desired > current) != scale_up and desired != current:
        return current
    return desired


def calculate(current: int, target_percent: int, pods: list[PodInfo], tolerance: float = TOLERANCE,
              resource: str = "cpu") -> Calculation:
    """Utilization target: replicas for `target_percent` of the pods' requests."""
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    for p in pods:
        if p.request_milli is None or p.request_milli <= 0:
            raise MetricsError(f"missing request for {resource} in pod {p.name}")
    ready, not_ready, missing = _groups(pods, resource == "cpu")
    usage, requests = sum(p.usage_milli for p in ready), sum(p.request_milli for p in ready)
    shown, avg = int(100 * usage / requests), usage // len(ready)
    ratio = usage / requests * 100 / target_percent
    counted = list(ready)
    if ratio > 1.0:
        for p in not_ready + missing:                       # counted as using nothing
            requests += p.request_milli
            counted.append(p)
    else:
        for p in missing:                                   # counted as using all they asked for (or the target, if higher)
            usage += p.request_milli * max(100, target_percent) / 100
            requests += p.request_milli
            counted.append(p)
    new_ratio = usage / requests * 100 / target_percent if requests else 0.0
    return Calculation(_decide(current, ratio, new_ratio, len(counted), len(ready), not missing and not not_ready,
                               tolerance), shown, avg)


def calculate_average(current: int, target_milli: int, pods: list[PodInfo], tolerance: float = TOLERANCE,
                      resource: str = "cpu") -> Calculation:
    """AverageValue target: replicas for `target_milli` of usage per pod."""
    if not pods:
        raise MetricsError("no pods returned by selector while calculating replica count")
    if target_milli <= 0:
        raise MetricsError(f"invalid target average value for {resource}")
    ready, not_ready, missing = _groups(pods, resource == "cpu")
    usage = sum(p.usage_milli for p in ready)
    avg = usage // len(ready)
    ratio = usage / len(ready) / target_milli
    counted = len(ready)
    if ratio > 1.0:
        counted += len(not_ready) + len(missing)            # counted as using nothing
    else:
        usage += target_milli * len(missing)                # counted as using the target
        counted += len(missing)
    new_ratio = usage / counted / target_milli
    return Calculation(_decide(current, ratio, new_ratio, counted, len(ready), not missing and not not_ready,
                               tolerance), None, avg)


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
