"""The Proxier on the FakeApi with a recording backend: first sync after the caches fill,
a re-sync on every endpoint change, LoadBalancer addresses answered by the elected node,
config validation."""
from __future__ import annotations

import asyncio

import pytest

from labkube.client.component import ConfigError
from labkube.client.fake import FakeApi
from labkube.proxy.config import ProxyConfig
from labkube.proxy.proxier import Proxier


class Backend:
    """Stands in for labkube.proxy.iptables: remembers what was restored and routed."""

    def __init__(self):
        self.restored: list[str] = []
        self.routes: list[tuple[str, str]] = []
        self.applied = asyncio.Event()

    async def save(self, binary):
        return ""

    async def restore(self, text, binary):
        self.restored.append(text)
        self.applied.set()

    async def device_of(self, ip):
        return "eth0"

    async def ensure_route(self, cidr, dev):
        self.routes.append((cidr, dev))


class LbHost:
    """Stands in for announce.IpAddrHost: the node's lab interface and its `:lb` addresses."""

    def __init__(self):
        self.addresses: set[str] = set()
        self.changed = asyncio.Event()

    async def subnet(self, dev):
        import ipaddress
        return ipaddress.IPv4Network("10.200.0.0/24")

    async def announced(self, dev):
        return set(self.addresses)

    async def add(self, dev, ip):
        self.addresses.add(ip)
        self.changed.set()

    async def remove(self, dev, ip):
        self.addresses.discard(ip)
        self.changed.set()


CFG = ProxyConfig(kubeconfig="k", node_name="w1", node_ip="10.200.0.11", sync_period=3600, min_sync_period=0)


async def _next(backend: Backend) -> str:
    await asyncio.wait_for(backend.applied.wait(), 5)
    backend.applied.clear()
    return backend.restored[-1]


async def test_rules_follow_endpoints():
    api, backend = FakeApi(), Backend()
    await api.create("services", {"metadata": {"name": "web"}, "spec": {
        "clusterIP": "10.96.0.20", "ports": [{"port": 80, "protocol": "TCP"}]}}, "default")
    proxier = Proxier(api, CFG, backend, LbHost())
    task = asyncio.create_task(proxier.run())
    try:
        text = await _next(backend)
        assert "default/web: has no endpoints" in text and backend.routes == [("10.96.0.0/12", "eth0")]
        await api.create("endpoints", {"metadata": {"name": "web"}, "subsets": [
            {"addresses": [{"ip": "10.244.2.3"}], "ports": [{"port": 80, "protocol": "TCP"}]}]}, "default")
        text = await _next(backend)
        assert "--to-destination 10.244.2.3:80" in text and "has no endpoints" not in text
        ep = await api.get("endpoints", "web", "default")
        ep["subsets"][0]["addresses"] = [{"ip": "10.244.1.9"}]
        await api.replace("endpoints", "web", ep, "default")
        text = await _next(backend)
        assert "10.244.1.9:80" in text and "10.244.2.3" not in text
        await api.delete("services", "web", "default")
        text = await _next(backend)
        assert "default/web" not in text
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def node(name, ready=True, labels=None):
    return {"metadata": {"name": name, "labels": labels or {}},
            "status": {"conditions": [{"type": "Ready", "status": "True" if ready else "False"}]}}


async def test_the_elected_node_answers_for_load_balancer_addresses():
    from labkube.proxy.announce import elect
    api, backend = FakeApi(), Backend()
    ips = ["10.200.0.200", "10.200.0.201", "10.200.0.202", "10.200.0.203", "192.168.7.7"]
    for i, ip in enumerate(ips):
        await api.create("services", {"metadata": {"name": f"lb{i}"}, "spec": {
            "type": "LoadBalancer", "clusterIP": f"10.96.0.{30 + i}", "ports": [{"port": 80}]},
            "status": {"loadBalancer": {"ingress": [{"ip": ip}]}}}, "default")
    for n in ("w1", "w2"):
        await api.create("nodes", node(n))
    host = LbHost()
    proxier = Proxier(api, CFG, backend, host)
    task = asyncio.create_task(proxier.run())
    try:
        await _next(backend)
        mine = {ip for ip in ips[:4] if elect(ip, ["w1", "w2"]) == "w1"}
        assert 0 < len(mine) < 4, "the hash should spread four addresses over two nodes"
        assert host.addresses == mine                   # 192.168.7.7 is outside the lab subnet: never
        w2 = await api.get("nodes", "w2")
        w2["status"]["conditions"][0]["status"] = "False"
        await api.replace("nodes", "w2", w2, subresource="status")   # w2 went away: w1 answers for all
        await asyncio.wait_for(_until(lambda: host.addresses == set(ips[:4]), host), 5)
        await api.patch("services", "lb0", {"spec": {"type": "ClusterIP"}}, "default")
        await asyncio.wait_for(_until(lambda: host.addresses == set(ips[1:4]), host), 5)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def _until(pred, host):
    while not pred():
        host.changed.clear()
        await host.changed.wait()


def test_node_heartbeats_do_not_resync():
    from labkube.proxy.proxier import node_facts
    a = node("w1")
    beat = {**a, "status": {**a["status"], "conditions": [dict(a["status"]["conditions"][0],
                                                               lastHeartbeatTime="2026-12-01T17:00:00Z")]}}
    assert node_facts(a) == node_facts(beat)
    assert node_facts(a) != node_facts(node("w1", ready=False))
    assert node_facts(a) != node_facts(node("w1", labels={"x": "y"}))


def test_assignments_exclude_labelled_nodes_and_follow_local_endpoints():
    from labkube.proxy.announce import EXCLUDE_LABEL, assignments
    svc = {"metadata": {"name": "web", "namespace": "default"},
           "spec": {"type": "LoadBalancer", "externalTrafficPolicy": "Local"},
           "status": {"loadBalancer": {"ingress": [{"ip": "10.200.0.210"}]}}}
    ep = {"metadata": {"name": "web", "namespace": "default"},
          "subsets": [{"addresses": [{"ip": "10.244.2.5", "nodeName": "w2"}],
                       "notReadyAddresses": [{"ip": "10.244.1.5", "nodeName": "w1"}]}]}
    nodes = [node("m"), node("w1"), node("w2"), node("w3", labels={EXCLUDE_LABEL: ""})]
    assert assignments([svc], [ep], nodes) == {"10.200.0.210": "w2"}
    assert assignments([svc], [], nodes) == {}                   # no ready endpoint anywhere: no node
    cluster = dict(svc, spec={"type": "LoadBalancer"})
    assert assignments([cluster], [], nodes)["10.200.0.210"] in {"m", "w1", "w2"}


def test_gratuitous_arp_frame():
    from labkube.proxy.announce import garp_frame
    f = garp_frame("02:00:0a:c8:00:0b", "10.200.0.200")
    assert len(f) == 42 and f[:6] == b"\xff" * 6 and f[12:14] == b"\x08\x06"
    assert f[20:22] == b"\x00\x01"                               # request
    assert f[28:32] == f[38:42] == bytes([10, 200, 0, 200])       # sender = target address


@pytest.mark.parametrize("raw, field", [
    ({"node_name": "w1", "node_ip": "10.200.0.11"}, "kubeconfig"),
    ({"kubeconfig": "k", "node_name": "w1", "node_ip": "nope"}, "node_ip"),
    ({"kubeconfig": "k", "node_name": "w1", "node_ip": "10.0.0.1", "sync_period": "x"}, "sync_period"),
    ({"kubeconfig": "k", "node_name": "w1", "node_ip": "10.0.0.1", "cluster_cidr": "10.0/8x"}, "cluster_cidr"),
    ({"kubeconfig": "k", "node_name": "w1", "node_ip": "10.0.0.1", "bogus": 1}, "bogus"),
    ({"kubeconfig": "k", "node_name": "w1", "node_ip": "10.0.0.1", "announce_load_balancers": "yes"},
     "announce_load_balancers"),
    ({"kubeconfig": "k", "node_name": "w1", "node_ip": "10.0.0.1", "network_policy": "on"}, "network_policy"),
])
def test_bad_config_names_the_field(raw, field):
    with pytest.raises(ConfigError, match=f"proxy.yaml: {field}:"):
        ProxyConfig.from_dict("proxy.yaml", raw)


def test_config_defaults():
    cfg = ProxyConfig.from_dict("p", {"kubeconfig": "k", "node_name": "w1", "node_ip": "10.0.0.1"})
    assert cfg.masq_mark == "0x4000" and cfg.service_cidr == "10.96.0.0/12"
    assert cfg.network_policy is False                  # NetworkPolicy enforcement is switched on by the role
