"""The HPA's replica count from CPU utilization: tolerance, pods without metrics or not ready,
the scale-down stabilization window, the scale-up rate and the bounds (as Kubernetes)."""
import pytest

from labkube.controllers.replicacalculator import (MetricsError, PodInfo, calculate, calculate_average, normalize,
                                                   scale_up_limit,
                                                   stabilize)


def pods(*specs):
    """specs: (usage millicores or None, ready) with 100m requested each."""
    return [PodInfo(f"p{i}", 100, ready, usage) for i, (usage, ready) in enumerate(specs)]


@pytest.mark.parametrize("current, target, pod_list, want", [
    # all ready, all measured: ceil(ratio x ready pods)
    (2, 50, pods((87, True), (87, True)), (4, 87)),              # 1.74 x 2 = 3.48
    (1, 50, pods((400, True)), (8, 400)),                         # a busy loop in one pod
    (2, 50, pods((10, True), (10, True)), (1, 10)),               # 0.2 x 2 = 0.4
    (2, 50, pods((0, True), (0, True)), (0, 0)),                  # bounds come later
    # tolerance 0.1 around the target: no change
    (2, 50, pods((54, True), (54, True)), (2, 54)),
    (2, 50, pods((46, True), (46, True)), (2, 46)),
    (2, 50, pods((56, True), (56, True)), (3, 56)),
    # a pod without metrics: 0 % on a scale-up, 100 % on a scale-down
    (3, 50, pods((100, True), (100, True), (None, True)), (4, 100)),   # 200/300 -> 1.33 x 3
    (3, 50, pods((10, True), (10, True), (None, True)), (3, 10)),      # (20+100)/300 -> 0.8 x 3 = 2.4 -> 3
    (3, 50, pods((100, True), (50, True), (None, True)), (3, 75)),     # 150/300 = target: no change
    # a pod not yet ready: 0 % on a scale-up, left out of a scale-down
    (3, 50, pods((100, True), (100, True), (100, False)), (4, 100)),
    (3, 50, pods((10, True), (10, True), (500, False)), (1, 10)),      # 20/200 -> 0.2 x 2 ready
])
def test_calculate(current, target, pod_list, want):
    got = calculate(current, target, pod_list)
    assert (got.replicas, got.utilization) == want


@pytest.mark.parametrize("pod_list, error", [
    ([], "no pods returned by selector"),
    ([PodInfo("a", None, True, 50)], "missing request for cpu in pod a"),
    (pods((None, True), (None, True)), "did not receive metrics for targeted pods"),
    (pods((100, False), (100, False)), "pods might be unready"),                  # only starting pods
])
def test_calculate_fails_with_a_reason(pod_list, error):
    with pytest.raises(MetricsError, match=error):
        calculate(2, 50, pod_list)


@pytest.mark.parametrize("desired, history, want", [
    (5, [], 5),
    (5, [(0.0, 2), (100.0, 3)], 5),            # up: at once
    (1, [(0.0, 4), (100.0, 3)], 4),            # down: the highest of the window
    (1, [(-300.0, 4), (100.0, 3)], 3),         # 300 s ago is out of the window
    (1, [(-400.0, 9)], 1),
])
def test_stabilize_over_the_downscale_window(desired, history, want):
    assert stabilize(desired, history, now=200.0, window=300.0) == want


@pytest.mark.parametrize("desired, current, low, high, want", [
    (3, 2, 1, 5, (3, "DesiredWithinRange")),
    (0, 2, 1, 5, (1, "TooFewReplicas")),
    (9, 4, 1, 5, (5, "TooManyReplicas")),
    (20, 1, 1, 10, (4, "ScaleUpLimit")),       # max(2 x 1, 4)
    (20, 3, 1, 10, (6, "ScaleUpLimit")),       # 2 x 3
    (20, 6, 1, 10, (10, "TooManyReplicas")),
])
def test_normalize_bounds_and_scale_up_rate(desired, current, low, high, want):
    assert normalize(desired, current, low, high)[:2] == want


def test_scale_up_limit():
    assert [scale_up_limit(n) for n in (0, 1, 2, 3, 10)] == [4, 4, 4, 6, 20]


@pytest.mark.parametrize("current, target, pod_list, want", [
    (2, 100, pods((200, True), (200, True)), (4, 200)),          # twice the target per pod
    (2, 100, pods((105, True), (95, True)), (2, 100)),           # within tolerance
    (4, 100, pods((20, True), (20, True), (20, True), (20, True)), (1, 20)),
    (3, 100, pods((20, True), (20, True), (None, True)), (2, 20)),      # missing counts as the target: 140/300
    (3, 100, pods((300, True), (300, True), (300, False)), (6, 300)),  # unready counts as 0 on a scale-up: 600/3
])
def test_calculate_average_value(current, target, pod_list, want):
    got = calculate_average(current, target, pod_list)
    assert (got.replicas, got.usage_milli) == want and got.utilization is None


def test_readiness_counts_only_for_cpu():
    pod_list = pods((300, True), (300, False))
    assert calculate(2, 100, pod_list, resource="cpu").replicas == 3          # the unready one as 0: 300/200 x 2
    assert calculate(2, 100, pod_list, resource="memory").replicas == 6       # both count: 300 % x 2
    with pytest.raises(MetricsError, match="missing request for memory in pod a"):
        calculate(2, 50, [PodInfo("a", None, True, 50)], resource="memory")
