"""Which nodes are scraped and how a kubelet's /metrics/resource reply becomes readings."""
import pytest

from labkube.metrics.scrape import decode, node_target
from labkube.metrics.store import Point

REPLY = """# HELP container_cpu_usage_seconds_total x
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="web",namespace="default",pod="web-1"} 2.5 1700000000500
container_memory_working_set_bytes{container="web",namespace="default",pod="web-1"} 4096 1700000000500
container_start_time_seconds{container="web",namespace="default",pod="web-1"} 1699999999 1700000000500
container_cpu_usage_seconds_total{container="half",namespace="default",pod="web-1"} 1 1700000000500
node_cpu_usage_seconds_total 100 1700000000000
node_memory_working_set_bytes 8192 1700000000000
pod_cpu_usage_seconds_total{namespace="default",pod="web-1"} 2.5 1700000000500
"""


def test_decode_a_kubelet_reply():
    s = decode(REPLY, scraped_at=5.0)
    assert s.node == Point(1700000000.0, 100.0, 8192)
    assert s.containers == {("default", "web-1", "web"): Point(1700000000.5, 2.5, 4096, 1699999999.0)}


def test_decode_without_timestamps_uses_the_scrape_time():
    s = decode("node_cpu_usage_seconds_total 1\nnode_memory_working_set_bytes 2\n", scraped_at=7.0)
    assert s.node == Point(7.0, 1.0, 2) and s.containers == {}


def node(ready="True", addresses=(("InternalIP", "10.200.0.11"),), port=10250):
    st = {"conditions": [{"type": "Ready", "status": ready}],
          "addresses": [{"type": t, "address": a} for t, a in addresses]}
    if port:
        st["daemonEndpoints"] = {"kubeletEndpoint": {"Port": port}}
    return {"metadata": {"name": "w1"}, "status": st}


@pytest.mark.parametrize("n, want", [
    (node(), ("10.200.0.11", 10250)),
    (node(port=11250), ("10.200.0.11", 11250)),
    (node(port=None), ("10.200.0.11", 10250)),
    (node(ready="False"), None),
    (node(ready="Unknown"), None),
    (node(addresses=(("Hostname", "w1"),)), None),
    (node(addresses=(("InternalIP", ""),)), None),
    (node(addresses=(("InternalIP", ""), ("InternalIP", "10.200.0.12"))), ("10.200.0.12", 10250)),
])
def test_node_target(n, want):
    assert node_target(n) == want
