"""From a Service backend to its ready pod addresses, and round-robin among them."""
from __future__ import annotations

import pytest

from labkube.ingress.backends import RoundRobin, endpoints_of
from labkube.ingress.routes import Backend

SVC = {"metadata": {"name": "web", "namespace": "default"}, "spec": {"ports": [
    {"name": "http", "port": 8080, "targetPort": 80, "protocol": "TCP"},
    {"name": "dns", "port": 53, "protocol": "UDP"},
    {"name": "admin", "port": 9000, "targetPort": 9001}]}}
EPS = {"metadata": {"name": "web", "namespace": "default"}, "subsets": [
    {"addresses": [{"ip": "10.244.1.5"}, {"ip": "10.244.2.7"}], "notReadyAddresses": [{"ip": "10.244.1.9"}],
     "ports": [{"name": "http", "port": 80}, {"name": "admin", "port": 9001}, {"name": "dns", "port": 53, "protocol": "UDP"}]}]}


@pytest.mark.parametrize("port, service, endpoints, want", [
    (8080, SVC, EPS, [("10.244.1.5", 80), ("10.244.2.7", 80)]),          # by number -> targetPort
    ("admin", SVC, EPS, [("10.244.1.5", 9001), ("10.244.2.7", 9001)]),    # by name
    (53, SVC, EPS, []),                                                   # UDP is no HTTP backend
    (8081, SVC, EPS, []),                                                 # no such port
    (8080, None, EPS, []),                                                # no such Service
    (8080, SVC, None, []),                                                # no Endpoints yet
    (8080, {**SVC, "spec": {**SVC["spec"], "type": "ExternalName"}}, EPS, []),
])
def test_endpoints_of(port, service, endpoints, want):
    assert endpoints_of(Backend("default", "web", port), service, endpoints) == want


def test_round_robin_takes_each_address_in_turn_per_backend():
    rr, a, b = RoundRobin(), Backend("default", "a", 80), Backend("default", "b", 80)
    addrs = [("10.0.0.1", 80), ("10.0.0.2", 80)]
    assert [rr.pick(a, addrs) for _ in range(3)] == [addrs[0], addrs[1], addrs[0]]
    assert rr.pick(b, addrs) == addrs[0]
    assert rr.pick(a, []) is None
