"""labkube.ipsetting.check_ip_address, and the components' configs that use it: a bad IP address
setting is one line naming the file and the key."""
from __future__ import annotations

import pytest

from labkube.client.component import ConfigError
from labkube.dns.config import DnsConfig
from labkube.ipsetting import check_ip_address
from labkube.metrics.config import REQUIRED as METRICS_REQUIRED
from labkube.metrics.config import MetricsConfig
from labkube.proxy.config import ProxyConfig


@pytest.mark.parametrize("value", ["10.200.0.10", "127.0.0.1", "0.0.0.0", "::1", "fd00::10"])
def test_addresses_pass(value):
    check_ip_address("c.yaml", "bind_address", value)


@pytest.mark.parametrize("value, shown", [
    ("node", "'node'"),
    ("10.200.0.300", "'10.200.0.300'"),
    ("10.200.0.0/24", "'10.200.0.0/24'"),     # a network is not an address
    ("", "''"),
    (None, "None"),
    (167772161, "167772161"),                 # a YAML number, which ipaddress would read as 10.0.0.1
    (["10.0.0.1"], "['10.0.0.1']"),
])
def test_anything_else_names_the_file_and_key(value, shown):
    with pytest.raises(ConfigError) as e:
        check_ip_address("c.yaml", "bind_address", value)
    assert str(e.value) == f"c.yaml: bind_address: {shown} is not an IP address"


# the smallest good configs: every required setting, with good addresses
METRICS = {**dict.fromkeys(METRICS_REQUIRED, "f"), "bind_address": "10.0.0.1"}
DNS = {"kubeconfig": "k", "bind_address": "10.0.0.1"}
PROXY = {"kubeconfig": "k", "node_name": "w1", "node_ip": "10.0.0.2"}


@pytest.mark.parametrize("cls, raw, message", [
    (DnsConfig, dict(DNS, bind_address="m-k8s"), "bind_address: 'm-k8s'"),
    (DnsConfig, dict(DNS, service_ip="10.96.0"), "service_ip: '10.96.0'"),
    (DnsConfig, dict(DNS, endpoint_addresses=["10.0.0.1", "x"]), "endpoint_addresses: 'x'"),
    (MetricsConfig, dict(METRICS, bind_address="m-k8s"), "bind_address: 'm-k8s'"),
    (MetricsConfig, dict(METRICS, endpoint_addresses=["10.0.0.1", "x"]), "endpoint_addresses: 'x'"),
    (ProxyConfig, dict(PROXY, node_ip="w1"), "node_ip: 'w1'"),
    (ProxyConfig, dict(PROXY, ingress={"bind_address": "w1"}), "ingress.bind_address: 'w1'"),
])
def test_each_component_names_its_key(cls, raw, message):
    with pytest.raises(ConfigError) as e:
        cls.from_dict("x.yaml", raw)
    assert str(e.value) == f"x.yaml: {message} is not an IP address"


@pytest.mark.parametrize("cls, raw", [
    (DnsConfig, dict(DNS, service_ip="", endpoint_addresses=["10.0.0.1", "fd00::1"])),  # "" = leave alone
    (MetricsConfig, dict(METRICS, endpoint_addresses=["10.0.0.1"])),
    (ProxyConfig, dict(PROXY, ingress={"bind_address": "10.0.0.3"})),
    (ProxyConfig, dict(PROXY, ingress=True)),                  # the ingress binds node_ip
])
def test_good_addresses_are_taken(cls, raw):
    assert cls.from_dict("x.yaml", raw)
