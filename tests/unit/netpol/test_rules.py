"""Golden-file tests of the rendered policy chains (labkube/netpol/rules.py): policies in,
`iptables-restore` text for node w1 out. Each case compares with golden/<case>.rules; run
with LABKUBE_UPDATE_GOLDEN=1 to rewrite the files after an intended change (then read the diff)."""
from __future__ import annotations

import os
import pathlib

import pytest

from labkube.netpol.model import node_rules
from labkube.netpol.rules import cleanup, pod_chain, render
from labkube.proxy.chains import Snapshot

from .fixtures import NAMESPACES, PODS, policy

GOLDEN = pathlib.Path(__file__).parent / "golden"
WEB = {"matchLabels": {"app": "web"}}
CLIENTS = {"matchLabels": {"role": "client"}}

CASES = {
    "no_policies": [],
    "default_deny_ingress": [policy("default-deny", policyTypes=["Ingress"])],
    "allow_from_label_on_a_port": [
        policy("default-deny", policyTypes=["Ingress"]),
        policy("web-from-clients", selector=WEB,
               ingress=[{"from": [{"podSelector": CLIENTS}], "ports": [{"port": 8080}]}])],
    "allow_from_namespace_and_ip_block": [
        policy("web", selector=WEB, ingress=[{"from": [
            {"namespaceSelector": {"matchLabels": {"team": "blue"}}},
            {"ipBlock": {"cidr": "10.200.0.0/24", "except": ["10.200.0.128/25"]}}]}])],
    "egress_deny_but_dns": [
        policy("egress-dns-only", policyTypes=["Egress"],
               egress=[{"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}])],
    "ingress_and_egress_port_range": [
        policy("both", selector=WEB, policyTypes=["Ingress", "Egress"],
               ingress=[{"ports": [{"port": 8000, "endPort": 8100}]}],
               egress=[{"to": [{"podSelector": CLIENTS}]}])],
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case):
    got = render(node_rules(CASES[case], PODS, NAMESPACES, "w1"))
    path = GOLDEN / f"{case}.rules"
    if os.environ.get("LABKUBE_UPDATE_GOLDEN"):
        path.write_text(got)
    assert got == path.read_text()


SAVED = """*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:KUBE-NP-FORWARD - [0:0]
:KUBE-NP-INPUT - [0:0]
:{web} - [0:0]
:{gone} - [0:0]
-A INPUT -m comment --comment "kubernetes network policy" -j KUBE-NP-INPUT
-A FORWARD -m comment --comment "kubernetes network policy" -j KUBE-NP-FORWARD
-A KUBE-NP-FORWARD -d 10.244.1.10/32 -j {web}
-A KUBE-NP-FORWARD -d 10.244.1.99/32 -j {gone}
COMMIT
""".format(web=pod_chain("IN", "default/web"), gone=pod_chain("IN", "default/gone"))


def test_a_second_sync_keeps_the_hooks_and_deletes_the_chains_of_pods_gone():
    got = render(node_rules([policy("web", selector=WEB)], PODS, NAMESPACES, "w1"), Snapshot(SAVED))
    assert "-I FORWARD" not in got and "-I INPUT" not in got
    gone = pod_chain("IN", "default/gone")
    assert got.splitlines()[-2:] == [f"-X {gone}", "COMMIT"]
    assert f":{gone} - [0:0]" in got                       # emptied first, so nothing refers to it


def test_deleting_every_policy_leaves_empty_hook_chains():
    got = render([], Snapshot(SAVED))
    assert [line for line in got.splitlines() if line.startswith("-A")] == []
    assert f"-X {pod_chain('IN', 'default/web')}" in got


def test_switching_enforcement_off_removes_hooks_and_chains():
    first, second = sorted([pod_chain("IN", "default/web"), pod_chain("IN", "default/gone")])
    assert cleanup(Snapshot(SAVED)).splitlines() == [
        "*filter", ":KUBE-NP-FORWARD - [0:0]", ":KUBE-NP-INPUT - [0:0]", f":{first} - [0:0]", f":{second} - [0:0]",
        '-D FORWARD -m comment --comment "kubernetes network policy" -j KUBE-NP-FORWARD',
        '-D INPUT -m comment --comment "kubernetes network policy" -j KUBE-NP-INPUT',
        "-X KUBE-NP-FORWARD", "-X KUBE-NP-INPUT", f"-X {first}", f"-X {second}", "COMMIT"]
    assert cleanup(Snapshot("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n")) == ""
