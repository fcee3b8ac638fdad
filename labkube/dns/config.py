"""The DNS server's configuration file (/etc/labkube/dns.yaml).

    kubeconfig: /etc/labkube/dns.kubeconfig
    bind_address: 10.200.0.10        # the master's node address (also answers on 127.0.0.1)
    port: 53
    cluster_domain: cluster.local
    ttl: 5
    service_ip: 10.96.0.10           # ClusterIP of kube-system/kube-dns kept by this server ("" = leave alone)
    endpoint_addresses: [10.200.0.10]  # where that Service sends queries (every DNS server)
    node_name: m-k8s                 # for the Endpoints' nodeName
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from labkube.client.component import ConfigError, check_settings
from labkube.ipsetting import check_ip_address


@dataclass
class DnsConfig:
    kubeconfig: str
    bind_address: str
    port: int = 53
    cluster_domain: str = "cluster.local"
    ttl: int = 5
    service_ip: str = "10.96.0.10"
    endpoint_addresses: list = field(default_factory=list)
    node_name: str = ""
    also_loopback: bool = True

    @classmethod
    def from_dict(cls, path: str, d: dict) -> "DnsConfig":
        check_settings(path, d, (f.name for f in fields(cls)), ("kubeconfig", "bind_address"))
        for key in ("port", "ttl"):
            if key in d and (not isinstance(d[key], int) or isinstance(d[key], bool) or not 0 <= d[key] < 65536):
                raise ConfigError(f"{path}: {key}: must be an integer 0-65535")
        addrs = d.get("endpoint_addresses")
        if addrs is not None and not isinstance(addrs, list):
            raise ConfigError(f"{path}: endpoint_addresses: must be a list of IP addresses")
        for key, val in [("bind_address", d["bind_address"]), ("service_ip", d.get("service_ip") or None)] + \
                [("endpoint_addresses", a) for a in addrs or []]:
            if val is not None:
                check_ip_address(path, key, val)
        cfg = cls(**{k: v for k, v in d.items() if v is not None})
        if not cfg.endpoint_addresses:
            cfg.endpoint_addresses = [cfg.bind_address]
        cfg.cluster_domain = cfg.cluster_domain.strip(".").lower()
        return cfg
