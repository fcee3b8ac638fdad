"""DNS over UDP and TCP with dnslib: parse the question, ask the Zone, pack the reply.

`handle(data, zone, ttl)` is the whole protocol step (bytes in, bytes out) so tests need no
sockets; `serve(...)` binds both transports. UDP replies that would exceed 512 bytes (or
the client's EDNS size) are sent truncated (TC) so the client retries over TCP.
"""
from __future__ import annotations

import asyncio
import logging
import struct
from typing import Callable

from dnslib import CNAME, PTR, QTYPE, RCODE, RR, SOA, SRV, A, DNSRecord, DNSError

from .zone import Answer

log = logging.getLogger("labkube.dns")
TCP_IDLE = 30.0     # seconds a TCP client may stay silent before its connection is closed


def _rr(rec: tuple, ttl: int) -> RR:
    rtype, name, value = rec
    if rtype == "A":
        rdata = A(value)
    elif rtype == "CNAME":
        rdata = CNAME(value + ".")
    elif rtype == "PTR":
        rdata = PTR(value + ".")
    elif rtype == "SRV":
        prio, weight, port, target = value
        rdata = SRV(prio, weight, port, target + ".")
    elif rtype == "SOA":
        mname, rname, serial, refresh, retry, expire, minimum = value
        rdata = SOA(mname + ".", rname + ".", (serial, refresh, retry, expire, minimum))
    else:
        raise ValueError(f"unsupported record type {rtype}")
    return RR(name + ".", getattr(QTYPE, rtype), rdata=rdata, ttl=ttl)


def handle(data: bytes, lookup: Callable[[str, str], Answer], ttl: int = 5, max_size: int | None = 512) -> bytes | None:
    """The reply to one DNS message, or None when it cannot be parsed at all."""
    try:
        req = DNSRecord.parse(data)
    except (DNSError, Exception):  # noqa: BLE001 - garbage from the network
        return None
    reply = req.reply(ra=1, aa=1)
    if req.header.opcode != 0 or len(req.questions) != 1:
        reply.header.rcode = RCODE.NOTIMP if req.header.opcode != 0 else RCODE.FORMERR
        return reply.pack()
    q = req.questions[0]
    ans = lookup(str(q.qname), QTYPE.get(q.qtype, str(q.qtype)))
    reply.header.rcode = getattr(RCODE, ans.rcode)
    reply.header.aa = int(ans.authoritative)
    for rec in ans.answers:
        reply.add_answer(_rr(rec, ttl))
    for rec in ans.authority:
        reply.add_auth(_rr(rec, ttl))
    for rec in ans.additional:
        reply.add_ar(_rr(rec, ttl))
    packed = reply.pack()
    if max_size is not None:
        edns = [r for r in req.ar if r.rtype == QTYPE.OPT]
        limit = max(max_size, edns[0].rclass) if edns else max_size
        if len(packed) > limit:
            reply.rr, reply.auth, reply.ar = [], [], []
            reply.header.tc = 1
            packed = reply.pack()
    return packed


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, lookup, ttl):
        self.lookup, self.ttl, self.transport = lookup, ttl, None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        out = handle(data, self.lookup, self.ttl)
        if out is not None:
            self.transport.sendto(out, addr)


async def _tcp_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, lookup, ttl) -> None:
    try:
        while True:
            size = struct.unpack("!H", await asyncio.wait_for(reader.readexactly(2), TCP_IDLE))[0]
            out = handle(await asyncio.wait_for(reader.readexactly(size), TCP_IDLE), lookup, ttl, max_size=None)
            if out is None:
                break
            writer.write(struct.pack("!H", len(out)) + out)
            await writer.drain()
    except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
        pass
    finally:
        writer.close()


async def serve(host: str, port: int, lookup: Callable[[str, str], Answer], ttl: int = 5):
    """Bind UDP and TCP on host:port; returns (udp transport, tcp server) to close later."""
    loop = asyncio.get_running_loop()
    udp, _ = await loop.create_datagram_endpoint(lambda: _Udp(lookup, ttl), local_addr=(host, port))
    tcp = await asyncio.start_server(lambda r, w: _tcp_client(r, w, lookup, ttl), host, port)
    log.info("serving DNS on %s:%d (udp, tcp)", host, port)
    return udp, tcp
