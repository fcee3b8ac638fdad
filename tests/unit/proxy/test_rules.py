"""Golden-file tests of the generated iptables ruleset: Services + Endpoints in, restore text out.

Each case renders for node w1 and compares with golden/<case>.rules; run with
LABKUBE_UPDATE_GOLDEN=1 to rewrite the files after an intended change (then read the diff).
"""
from __future__ import annotations

import os
import pathlib

import pytest

from labkube.proxy import chains
from labkube.proxy.model import service_ports
from labkube.proxy.rules import render

GOLDEN = pathlib.Path(__file__).parent / "golden"


def svc(name, ports, type_="ClusterIP", ip="10.96.0.20", ns="default", **spec):
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"type": type_, "clusterIP": ip, "ports": ports, **spec}}


def eps(name, addrs, ports, not_ready=(), ns="default"):
    return {"metadata": {"name": name, "namespace": ns},
            "subsets": [{"addresses": [{"ip": ip, "nodeName": node} for ip, node in addrs],
                         "notReadyAddresses": [{"ip": ip, "nodeName": node} for ip, node in not_ready],
                         "ports": ports}]}


HTTP = [{"name": "http", "port": 80, "targetPort": 8080, "protocol": "TCP"}]
HTTP_EP = [{"name": "http", "port": 8080, "protocol": "TCP"}]
TWO = [("10.244.1.5", "w1"), ("10.244.2.7", "w2")]

CASES = {
    "clusterip_two_endpoints": ([svc("web", HTTP)], [eps("web", TWO, HTTP_EP, not_ready=[("10.244.2.9", "w2")])]),
    "clusterip_three_endpoints_unnamed_port": (
        [svc("web", [{"port": 80, "targetPort": 80}])],
        [eps("web", TWO + [("10.244.1.6", "w1")], [{"port": 80, "protocol": "TCP"}])]),
    "no_endpoints_rejected": ([svc("web", [dict(HTTP[0], nodePort=30080)], "NodePort")], []),
    "nodeport_cluster": ([svc("web", [dict(HTTP[0], nodePort=30080)], "NodePort")], [eps("web", TWO, HTTP_EP)]),
    "nodeport_local": ([svc("web", [dict(HTTP[0], nodePort=30080)], "NodePort", externalTrafficPolicy="Local")],
                       [eps("web", TWO, HTTP_EP)]),
    "nodeport_local_none_here": (
        [svc("web", [dict(HTTP[0], nodePort=30080)], "NodePort", externalTrafficPolicy="Local")],
        [eps("web", [("10.244.2.7", "w2")], HTTP_EP)]),
    "internal_local": ([svc("web", HTTP, internalTrafficPolicy="Local")], [eps("web", TWO, HTTP_EP)]),
    "internal_local_none_here": ([svc("web", HTTP, internalTrafficPolicy="Local")],
                                 [eps("web", [("10.244.2.7", "w2")], HTTP_EP)]),
    "session_affinity": ([svc("web", HTTP, sessionAffinity="ClientIP",
                              sessionAffinityConfig={"clientIP": {"timeoutSeconds": 60}})],
                         [eps("web", TWO, HTTP_EP)]),
    "dns_udp_tcp_external_ip": (
        [svc("kube-dns", [{"name": "dns", "port": 53, "protocol": "UDP"},
                          {"name": "dns-tcp", "port": 53, "protocol": "TCP"}], ip="10.96.0.10", ns="kube-system",
             externalIPs=["10.200.0.99"])],
        [eps("kube-dns", [("10.200.0.10", "")], [{"name": "dns", "port": 53, "protocol": "UDP"},
                                                 {"name": "dns-tcp", "port": 53, "protocol": "TCP"}],
             ns="kube-system")]),
    "bad_addresses_and_sctp_skipped": (
        [svc("web", [dict(HTTP[0], nodePort=30080), {"name": "s", "port": 99, "protocol": "SCTP"}], "NodePort",
             externalIPs=["not-an-ip", "fd00::1", "10.200.0.99"]),
         svc("v6", HTTP, ip="fd00::10")],
        [eps("web", TWO + [("junk", "w1"), ("fd00::5", "w1")], HTTP_EP + [{"name": "s", "port": 99,
                                                                           "protocol": "SCTP"}])]),
    "headless_and_externalname_skipped": (
        [svc("db", HTTP, ip="None"), svc("ext", [], "ExternalName", ip=None, externalName="example.test")],
        [eps("db", TWO, HTTP_EP)]),
}


def _render(case: str, current=None) -> str:
    services, endpoints = CASES[case]
    return render(service_ports(services, endpoints), "w1", "10.244.0.0/16", "0x4000", current)


@pytest.mark.parametrize("case", sorted(CASES))
def test_golden(case):
    text = _render(case)
    path = GOLDEN / f"{case}.rules"
    if os.environ.get("LABKUBE_UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text()


def test_jumps_not_repeated_and_stale_chains_deleted():
    first = _render("clusterip_two_endpoints")
    # the node after the first sync: every chain and hook exists, plus one chain of a removed service
    stale = chains.service_chain("SVC", "default/old:http", "tcp")
    saved = first.replace("*nat\n", f"*nat\n:{stale} - [0:0]\n").replace("-I PREROUTING 1", "-A PREROUTING") \
        .replace("-I OUTPUT 1", "-A OUTPUT").replace("-I POSTROUTING 1", "-A POSTROUTING") \
        .replace("-I INPUT 1", "-A INPUT").replace("-I FORWARD 1", "-A FORWARD")
    again = _render("clusterip_two_endpoints", chains.Snapshot(saved))
    assert " -I " not in again and "\n-I " not in again
    assert f"-X {stale}\nCOMMIT" in again
    assert f":{stale} - [0:0]" in again
    # a user chain named like ours but not of our shape is never deleted
    other = _render("clusterip_two_endpoints", chains.Snapshot("*nat\n:KUBE-SVC-mine - [0:0]\nCOMMIT\n"))
    assert "KUBE-SVC-mine" not in other


def test_spread_probabilities_pick_each_endpoint_equally():
    services, endpoints = CASES["clusterip_three_endpoints_unnamed_port"]
    text = render(service_ports(services, endpoints), "w1")
    probs = [float(line.split("--probability ")[1].split()[0]) for line in text.splitlines()
             if "--probability" in line]
    assert probs == pytest.approx([1 / 3, 1 / 2])


def test_chain_names_are_stable_and_short():
    a = chains.service_chain("SVC", "default/web:http", "tcp")
    assert a == chains.service_chain("SVC", "default/web:http", "tcp")
    assert a != chains.service_chain("SVC", "default/web:http", "udp")
    assert len(chains.endpoint_chain("default/web:http", "tcp", "10.244.1.5:8080")) <= 28
    assert chains.PER_SERVICE.match(a)
