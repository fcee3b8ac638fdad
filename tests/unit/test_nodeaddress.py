"""labkube.nodeaddress.internal_ip: the first InternalIP of a Node that has an address."""
from __future__ import annotations

import pytest

from labkube.nodeaddress import internal_ip


def node(*addresses: tuple[str, str]) -> dict:
    return {"metadata": {"name": "w1"},
            "status": {"addresses": [{"type": t, "address": a} for t, a in addresses]}}


@pytest.mark.parametrize("obj, ip", [
    (node(("InternalIP", "10.200.0.11"), ("Hostname", "w1")), "10.200.0.11"),
    (node(("Hostname", "w1"), ("InternalIP", "10.200.0.11")), "10.200.0.11"),
    (node(("ExternalIP", "192.0.2.7"), ("InternalIP", "10.200.0.11")), "10.200.0.11"),
    (node(("InternalIP", "10.200.0.11"), ("InternalIP", "10.200.0.12")), "10.200.0.11"),  # the first
    (node(("InternalIP", ""), ("InternalIP", "10.200.0.12")), "10.200.0.12"),            # one with an address
    (node(("InternalIP", "fd00::11"),), "fd00::11"),
    ({"metadata": {"name": "w1"}, "status": {"addresses": [{"type": "InternalIP"}]}}, None),
    ({"metadata": {"name": "w1"}, "status": {"addresses": [None]}}, None),
    (node(("Hostname", "w1"), ("ExternalIP", "192.0.2.7")), None),
    (node(), None),
    ({"metadata": {"name": "w1"}, "status": {}}, None),
    ({"metadata": {"name": "w1"}, "status": None}, None),
    ({"metadata": {"name": "w1"}}, None),           # a node that has never reported
])
def test_internal_ip(obj, ip):
    assert internal_ip(obj) == ip
