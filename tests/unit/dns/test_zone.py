"""Cluster DNS answers, table-driven, against an in-memory model of services, endpoints, pods."""
from __future__ import annotations

import pytest

from labkube.dns.records import build
from labkube.dns.zone import Zone

D = "cluster.local"


def svc(name, ns="default", ip="10.96.0.20", ports=None, **spec):
    return {"metadata": {"name": name, "namespace": ns},
            "spec": {"clusterIP": ip, "ports": ports if ports is not None else [{"name": "http", "port": 80}], **spec}}


def ep(name, addrs, ports, ns="default", not_ready=()):
    return {"metadata": {"name": name, "namespace": ns}, "subsets": [{
        "addresses": [dict(ip=ip, **extra) for ip, extra in addrs],
        "notReadyAddresses": [{"ip": ip} for ip in not_ready], "ports": ports}]}


def pod(name, ip, ns="default", **spec):
    return {"metadata": {"name": name, "namespace": ns}, "spec": spec, "status": {"podIP": ip}}


SERVICES = [
    svc("web"),
    svc("kube-dns", "kube-system", "10.96.0.10", [{"name": "dns", "port": 53, "protocol": "UDP"},
                                                  {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]),
    svc("db", ip="None", ports=[{"name": "pg", "port": 5432, "targetPort": 5432}]),
    svc("quiet", ip="None", ports=[{"name": "x", "port": 1}], publishNotReadyAddresses=True),
    svc("ext", ip=None, ports=[], type="ExternalName", externalName="Example.TEST."),
    svc("unnamed", ip="10.96.0.30", ports=[{"port": 8080}]),
]
ENDPOINTS = [
    ep("web", [("10.244.1.5", {}), ("10.244.2.7", {})], [{"name": "http", "port": 8080}]),
    ep("db", [("10.244.1.8", {}), ("10.244.2.9", {"hostname": "db-1"})], [{"name": "pg", "port": 5432}],
       not_ready=["10.244.2.99"]),
    ep("quiet", [], [{"name": "x", "port": 1}], not_ready=["10.244.1.44"]),
]
PODS = [
    pod("db-0", "10.244.1.8", hostname="db-0", subdomain="db"),
    pod("db-1", "10.244.2.9", hostname="db-1", subdomain="db"),
    pod("web-a", "10.244.1.5"),
    pod("other", "10.244.2.50", ns="team"),
]
ZONE = Zone(build(SERVICES, ENDPOINTS, PODS, D))

CASES = [
    # (question, type, rcode, answers as (type, value))
    ("web.default.svc.cluster.local", "A", "NOERROR", [("A", "10.96.0.20")]),
    ("WEB.Default.SVC.cluster.local.", "A", "NOERROR", [("A", "10.96.0.20")]),
    ("web.default.svc.cluster.local", "AAAA", "NOERROR", []),
    ("kube-dns.kube-system.svc.cluster.local", "A", "NOERROR", [("A", "10.96.0.10")]),
    ("_dns._udp.kube-dns.kube-system.svc.cluster.local", "SRV", "NOERROR",
     [("SRV", (0, 100, 53, "kube-dns.kube-system.svc.cluster.local"))]),
    ("_dns-tcp._tcp.kube-dns.kube-system.svc.cluster.local", "SRV", "NOERROR",
     [("SRV", (0, 100, 53, "kube-dns.kube-system.svc.cluster.local"))]),
    ("_http._tcp.web.default.svc.cluster.local", "SRV", "NOERROR",
     [("SRV", (0, 100, 80, "web.default.svc.cluster.local"))]),
    ("_http._udp.web.default.svc.cluster.local", "SRV", "NXDOMAIN", []),
    ("db.default.svc.cluster.local", "A", "NOERROR", [("A", "10.244.1.8"), ("A", "10.244.2.9")]),
    ("db-0.db.default.svc.cluster.local", "A", "NOERROR", [("A", "10.244.1.8")]),   # from the pod's hostname
    ("db-1.db.default.svc.cluster.local", "A", "NOERROR", [("A", "10.244.2.9")]),   # from the endpoint's hostname
    ("_pg._tcp.db.default.svc.cluster.local", "SRV", "NOERROR",
     [("SRV", (0, 100, 5432, "db-0.db.default.svc.cluster.local")),
      ("SRV", (0, 100, 5432, "db-1.db.default.svc.cluster.local"))]),
    ("10-244-2-99.db.default.svc.cluster.local", "A", "NXDOMAIN", []),                 # not ready
    ("quiet.default.svc.cluster.local", "A", "NOERROR", [("A", "10.244.1.44")]),      # publishNotReadyAddresses
    ("10-244-1-44.quiet.default.svc.cluster.local", "A", "NOERROR", [("A", "10.244.1.44")]),
    ("ext.default.svc.cluster.local", "A", "NOERROR", [("CNAME", "example.test")]),
    ("unnamed.default.svc.cluster.local", "A", "NOERROR", [("A", "10.96.0.30")]),
    ("10-244-2-50.team.pod.cluster.local", "A", "NOERROR", [("A", "10.244.2.50")]),
    ("10-244-2-50.default.pod.cluster.local", "A", "NXDOMAIN", []),                   # wrong namespace
    ("20.0.96.10.in-addr.arpa", "PTR", "NOERROR", [("PTR", "web.default.svc.cluster.local")]),
    ("nope.default.svc.cluster.local", "A", "NXDOMAIN", []),
    ("web.default.svc.cluster.local.default.svc.cluster.local", "A", "NXDOMAIN", []),  # a search-path try
    ("default.svc.cluster.local", "A", "NOERROR", []),                                 # a parent: NODATA
    ("cluster.local", "SOA", "NOERROR", [("SOA", ("ns.dns.cluster.local", "hostmaster.cluster.local",
                                                   ZONE.serial, 7200, 1800, 86400, 5))]),
    # outside the zone, never forwarded: cluster names typed short are NXDOMAIN (what CoreDNS
    # gets from the Internet's root for them), the rest of the world is REFUSED
    ("kubernetes.default", "A", "NXDOMAIN", []),          # busybox nslookup asks it without the search path
    ("kubernetes.default", "AAAA", "NXDOMAIN", []),
    ("other.team", "A", "NXDOMAIN", []),                  # team: a namespace with pods only
    ("web.default.svc", "A", "NXDOMAIN", []),
    ("10-244-2-50.team.pod", "A", "NXDOMAIN", []),
    ("web", "A", "NXDOMAIN", []),                         # a resolver's last try after the search path
    ("web.", "AAAA", "NXDOMAIN", []),
    ("example.com", "A", "REFUSED", []),
    ("web.nosuchns", "A", "REFUSED", []),                 # not a namespace the cluster has
    ("svc.example.com", "A", "REFUSED", []),
    (".", "NS", "REFUSED", []),
    ("1.1.168.192.in-addr.arpa", "PTR", "REFUSED", []),
]


@pytest.mark.parametrize("qname, qtype, rcode, answers", CASES, ids=[f"{c[0]}/{c[1]}" for c in CASES])
def test_answers(qname, qtype, rcode, answers):
    got = ZONE.lookup(qname, qtype)
    assert got.rcode == rcode
    assert sorted((r[0], r[2]) for r in got.answers) == sorted(answers)
    if rcode != "REFUSED" and not answers:
        assert got.authority and got.authority[0][0] == "SOA"      # negative answers carry the SOA
    inside = qname.strip(".").lower().endswith(D)
    assert got.authoritative == inside or rcode == "NOERROR"
    if rcode == "NXDOMAIN" and not inside:
        assert got.authority[0][1] == ""                           # the root's SOA, as a resolver passes it on


def test_srv_answers_come_with_addresses():
    got = ZONE.lookup("_pg._tcp.db.default.svc.cluster.local", "SRV")
    assert sorted(r[2] for r in got.additional) == ["10.244.1.8", "10.244.2.9"]


def test_other_cluster_domain():
    zone = Zone(build([svc("web")], [], [], "lab.internal."))
    assert zone.lookup("web.default.svc.lab.internal", "A").answers == [("A", "web.default.svc.lab.internal",
                                                                         "10.96.0.20")]
    assert zone.lookup("web.default.svc.cluster.local", "A").rcode == "REFUSED"
