"""LoadBalancer addresses answered on the lab network, as MetalLB's L2 mode does.

For every Service address in `status.loadBalancer.ingress` (given out by the loadbalancer
controller from the lab pool), one node is elected: of the Ready nodes (minus those labelled
`node.kubernetes.io/exclude-from-external-load-balancers`; with externalTrafficPolicy Local,
only nodes with a ready endpoint of the Service), the one with the lowest hash of
(node, address) — every kube-proxy computes the same answer from the same caches, and an
address only moves when its node goes away. The elected node adds the address to its lab
interface (`ip addr add IP/32 dev eth0 label eth0:lb`, so the kernel answers ARP for it)
and sends a gratuitous ARP so neighbours that knew the old holder learn the new one; the
other nodes drop it. The DNAT to the endpoints is the proxy's external-IP rule.

Only addresses inside the subnet of the node's lab interface are ever added.
"""
from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import logging
import socket
import struct

from labkube.nodeready import node_ready

log = logging.getLogger("labkube.proxy.announce")
EXCLUDE_LABEL = "node.kubernetes.io/exclude-from-external-load-balancers"


def _ready_endpoint_nodes(ep: dict | None) -> set[str]:
    return {a.get("nodeName") for s in (ep or {}).get("subsets") or [] for a in s.get("addresses") or []
            if a.get("nodeName")}


def elect(ip: str, candidates) -> str | None:
    """The node that answers for ``ip``: lowest sha256(node + "#" + ip); None without candidates."""
    return min(candidates, key=lambda n: hashlib.sha256(f"{n}#{ip}".encode()).digest(), default=None)


def assignments(services: list[dict], endpoints: list[dict], nodes: list[dict]) -> dict[str, str]:
    """{LoadBalancer address: node that answers for it} over all Services."""
    eps = {(e["metadata"].get("namespace"), e["metadata"]["name"]): e for e in endpoints}
    eligible = {n["metadata"]["name"] for n in nodes
                if node_ready(n) and EXCLUDE_LABEL not in ((n["metadata"].get("labels")) or {})}
    out: dict[str, str] = {}
    for svc in services:
        spec, md = svc.get("spec") or {}, svc["metadata"]
        if spec.get("type") != "LoadBalancer":
            continue
        candidates = eligible
        if spec.get("externalTrafficPolicy") == "Local":
            candidates = eligible & _ready_endpoint_nodes(eps.get((md.get("namespace"), md["name"])))
        for ing in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
            ip = ing.get("ip")
            try:
                if not isinstance(ipaddress.ip_address(ip), ipaddress.IPv4Address):
                    continue
            except ValueError:
                continue
            node = elect(ip, sorted(candidates))
            if node is not None and ip not in out:
                out[ip] = node
    return out


async def _ip(*argv: str) -> str:
    proc = await asyncio.create_subprocess_exec("ip", *argv, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:
        raise OSError(f"ip {' '.join(argv)}: {err.decode(errors='replace').strip()}")
    return out.decode()


def garp_frame(mac: str, ip: str) -> bytes:
    """A gratuitous ARP request (broadcast, sender = target = ``ip``) from ``mac``."""
    hw = bytes.fromhex(mac.replace(":", ""))
    addr = socket.inet_aton(ip)
    return (b"\xff" * 6 + hw + struct.pack("!H", 0x0806)
            + struct.pack("!HHBBH", 1, 0x0800, 6, 4, 1) + hw + addr + b"\x00" * 6 + addr)


class IpAddrHost:
    """The node's side: addresses with the `<dev>:lb` label on the lab interface, and raw ARP."""

    async def subnet(self, dev: str) -> ipaddress.IPv4Network | None:
        for line in (await _ip("-o", "-4", "addr", "show", "dev", dev)).splitlines():
            words = line.split()
            if "inet" in words:
                iface = ipaddress.IPv4Interface(words[words.index("inet") + 1])
                if iface.network.prefixlen < 32:
                    return iface.network
        return None

    async def announced(self, dev: str) -> set[str]:
        out = await _ip("-o", "-4", "addr", "show", "dev", dev, "label", f"{dev}:lb")
        return {w.split()[w.split().index("inet") + 1].split("/")[0] for w in out.splitlines() if "inet" in w}

    async def add(self, dev: str, ip: str) -> None:
        await _ip("addr", "replace", f"{ip}/32", "dev", dev, "label", f"{dev}:lb")
        try:
            mac = (await _ip("-o", "link", "show", "dev", dev)).split("link/ether", 1)[1].split()[0]
            with socket.socket(socket.AF_PACKET, socket.SOCK_RAW) as s:
                s.bind((dev, 0))
                s.send(garp_frame(mac, ip))
        except (OSError, IndexError) as e:
            log.warning("gratuitous ARP for %s on %s not sent: %s", ip, dev, e)

    async def remove(self, dev: str, ip: str) -> None:
        await _ip("addr", "del", f"{ip}/32", "dev", dev)


class Announcer:
    def __init__(self, node_name: str, host=None):
        self.node_name = node_name
        self.host = host or IpAddrHost()

    async def sync(self, dev: str, services: list[dict], endpoints: list[dict], nodes: list[dict]) -> set[str]:
        """Make this node hold exactly the addresses elected to it (in its lab subnet); returns them."""
        subnet = await self.host.subnet(dev)
        mine = {ip for ip, node in assignments(services, endpoints, nodes).items()
                if node == self.node_name and subnet is not None and ipaddress.IPv4Address(ip) in subnet}
        have = await self.host.announced(dev)
        for ip in sorted(have - mine):
            await self.host.remove(dev, ip)
            log.info("no longer answering for %s", ip)
        for ip in sorted(mine - have):
            await self.host.add(dev, ip)
            log.info("answering for %s on %s", ip, dev)
        return mine
