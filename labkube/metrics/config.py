"""The metrics-server's configuration file (/etc/labkube/metrics.yaml, docs/contracts.md).

`MetricsConfig.from_dict(path, raw)` checks it and raises ConfigError with one line naming
the file and the key.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from labkube.client.component import ConfigError, check_settings
from labkube.ipsetting import check_ip_address

REQUIRED = ("kubeconfig", "bind_address", "tls_cert_file", "tls_private_key_file", "client_ca_file",
            "kubelet_client_certificate", "kubelet_client_key", "kubelet_certificate_authority")


@dataclass
class MetricsConfig:
    kubeconfig: str
    bind_address: str
    tls_cert_file: str
    tls_private_key_file: str
    client_ca_file: str
    kubelet_client_certificate: str
    kubelet_client_key: str
    kubelet_certificate_authority: str
    secure_port: int = 4443
    metric_resolution: float = 15.0          # seconds between scrapes (upstream --metric-resolution)
    scrape_timeout: float = 10.0
    # the front proxy: the client certificate CNs whose X-Remote-User/X-Remote-Group are trusted
    requestheader_allowed_names: list = field(default_factory=lambda: ["kube-apiserver-kubelet-client"])
    # self-registration: Service + Endpoints kube-system/metrics-server and the APIService
    endpoint_addresses: list = field(default_factory=list)
    register: bool = True

    @classmethod
    def from_dict(cls, path: str, raw: dict) -> "MetricsConfig":
        check_settings(path, raw, (f.name for f in fields(cls)), REQUIRED)
        for k in ("secure_port",):
            if k in raw and (not isinstance(raw[k], int) or isinstance(raw[k], bool) or not 0 < raw[k] < 65536):
                raise ConfigError(f"{path}: {k}: must be a port number")
        for k in ("metric_resolution", "scrape_timeout"):
            if k in raw and (not isinstance(raw[k], (int, float)) or isinstance(raw[k], bool) or raw[k] <= 0):
                raise ConfigError(f"{path}: {k}: must be a positive number of seconds")
        for k in ("requestheader_allowed_names", "endpoint_addresses"):
            if k in raw and not isinstance(raw[k], list):
                raise ConfigError(f"{path}: {k}: must be a list")
        check_ip_address(path, "bind_address", raw["bind_address"])
        for a in raw.get("endpoint_addresses", []):
            check_ip_address(path, "endpoint_addresses", a)
        return cls(**raw)
