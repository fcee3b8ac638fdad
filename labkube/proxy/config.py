"""The kube-proxy configuration file (/etc/labkube/proxy.yaml).

    kubeconfig: /etc/labkube/proxy.kubeconfig
    node_name: w1-k8s
    node_ip: 10.200.0.11
    cluster_cidr: 10.244.0.0/16      # pod range: traffic from elsewhere to a ClusterIP is masqueraded
    service_cidr: 10.96.0.0/12       # routed on the node so its own processes reach ClusterIPs
    sync_period: 15                  # seconds between full resyncs (they repair hand-made damage)
    min_sync_period: 0.1             # changes arriving closer together are applied in one go
    announce_load_balancers: true    # answer on the lab network for LoadBalancer addresses (announce.py)
    ingress: true                    # also run the ingress controller here (labkube/ingress/config.py)
    network_policy: true             # also enforce NetworkPolicies on this node (labkube/netpol)
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, fields

from labkube.client.component import ConfigError, check_settings
from labkube.ingress.config import IngressConfig
from labkube.ipsetting import check_ip_address


@dataclass
class ProxyConfig:
    kubeconfig: str
    node_name: str
    node_ip: str
    cluster_cidr: str = "10.244.0.0/16"
    service_cidr: str = "10.96.0.0/12"
    service_route_dev: str = ""          # default: the interface holding node_ip
    sync_period: float = 15.0
    min_sync_period: float = 0.1
    iptables_save: str = "iptables-save"
    iptables_restore: str = "iptables-restore"
    masquerade_bit: int = 14
    announce_load_balancers: bool = True
    network_policy: bool = False
    ingress: IngressConfig | None = None   # None: no ingress controller in this process

    @property
    def masq_mark(self) -> str:
        return hex(1 << self.masquerade_bit)

    @classmethod
    def from_dict(cls, path: str, d: dict) -> "ProxyConfig":
        check_settings(path, d, (f.name for f in fields(cls)), ("kubeconfig", "node_name", "node_ip"))
        check_ip_address(path, "node_ip", d["node_ip"])
        for key in ("cluster_cidr", "service_cidr"):
            if d.get(key):
                try:
                    ipaddress.ip_network(d[key])
                except ValueError:
                    raise ConfigError(f"{path}: {key}: {d[key]!r} is not a CIDR") from None
        for key in ("sync_period", "min_sync_period"):
            if key in d and (not isinstance(d[key], (int, float)) or isinstance(d[key], bool) or d[key] < 0):
                raise ConfigError(f"{path}: {key}: must be a non-negative number of seconds")
        for key in ("announce_load_balancers", "network_policy"):
            if key in d and not isinstance(d[key], bool):
                raise ConfigError(f"{path}: {key}: must be true or false")
        if "masquerade_bit" in d and (not isinstance(d["masquerade_bit"], int) or not 0 <= d["masquerade_bit"] <= 31):
            raise ConfigError(f"{path}: masquerade_bit: must be an integer 0-31")
        d = {**d, "ingress": IngressConfig.from_value(path, d.get("ingress"), d["node_ip"])}
        return cls(**{k: v for k, v in d.items() if v is not None})
