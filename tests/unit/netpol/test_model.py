"""Which traffic the policies allow to and from each pod of node w1 (labkube/netpol/model.py):
policies in, per isolated pod its ingress and egress Allow entries out."""
from __future__ import annotations

import pytest

from labkube.netpol.model import ANYWHERE, Allow, block_cidrs, node_rules, policy_types

from .fixtures import NAMESPACES, PODS, policy

WEB = {"matchLabels": {"app": "web"}}
CLIENTS = {"matchLabels": {"role": "client"}}


def rules_of(policies, name="web"):
    got = {r.name: r for r in node_rules(policies, PODS, NAMESPACES, "w1")}
    return got.get(name)


CASES = [
    # (case, policies, pod on w1, expected ingress, expected egress)
    ("no policy: not isolated", [], "web", None, None),
    ("default deny ingress isolates every pod of the namespace",
     [policy("deny", policyTypes=["Ingress"])], "client", (), None),
    ("a policy of another namespace does not isolate",
     [policy("deny", namespace="prod", policyTypes=["Ingress"])], "web", None, None),
    ("podSelector peers: pods of the policy's namespace only, running and not on the host network",
     [policy("allow", selector=WEB, ingress=[{"from": [{"podSelector": CLIENTS}]}])], "web",
     (Allow("10.244.1.11/32"),), None),
    ("namespaceSelector alone: every pod of the selected namespaces",
     [policy("allow", selector=WEB, ingress=[{"from": [{"namespaceSelector": {"matchLabels": {"team": "blue"}}}]}])],
     "web", (Allow("10.244.2.20/32"), Allow("10.244.1.21/32")), None),
    ("namespaceSelector and podSelector in one peer: both must match",
     [policy("allow", selector=WEB, ingress=[{"from": [{"namespaceSelector": {}, "podSelector": CLIENTS}]}])],
     "web", (Allow("10.244.1.11/32"), Allow("10.244.1.21/32")), None),
    ("the automatic kubernetes.io/metadata.name label selects a namespace by name",
     [policy("allow", selector=WEB, ingress=[{"from": [{"namespaceSelector": {
         "matchLabels": {"kubernetes.io/metadata.name": "prod"}}, "podSelector": CLIENTS}]}])],
     "web", (Allow("10.244.1.21/32"),), None),
    ("ports: numbers, a range, UDP, and a named port of the selected pod",
     [policy("allow", selector=WEB, ingress=[{"ports": [{"port": 80}, {"port": 8000, "endPort": 8100},
                                                       {"protocol": "UDP", "port": 53}, {"port": "http"}]}])],
     "web", (Allow(ANYWHERE, "tcp", 80), Allow(ANYWHERE, "tcp", 8000, 8100), Allow(ANYWHERE, "udp", 53),
             Allow(ANYWHERE, "tcp", 8080)), None),
    ("a named port the pod does not have allows nothing",
     [policy("allow", ingress=[{"ports": [{"port": "http"}]}])], "client", (), None),
    ("ipBlock with except",
     [policy("allow", selector=WEB, ingress=[{"from": [{"ipBlock": {"cidr": "10.244.0.0/22",
                                                                     "except": ["10.244.2.0/24"]}}]}])],
     "web", (Allow("10.244.0.0/23"), Allow("10.244.3.0/24")), None),
    ("an empty rule allows everything",
     [policy("allow", selector=WEB, ingress=[{}])], "web", (Allow(),), None),
    ("policies add up",
     [policy("deny", policyTypes=["Ingress"]),
      policy("allow", selector=WEB, ingress=[{"from": [{"podSelector": CLIENTS}], "ports": [{"port": 8080}]}])],
     "web", (Allow("10.244.1.11/32", "tcp", 8080),), None),
    ("egress section alone makes the policy Ingress and Egress",
     [policy("dns", egress=[{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}])],
     "client", (), (Allow(ANYWHERE, "udp", 53), Allow(ANYWHERE, "tcp", 53))),
    ("policyTypes Egress only: ingress stays open",
     [policy("deny-out", policyTypes=["Egress"])], "client", None, ()),
    ("egress to pods by label, named port resolved in each destination pod",
     [policy("out", selector=CLIENTS, policyTypes=["Egress"],
             egress=[{"to": [{"podSelector": WEB}], "ports": [{"port": "http"}]}])],
     "client", None, (Allow("10.244.1.10/32", "tcp", 8080),)),
    ("egress to an ipBlock with a named port: the pods inside it that name the port",
     [policy("out", selector=CLIENTS, policyTypes=["Egress"],
             egress=[{"to": [{"ipBlock": {"cidr": "10.244.0.0/16"}}], "ports": [{"port": "http"}]}])],
     "client", None, (Allow("10.244.1.10/32", "tcp", 8080), Allow("10.244.2.20/32", "tcp", 8080))),
]


@pytest.mark.parametrize("case,policies,name,ingress,egress", CASES, ids=[c[0] for c in CASES])
def test_allowed_traffic(case, policies, name, ingress, egress):
    got = rules_of(policies, name)
    if ingress is None and egress is None:
        assert got is None
        return
    assert (got.ingress, got.egress) == (ingress, egress)


def test_only_this_nodes_running_pod_network_pods_get_rules():
    got = node_rules([policy("deny", policyTypes=["Ingress"])], PODS, NAMESPACES, "w1")
    assert [(r.name, r.ip, r.policies) for r in got] == [("client", "10.244.1.11", ("default/deny",)),
                                                          ("web", "10.244.1.10", ("default/deny",))]


@pytest.mark.parametrize("spec,types", [
    ({}, ["Ingress"]), ({"egress": []}, ["Ingress", "Egress"]), ({"policyTypes": ["Egress"]}, ["Egress"]),
])
def test_policy_types_default(spec, types):
    assert policy_types({"spec": spec}) == types


@pytest.mark.parametrize("block,cidrs", [
    ({"cidr": "10.0.0.0/24"}, ["10.0.0.0/24"]),
    ({"cidr": "10.0.0.0/24", "except": ["10.0.0.0/24"]}, []),
    ({"cidr": "10.0.0.0/24", "except": ["192.168.0.0/16"]}, ["10.0.0.0/24"]),
    ({"cidr": "10.0.0.0/30", "except": ["10.0.0.1/32", "10.0.0.3/32"]}, ["10.0.0.0/32", "10.0.0.2/32"]),
    ({"cidr": "not-a-cidr"}, []),
    ({"cidr": "fd00::/64"}, []),
])
def test_ip_block_minus_its_exceptions(block, cidrs):
    assert block_cidrs(block) == cidrs
