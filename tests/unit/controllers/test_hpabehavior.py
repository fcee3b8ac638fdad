"""An HPA's `behavior` as upstream applies it: stabilization windows per direction, Pods/Percent
policies per period with selectPolicy Max/Min/Disabled, the bounds, and the defaults (times are
plain seconds: no clock, no sleeps)."""
import pytest

from labkube.controllers.hpabehavior import (Memory, limit_rate, normalize, record_scale, rules_of, scale_down_limit,
                                             scale_up_limit, stabilize)


def test_defaults_are_upstreams():
    up, down = rules_of({}, down_window=300)
    assert up == {"stabilizationWindowSeconds": 0, "selectPolicy": "Max",
                  "policies": [{"type": "Pods", "value": 4, "periodSeconds": 15},
                               {"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert down == {"stabilizationWindowSeconds": 300, "selectPolicy": "Max",
                    "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15}]}
    assert rules_of({"scaleDown": {"stabilizationWindowSeconds": 0}}, 300)[1]["stabilizationWindowSeconds"] == 0


@pytest.mark.parametrize("history, desired, current, up_window, down_window, want", [
    ([], 5, 3, 0, 300, 5),
    ([(90.0, 8)], 2, 5, 0, 300, 5),          # down: the highest of the down window, never above current...
    ([(90.0, 3)], 2, 5, 0, 300, 3),
    ([(90.0, 8)], 2, 5, 0, 5, 2),            # ...which has passed
    ([(90.0, 4)], 9, 5, 60, 0, 5),           # up: the lowest of the up window, never below current
    ([(90.0, 7)], 9, 5, 60, 0, 7),
    ([(90.0, 7), (95.0, 2)], 9, 5, 60, 0, 5),
])
def test_stabilize_per_direction(history, desired, current, up_window, down_window, want):
    mem = Memory(recommendations=list(history))
    assert stabilize(mem, desired, current, up_window, down_window, now=100.0)[0] == want
    assert (100.0, desired) in mem.recommendations


def test_stabilize_reuses_a_sample_older_than_both_windows():
    mem = Memory(recommendations=[(0.0, 3), (95.0, 4)])
    stabilize(mem, 6, 4, 10, 10, now=100.0)
    assert mem.recommendations == [(100.0, 6), (95.0, 4)]


def pol(kind, value, period=60):
    return {"type": kind, "value": value, "periodSeconds": period}


@pytest.mark.parametrize("select, policies, ups, downs, want", [
    ("Max", [pol("Pods", 4), pol("Percent", 100)], [], [], 20),     # 10 + 100 % beats 10 + 4
    ("Min", [pol("Pods", 4), pol("Percent", 100)], [], [], 14),
    ("Max", [pol("Percent", 15)], [], [], 12),                      # ceil(11.5)
    ("Max", [pol("Pods", 2)], [(95.0, 3)], [], 9),                  # the period began at 7
    ("Max", [pol("Pods", 2, period=3)], [(95.0, 3)], [], 12),       # that step is out of a 3 s period
    ("Max", [pol("Pods", 2)], [], [(95.0, 4)], 16),                 # removed pods count back
    ("Disabled", [pol("Pods", 4)], [], [], 10),
])
def test_scale_up_limit(select, policies, ups, downs, want):
    mem = Memory(scale_ups=ups, scale_downs=downs)
    assert scale_up_limit(mem, 10, {"selectPolicy": select, "policies": policies}, now=100.0) == want


@pytest.mark.parametrize("select, policies, downs, want", [
    ("Max", [pol("Pods", 2), pol("Percent", 50)], [], 5),           # the larger change: 10 - 50 %
    ("Min", [pol("Pods", 2), pol("Percent", 50)], [], 8),
    ("Max", [pol("Percent", 15)], [], 8),                           # int(8.5)
    ("Max", [pol("Pods", 3)], [(95.0, 2)], 9),                      # the period began at 12
    ("Disabled", [pol("Pods", 3)], [], 10),
])
def test_scale_down_limit(select, policies, downs, want):
    mem = Memory(scale_downs=downs)
    assert scale_down_limit(mem, 10, {"selectPolicy": select, "policies": policies}, now=100.0) == want


UP, DOWN = rules_of({"scaleUp": {"policies": [pol("Pods", 2)]}, "scaleDown": {"policies": [pol("Pods", 1)]}}, 0)


@pytest.mark.parametrize("desired, low, high, want", [
    (5, 1, 10, (5, "DesiredWithinRange")),
    (9, 1, 10, (7, "ScaleUpLimit")),
    (9, 1, 6, (6, "TooManyReplicas")),
    (1, 1, 10, (4, "ScaleDownLimit")),
    (1, 5, 10, (5, "TooFewReplicas")),
])
def test_limit_rate_and_bounds(desired, low, high, want):
    assert limit_rate(Memory(), desired, 5, low, high, UP, DOWN, now=0.0)[:2] == want


def test_normalize_reports_stabilization_and_limits():
    mem = Memory()
    first = normalize(mem, {"scaleUp": {"policies": [pol("Pods", 1)]}}, 9, 5, 1, 10, 300, now=0.0)
    assert (first.replicas, first.able_reason, first.limited, first.limit_reason) == (6, "ReadyForNewScale", True,
                                                                                      "ScaleUpLimit")
    record_scale(mem, {"scaleUp": {"policies": [pol("Pods", 1)]}}, 5, 6, now=0.0)
    down = normalize(mem, {}, 2, 6, 1, 10, 300, now=15.0)          # the 9 of 15 s ago holds the 6
    assert (down.replicas, down.able_reason, down.limited) == (6, "ScaleDownStabilized", False)


def test_record_scale_forgets_events_older_than_every_period():
    mem = Memory(scale_ups=[(0.0, 1), (50.0, 2)])
    record_scale(mem, {"scaleUp": {"policies": [pol("Pods", 1, period=30)]}}, 5, 7, now=60.0)
    assert mem.scale_ups == [(50.0, 2), (60.0, 2)]
