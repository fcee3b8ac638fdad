"""kube-proxy's config (proxy.yaml) carries the ingress controller's settings."""
import pytest

from labkube.client.component import ConfigError
from labkube.ingress.config import IngressConfig
from labkube.proxy.config import ProxyConfig


def test_kube_proxy_config_carries_the_ingress_settings():
    base = {"kubeconfig": "k", "node_name": "w1", "node_ip": "10.200.0.11"}
    assert ProxyConfig.from_dict("proxy.yaml", base).ingress is None
    assert ProxyConfig.from_dict("proxy.yaml", {**base, "ingress": True}).ingress == IngressConfig("10.200.0.11")
    with pytest.raises(ConfigError, match="proxy.yaml: ingress.http_port"):
        ProxyConfig.from_dict("proxy.yaml", {**base, "ingress": {"http_port": "80"}})
