"""The ingress controller's settings: the `ingress` key of kube-proxy's config (proxy.yaml).

    ingress:                  # absent or false: no ingress controller on this node; true: defaults
      bind_address: ""        # default: the node's lab address (node_ip)
      http_port: 80
      https_port: 443         # 0: no HTTPS listener
      read_timeout: 60        # seconds a pod may stay silent before the client gets 504
"""
from __future__ import annotations

from dataclasses import dataclass, fields

from labkube.client.component import ConfigError, check_settings
from labkube.ipsetting import check_ip_address


@dataclass
class IngressConfig:
    bind_address: str = ""
    http_port: int = 80
    https_port: int = 443
    read_timeout: float = 60.0

    @classmethod
    def from_value(cls, path: str, value, node_ip: str) -> "IngressConfig | None":
        """None when the controller is off; a one-line ConfigError naming the key when bad."""
        if value is None or value is False:
            return None
        if value is True:
            value = {}
        if not isinstance(value, dict):
            raise ConfigError(f"{path}: ingress: must be true, false or a mapping of settings")
        check_settings(f"{path}: ingress", value, (f.name for f in fields(cls)))
        cfg = cls(**{k: v for k, v in value.items() if v is not None})
        cfg.bind_address = cfg.bind_address or node_ip
        check_ip_address(path, "ingress.bind_address", cfg.bind_address)
        for key in ("http_port", "https_port"):
            v = getattr(cfg, key)
            if not isinstance(v, int) or isinstance(v, bool) or not (0 <= v < 65536) or (key == "http_port" and v == 0):
                raise ConfigError(f"{path}: ingress.{key}: must be a port number")
        if not isinstance(cfg.read_timeout, (int, float)) or isinstance(cfg.read_timeout, bool) or cfg.read_timeout <= 0:
            raise ConfigError(f"{path}: ingress.read_timeout: must be a positive number of seconds")
        return cfg
