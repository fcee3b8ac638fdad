"""CPU rates from two scrapes, memory from the last, and what is forgotten (metrics-server's storage)."""
import pytest

from labkube.metrics.store import MetricsStore, NodeScrape, Point, Usage, first_usage, usage


@pytest.mark.parametrize("prev, last, want", [
    (Point(100.0, 10.0, 1), Point(115.0, 13.0, 2048), Usage(115.0, 15.0, 200_000_000, 2048)),     # 0.2 cores
    (Point(100.0, 10.0, 1), Point(110.0, 10.0, 5), Usage(110.0, 10.0, 0, 5)),                      # idle
    (Point(0.0, 0.0, 0), Point(0.5, 0.4, 0), Usage(0.5, 0.5, 800_000_000, 0)),
    (None, Point(110.0, 1.0, 5), None),                                                           # one reading
    (Point(110.0, 1.0, 5), Point(110.0, 2.0, 5), None),                                           # same instant
    (Point(100.0, 50.0, 5), Point(110.0, 2.0, 5), None),                                          # counter reset
    (Point(100.0, 1.0, 5, start_time=1.0), Point(110.0, 2.0, 5, start_time=2.0), None),           # restarted
])
def test_usage_between_two_readings(prev, last, want):
    assert usage(prev, last) == want


@pytest.mark.parametrize("last, want", [
    (Point(110.0, 5.0, 7, start_time=100.0), Usage(110.0, 10.0, 500_000_000, 7)),
    (Point(110.0, 5.0, 7, start_time=0.0), None),          # start unknown (adopted container)
    (Point(110.0, 5.0, 7, start_time=120.0), None),        # clocks disagree
])
def test_first_usage_counts_from_the_container_start(last, want):
    assert first_usage(last) == want


def test_a_new_container_is_measured_from_its_start():
    st = MetricsStore()
    st.store({"w1": NodeScrape(None, {("d", "p", "c"): Point(20.0, 3.0, 10, start_time=10.0)})})
    assert st.pods()[("d", "p")]["c"] == Usage(20.0, 10.0, 300_000_000, 10)


def scrape(t, node_cpu, containers):
    return NodeScrape(Point(t, node_cpu, 1000), {k: Point(t, cpu, 10) for k, cpu in containers.items()})


def test_rates_need_two_scrapes_and_pods_need_every_container():
    st = MetricsStore()
    st.store({"w1": scrape(0, 0, {("default", "web", "a"): 0.0, ("default", "web", "b"): 0.0})})
    assert st.nodes() == {} and st.pods() == {}
    st.store({"w1": scrape(10, 5, {("default", "web", "a"): 5.0, ("default", "web", "b"): 1.0,
                                   ("default", "db", "c"): 0.0})})
    assert st.nodes()["w1"].cpu_nanocores == 500_000_000
    pods = st.pods()
    assert set(pods) == {("default", "web")}          # db has one reading only
    assert pods[("default", "web")]["a"].cpu_nanocores == 500_000_000
    assert pods[("default", "web")]["b"].cpu_nanocores == 100_000_000


def test_only_the_latest_scrape_is_kept():
    st = MetricsStore()
    st.store({"w1": scrape(0, 0, {("d", "p", "c"): 0.0}), "w2": scrape(0, 0, {})})
    st.store({"w1": scrape(10, 1, {("d", "p", "c"): 1.0}), "w2": scrape(10, 2, {})})
    assert set(st.nodes()) == {"w1", "w2"}
    st.store({"w1": scrape(20, 2, {})})                # w2 failed, the pod is gone
    assert set(st.nodes()) == {"w1"} and st.pods() == {}
    assert st.nodes()["w1"].window == 10.0
