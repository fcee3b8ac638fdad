"""The apiserver's YAML config (docs/contracts.md) loaded into a checked dataclass."""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field

import yaml


class ConfigError(Exception):
    """A bad config file; the message is the one line printed on stderr."""


@dataclass
class ApiserverConfig:
    tls_cert_file: str
    tls_private_key_file: str
    client_ca_file: str
    storage: dict
    bind_address: str = "127.0.0.1"
    secure_port: int = 6443
    service_cluster_ip_range: str = "10.96.0.0/12"
    kubelet_client_certificate: str | None = None
    kubelet_client_key: str | None = None
    kubelet_certificate_authority: str | None = None
    watch_history: int = 10000
    extra: dict = field(default_factory=dict)

    @property
    def listen_addresses(self) -> list[str]:
        addrs = [self.bind_address]
        if self.bind_address not in ("127.0.0.1", "0.0.0.0", "::"):
            addrs.append("127.0.0.1")
        return addrs


_REQUIRED = ("tls_cert_file", "tls_private_key_file", "client_ca_file", "storage")
_KNOWN = set(ApiserverConfig.__dataclass_fields__) - {"extra"}


def load_config(path: str) -> ApiserverConfig:
    try:
        with open(path) as f:
            data = yaml.safe_load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read config: {e.strerror}") from e
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}".splitlines()[0]) from e
    return parse_config(data, path)


def parse_config(data, path: str = "<config>") -> ApiserverConfig:
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: must be a YAML mapping")
    for k in _REQUIRED:
        if not data.get(k):
            raise ConfigError(f"{path}: {k} is required")
    st = data["storage"]
    if not isinstance(st, dict) or st.get("backend", "sqlite") != "sqlite" or not st.get("path"):
        raise ConfigError(f"{path}: storage must be {{backend: sqlite, path: FILE}}")
    for k in ("tls_cert_file", "tls_private_key_file", "client_ca_file"):
        if not os.path.isfile(data[k]):
            raise ConfigError(f"{path}: {k}: no such file {data[k]}")
    try:
        ipaddress.ip_network(data.get("service_cluster_ip_range", "10.96.0.0/12"))
    except ValueError as e:
        raise ConfigError(f"{path}: service_cluster_ip_range: {e}") from e
    try:
        port = int(data.get("secure_port", 6443))
        history = int(data.get("watch_history", 10000))
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{path}: secure_port and watch_history must be integers") from e
    kwargs = {k: v for k, v in data.items() if k in _KNOWN}
    kwargs.update(secure_port=port, watch_history=history)
    return ApiserverConfig(**kwargs, extra={k: v for k, v in data.items() if k not in _KNOWN})
