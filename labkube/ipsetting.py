"""The check of an IP address setting in a component's config file, one way for the DNS server,
metrics-server, kube-proxy and the ingress controller: a one-line ConfigError naming the file and
the key, as check_settings (labkube.client.component) does for unknown and missing settings.
"""
from __future__ import annotations

import ipaddress

from labkube.client.component import ConfigError


def check_ip_address(path: str, key: str, value) -> None:
    """Raise ConfigError `<path>: <key>: <value> is not an IP address` unless value is an IPv4 or
    IPv6 address written as a string (a YAML number is refused, though ipaddress would take it)."""
    if isinstance(value, str):
        try:
            ipaddress.ip_address(value)
            return
        except ValueError:
            pass
    raise ConfigError(f"{path}: {key}: {value!r} is not an IP address")
