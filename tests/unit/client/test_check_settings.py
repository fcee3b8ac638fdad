"""check_settings: the unknown/required loop the metrics-server, DNS and kube-proxy configs share."""
import pytest

from labkube.client.component import ConfigError, check_settings
from labkube.dns.config import DnsConfig
from labkube.metrics.config import MetricsConfig
from labkube.proxy.config import ProxyConfig


@pytest.mark.parametrize("raw, required, message", [
    ({"a": 1, "typo": 2}, (), "c.yaml: typo: unknown setting (known: a, b)"),
    ({"a": 1}, ("b",), "c.yaml: b: required setting missing"),
    ({"a": 1, "b": ""}, ("b",), "c.yaml: b: required setting missing"),
    ({"zz": 1}, ("b",), "c.yaml: zz: unknown setting"),          # unknown keys are reported first
])
def test_check_settings_names_the_file_and_key(raw, required, message):
    with pytest.raises(ConfigError) as e:
        check_settings("c.yaml", raw, ["a", "b"], required)
    assert str(e.value).startswith(message)


def test_check_settings_accepts_known_and_present():
    check_settings("c.yaml", {"a": 1, "b": "x"}, iter(["a", "b"]), ("b",))


METRICS = {"kubeconfig": "k", "bind_address": "10.0.0.1", "tls_cert_file": "c", "tls_private_key_file": "k",
           "client_ca_file": "ca", "kubelet_client_certificate": "c", "kubelet_client_key": "k",
           "kubelet_certificate_authority": "ca"}
DNS = {"kubeconfig": "k", "bind_address": "10.0.0.1"}
PROXY = {"kubeconfig": "k", "node_name": "w1", "node_ip": "10.0.0.2"}


@pytest.mark.parametrize("cls, good, missing", [
    (MetricsConfig, METRICS, "kubelet_client_key"),
    (DnsConfig, DNS, "bind_address"),
    (ProxyConfig, PROXY, "node_ip"),
])
def test_component_configs_share_the_checks(cls, good, missing):
    assert cls.from_dict("x.yaml", dict(good))
    with pytest.raises(ConfigError, match=r"^x\.yaml: colour: unknown setting \(known: "):
        cls.from_dict("x.yaml", dict(good, colour="red"))
    with pytest.raises(ConfigError, match=rf"^x\.yaml: {missing}: required setting missing$"):
        cls.from_dict("x.yaml", {k: v for k, v in good.items() if k != missing})
