"""The DNS wire side: dnslib packets through handle(), and real UDP/TCP sockets on loopback."""
from __future__ import annotations

import asyncio
import socket
import struct

from dnslib import QTYPE, RCODE, DNSRecord

from labkube.dns.records import build
from labkube.dns.server import handle, serve
from labkube.dns.zone import Zone

SVC = {"metadata": {"name": "web", "namespace": "default"},
       "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80}]}}
ZONE = Zone(build([SVC], [], []))


def ask(name, qtype="A", **kw):
    return DNSRecord.parse(handle(DNSRecord.question(name, qtype).pack(), ZONE.lookup, **kw))


def test_a_record_with_ttl_and_flags():
    r = ask("web.default.svc.cluster.local")
    assert r.header.rcode == RCODE.NOERROR and r.header.aa == 1
    assert [(str(a.rname), str(a.rdata), a.ttl) for a in r.rr] == [("web.default.svc.cluster.local.", "10.96.0.20", 5)]


def test_srv_and_negative_answers():
    r = ask("_http._tcp.web.default.svc.cluster.local", "SRV")
    assert r.rr[0].rtype == QTYPE.SRV and r.rr[0].rdata.port == 80 and str(r.ar[0].rdata) == "10.96.0.20"
    nx = ask("nope.default.svc.cluster.local")
    assert nx.header.rcode == RCODE.NXDOMAIN and nx.auth[0].rtype == QTYPE.SOA
    refused = ask("example.com")
    assert refused.header.rcode == RCODE.REFUSED and not refused.rr and refused.header.aa == 0
    short = ask("kubernetes.default")           # outside the zone, meant for the cluster: not authoritative
    assert short.header.rcode == RCODE.NXDOMAIN and short.header.aa == 0 and not short.rr
    assert str(short.auth[0].rname) == "." and short.auth[0].rtype == QTYPE.SOA


def test_garbage_is_dropped_and_big_udp_answers_truncated():
    assert handle(b"\x01\x02", ZONE.lookup) is None
    many = [{"metadata": {"name": "big", "namespace": "default"}, "spec": {"clusterIP": "None"}}]
    eps = [{"metadata": {"name": "big", "namespace": "default"},
            "subsets": [{"addresses": [{"ip": f"10.244.1.{i}"} for i in range(2, 120)]}]}]
    zone = Zone(build(many, eps, []))
    q = DNSRecord.question("big.default.svc.cluster.local").pack()
    udp = DNSRecord.parse(handle(q, zone.lookup))
    assert udp.header.tc == 1 and not udp.rr
    tcp = DNSRecord.parse(handle(q, zone.lookup, max_size=None))
    assert tcp.header.tc == 0 and len(tcp.rr) == 118


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def test_udp_and_tcp_on_loopback():
    port = _free_port()
    udp, tcp = await serve("127.0.0.1", port, ZONE.lookup)
    try:
        q = DNSRecord.question("web.default.svc.cluster.local").pack()
        loop = asyncio.get_running_loop()
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.setblocking(False)
            await loop.sock_connect(s, ("127.0.0.1", port))
            await loop.sock_sendall(s, q)
            reply = DNSRecord.parse(await asyncio.wait_for(loop.sock_recv(s, 4096), 5))
        assert str(reply.rr[0].rdata) == "10.96.0.20"
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        for _ in range(2):      # two questions on one connection
            writer.write(struct.pack("!H", len(q)) + q)
            size = struct.unpack("!H", await reader.readexactly(2))[0]
            reply = DNSRecord.parse(await reader.readexactly(size))
            assert str(reply.rr[0].rdata) == "10.96.0.20"
        writer.close()
    finally:
        udp.close()
        tcp.close()
        await tcp.wait_closed()
