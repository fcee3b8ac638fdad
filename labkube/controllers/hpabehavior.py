"""An autoscaling/v2 HPA's `behavior`, as upstream's normalizeDesiredReplicasWithBehaviors:

- stabilization: the recommendations of each HPA are remembered with their time; scaling up
  takes the lowest recommendation of the scale-up window, scaling down the highest of the
  scale-down window (a window of 0 s: the current recommendation alone);
- rate limits: each policy proposes a limit from the replicas at the start of its period (the
  current replicas minus what was added, plus what was removed, within `periodSeconds`):
  Pods +/- value, Percent * (1 +/- value/100) (rounded up for scaling up, down for scaling
  down); selectPolicy Max takes the policy allowing the largest change, Min the smallest,
  Disabled forbids scaling in that direction;
- minReplicas/maxReplicas bound the result; the reasons (ScaleUpStabilized, ScaleDownStabilized,
  ReadyForNewScale; ScaleUpLimit, ScaleDownLimit, TooManyReplicas, TooFewReplicas,
  DesiredWithinRange) are upstream's.

Times are the controller clock's monotonic seconds, passed in (tests use a fake clock). A
scale-down window left unset (the HPA was defaulted without one) is the controller's
--horizontal-pod-autoscaler-downscale-stabilization.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

from labkube.api.autoscaling.defaults import SCALE_DOWN, SCALE_UP, scaling_rules


@dataclass
class Memory:
    """What the controller remembers of one HPA between syncs."""
    recommendations: list[tuple[float, int]] = field(default_factory=list)   # (time, replicas)
    scale_ups: list[tuple[float, int]] = field(default_factory=list)         # (time, pods added)
    scale_downs: list[tuple[float, int]] = field(default_factory=list)       # (time, pods removed)


@dataclass(frozen=True)
class Outcome:
    replicas: int
    stabilized: int
    able_reason: str
    able_message: str
    limited: bool
    limit_reason: str
    limit_message: str


def rules_of(behavior: dict, down_window: float) -> tuple[dict, dict]:
    """(scaleUp, scaleDown) rules of a behavior with upstream's defaults filled in."""
    up = scaling_rules(behavior.get("scaleUp"), SCALE_UP)
    down = scaling_rules(behavior.get("scaleDown"), SCALE_DOWN)
    if down.get("stabilizationWindowSeconds") is None:
        down["stabilizationWindowSeconds"] = down_window
    return up, down


def stabilize(mem: Memory, desired: int, current: int, up_window: float, down_window: float,
              now: float) -> tuple[int, str, str]:
    """(recommendation, AbleToScale reason, message); records `desired` (replacing a sample older
    than both windows, as upstream does)."""
    up, down, old = desired, desired, None
    for i, (t, r) in enumerate(mem.recommendations):
        if t > now - up_window:
            up = min(up, r)
        if t > now - down_window:
            down = max(down, r)
        if t < now - up_window and t < now - down_window:
            old = i
    out = min(max(current, up), down)
    if old is not None:
        mem.recommendations[old] = (now, desired)
    else:
        mem.recommendations.append((now, desired))
    if desired >= current:
        return out, "ScaleUpStabilized", ("recent recommendations were lower than current one, applying the "
                                          "lowest recent recommendation")
    return out, "ScaleDownStabilized", ("recent recommendations were higher than current one, applying the "
                                        "highest recent recommendation")


def _changed_within(events: list[tuple[float, int]], period: float, now: float) -> int:
    return sum(n for t, n in events if t > now - period)


def _period_start(mem: Memory, current: int, period: float, now: float) -> int:
    return current - _changed_within(mem.scale_ups, period, now) + _changed_within(mem.scale_downs, period, now)


def _policy_limit(mem: Memory, current: int, rules: dict, now: float, up: bool) -> int:
    """The bound the policies of one direction set now: each policy's proposal counts from the
    replicas at the start of its period; selectPolicy Max takes the one allowing the largest
    change, Min the smallest, Disabled allows none."""
    select = rules.get("selectPolicy") or "Max"
    if select == "Disabled":
        return current
    proposals = []
    for pol in rules.get("policies") or []:
        start = _period_start(mem, current, pol["periodSeconds"], now)
        if pol["type"] == "Pods":
            proposals.append(start + pol["value"] if up else start - pol["value"])
        elif up:
            proposals.append(math.ceil(start * (1 + pol["value"] / 100)))
        else:
            proposals.append(int(start * (1 - pol["value"] / 100)))
    if not proposals:
        return current
    largest_change = max if up else min
    smallest_change = min if up else max
    return smallest_change(proposals) if select == "Min" else largest_change(proposals)


def scale_up_limit(mem: Memory, current: int, rules: dict, now: float) -> int:
    """The most replicas the scale-up policies allow now."""
    return _policy_limit(mem, current, rules, now, up=True)


def scale_down_limit(mem: Memory, current: int, rules: dict, now: float) -> int:
    """The fewest replicas the scale-down policies allow now."""
    return _policy_limit(mem, current, rules, now, up=False)


def limit_rate(mem: Memory, desired: int, current: int, low: int, high: int, up: dict, down: dict,
               now: float) -> tuple[int, str, str]:
    """(replicas, ScalingLimited reason, message) of a stabilized recommendation."""
    if desired > current:
        limit = max(scale_up_limit(mem, current, up, now), current)
        if high > limit:
            top, reason, msg = limit, "ScaleUpLimit", "the desired replica count is increasing faster than the " \
                                                      "maximum scale rate"
        else:
            top, reason, msg = high, "TooManyReplicas", "the desired replica count is more than the maximum " \
                                                        "replica count"
        if desired > top:
            return top, reason, msg
    elif desired < current:
        limit = min(scale_down_limit(mem, current, down, now), current)
        if low < limit:
            bottom, reason, msg = limit, "ScaleDownLimit", "the desired replica count is decreasing faster than " \
                                                           "the maximum scale rate"
        else:
            bottom, reason, msg = low, "TooFewReplicas", "the desired replica count is less than the minimum " \
                                                         "replica count"
        if desired < bottom:
            return bottom, reason, msg
    return desired, "DesiredWithinRange", "the desired count is within the acceptable range"


def normalize(mem: Memory, behavior: dict, desired: int, current: int, low: int, high: int, down_window: float,
              now: float) -> Outcome:
    """The replicas to set for a recommendation `desired`, with the conditions' reasons."""
    up, down = rules_of(behavior, down_window)
    stable, able_reason, able_msg = stabilize(mem, desired, current, up["stabilizationWindowSeconds"],
                                              down["stabilizationWindowSeconds"], now)
    if stable == desired:
        able_reason, able_msg = "ReadyForNewScale", "recommended size matches current size"
    out, reason, msg = limit_rate(mem, stable, current, low, high, up, down, now)
    return Outcome(out, stable, able_reason, able_msg, out != stable, reason, msg)


def record_scale(mem: Memory, behavior: dict, old: int, new: int, now: float) -> None:
    """Remember a rescale for the rate limits (events older than every period are forgotten)."""
    up, down = rules_of(behavior, 0)
    if new > old:
        longest = max([p.get("periodSeconds", 0) for p in up.get("policies") or []] + [0])
        mem.scale_ups[:] = [e for e in mem.scale_ups if e[0] > now - longest] + [(now, new - old)]
    elif new < old:
        longest = max([p.get("periodSeconds", 0) for p in down.get("policies") or []] + [0])
        mem.scale_downs[:] = [e for e in mem.scale_downs if e[0] > now - longest] + [(now, old - new)]
