"""The Proxier on the FakeApi with a recording backend: first sync after the caches fill,
a re-sync on every endpoint change, config validation."""
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


CFG = ProxyConfig(kubeconfig="k", node_name="w1", node_ip="10.200.0.11", sync_period=3600, min_sync_period=0)


async def _next(backend: Backend) -> str:
    await asyncio.wait_for(backend.applied.wait(), 5)
    backend.applied.clear()
    return backend.restored[-1]


async def test_rules_follow_endpoints():
    api, backend = FakeApi(), Backend()
    await api.create("services", {"metadata": {"name": "web"}, "spec": {
        "clusterIP": "10.96.0.20", "ports": [{"port": 80, "protocol": "TCP"}]}}, "default")
    proxier = Proxier(api, CFG, backend)
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


@pytest.mark.parametrize("raw, field", [
    ({"node_name": "w1", "node_ip": "10.200.0.11"}, "kubeconfig"),
    ({"kubeconfig": "k", "node_name": "w1", "node_ip": "nope"}, "node_ip"),
    ({"kubeconfig": "k", "node_name": "w1", "node_ip": "10.0.0.1", "sync_period": "x"}, "sync_period"),
    ({"kubeconfig": "k", "node_name": "w1", "node_ip": "10.0.0.1", "cluster_cidr": "10.0/8x"}, "cluster_cidr"),
    ({"kubeconfig": "k", "node_name": "w1", "node_ip": "10.0.0.1", "bogus": 1}, "bogus"),
])
def test_bad_config_names_the_field(raw, field):
    with pytest.raises(ConfigError, match=f"proxy.yaml: {field}:"):
        ProxyConfig.from_dict("proxy.yaml", raw)


def test_config_defaults():
    cfg = ProxyConfig.from_dict("p", {"kubeconfig": "k", "node_name": "w1", "node_ip": "10.0.0.1"})
    assert cfg.masq_mark == "0x4000" and cfg.service_cidr == "10.96.0.0/12"
