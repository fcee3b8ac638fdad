"""kube-system/kube-dns kept by the DNS server, its config checks, and the server's zone
following the apiserver (FakeApi)."""
from __future__ import annotations

import pytest

from labkube.client.component import ConfigError
from labkube.client.fake import FakeApi
from labkube.dns import kubedns
from labkube.dns.app import ClusterDns
from labkube.dns.config import DnsConfig

CFG = DnsConfig.from_dict("dns.yaml", {"kubeconfig": "k", "bind_address": "10.200.0.10", "node_name": "m-k8s"})


async def test_service_and_endpoints_created_and_repaired():
    api = FakeApi()
    await kubedns.ensure(api, CFG)
    svc = await api.get("services", "kube-dns", "kube-system")
    assert svc["spec"]["clusterIP"] == "10.96.0.10" and "selector" not in svc["spec"]
    assert [(p["name"], p["port"], p["protocol"]) for p in svc["spec"]["ports"]] == [("dns", 53, "UDP"),
                                                                                    ("dns-tcp", 53, "TCP")]
    ep = await api.get("endpoints", "kube-dns", "kube-system")
    assert ep["subsets"][0]["addresses"] == [{"ip": "10.200.0.10", "nodeName": "m-k8s"}]
    rv = ep["metadata"]["resourceVersion"]
    await kubedns.ensure(api, CFG)          # nothing to do
    assert (await api.get("endpoints", "kube-dns", "kube-system"))["metadata"]["resourceVersion"] == rv
    ep["subsets"] = []
    await api.replace("endpoints", "kube-dns", ep, "kube-system")
    await kubedns.ensure(api, CFG)
    assert (await api.get("endpoints", "kube-dns", "kube-system"))["subsets"] == kubedns.desired_subsets(CFG)


async def test_zone_follows_the_api():
    api = FakeApi()
    dns = ClusterDns(api, CFG)
    assert dns.lookup("web.default.svc.cluster.local", "A").rcode == "SERVFAIL"   # before the caches fill
    for inf in dns.informers:
        inf.start()
    for inf in dns.informers:
        await inf.wait_synced(5)
    assert dns.lookup("web.default.svc.cluster.local", "A").rcode == "NXDOMAIN"
    await api.create("services", {"metadata": {"name": "web"}, "spec": {"clusterIP": "10.96.0.20"}}, "default")
    await api.settle()
    assert dns.lookup("web.default.svc.cluster.local", "A").answers[0][2] == "10.96.0.20"
    for inf in dns.informers:
        await inf.stop()


@pytest.mark.parametrize("raw, field", [
    ({"bind_address": "10.0.0.1"}, "kubeconfig"),
    ({"kubeconfig": "k", "bind_address": "x"}, "bind_address"),
    ({"kubeconfig": "k", "bind_address": "10.0.0.1", "port": "53"}, "port"),
    ({"kubeconfig": "k", "bind_address": "10.0.0.1", "endpoint_addresses": ["nope"]}, "endpoint_addresses"),
    ({"kubeconfig": "k", "bind_address": "10.0.0.1", "forward": "8.8.8.8"}, "forward"),
])
def test_bad_config_names_the_field(raw, field):
    with pytest.raises(ConfigError, match=f"dns.yaml: {field}:"):
        DnsConfig.from_dict("dns.yaml", raw)
