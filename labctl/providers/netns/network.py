"""The lab network of the netns provider: an isolated bridge, one veth per node, routes.

The bridge lives in a network namespace of its own (`labctl-br`), so the host's network
is touched only by one veth (`labctl0`) carrying the lab subnet's first address. Nodes
have no default route and nothing is NATed: lab traffic cannot leave the machine.
While the lab is down, its address ranges stay `unreachable` on the host (guard routes)
so that nothing is ever sent towards the default gateway.
"""
from __future__ import annotations

import ipaddress
import os

from ..base import ProviderError
from .sh import ok, sh

BRIDGE_NS = "labctl-br"
BRIDGE = "br0"
HOST_LINK = "labctl0"
GUARD_METRIC = "4000"


def node_netns(name: str) -> str:
    return f"labctl-{name}"


def namespaces() -> list[str]:
    """Network namespaces that labctl created (by prefix)."""
    out = sh("ip", "netns", "list", check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith("labctl-")]


def check_subnet_free(subnet: str) -> None:
    """Fail when a host interface already uses an address in the lab subnet."""
    net = ipaddress.ip_network(subnet)
    out = sh("ip", "-o", "-4", "addr", "show").stdout
    for line in out.splitlines():
        fields = line.split()
        dev, cidr = fields[1], fields[3]
        if dev == HOST_LINK:
            continue
        if ipaddress.ip_interface(cidr).network.overlaps(net):
            raise ProviderError(f"address range {subnet} is already used by {dev} ({cidr}); "
                                f"set lab_subnet in the inventory's group_vars/all.yml to a free range")


def guard_routes(ranges: list[str]) -> None:
    """Keep each lab range unreachable on the host unless a more specific lab route exists."""
    for cidr in ranges:
        sh("ip", "route", "replace", "unreachable", cidr, "metric", GUARD_METRIC)


def remove_guard_routes(ranges: list[str]) -> None:
    for cidr in ranges:
        sh("ip", "route", "del", "unreachable", cidr, "metric", GUARD_METRIC, check=False)


def create_bridge(subnet: str) -> None:
    """Create the bridge namespace and the host's veth (idempotent)."""
    net = ipaddress.ip_network(subnet)
    host_ip = f"{next(net.hosts())}/{net.prefixlen}"
    if BRIDGE_NS not in namespaces():
        sh("ip", "netns", "add", BRIDGE_NS)
        sh("ip", "-n", BRIDGE_NS, "link", "set", "lo", "up")
        sh("ip", "-n", BRIDGE_NS, "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "-n", BRIDGE_NS, "link", "set", BRIDGE, "up")
        # never forward anything inside the bridge namespace
        sh("ip", "netns", "exec", BRIDGE_NS, "sysctl", "-qw", "net.ipv4.ip_forward=0")
    if not ok("ip", "link", "show", HOST_LINK):
        sh("ip", "link", "add", HOST_LINK, "type", "veth", "peer", "name", "uplink", "netns", BRIDGE_NS)
        sh("ip", "-n", BRIDGE_NS, "link", "set", "uplink", "master", BRIDGE, "up")
        sh("ip", "addr", "add", host_ip, "dev", HOST_LINK)
        sh("ip", "link", "set", HOST_LINK, "up")


def create_node_link(name: str, index: int, address: str, prefixlen: int) -> None:
    """Create the node's network namespace and plug it into the bridge (idempotent)."""
    ns = node_netns(name)
    if ns in namespaces():
        return
    peer = f"vn{index}"
    sh("ip", "netns", "add", ns)
    sh("ip", "-n", ns, "link", "set", "lo", "up")
    sh("ip", "-n", BRIDGE_NS, "link", "add", peer, "type", "veth", "peer", "name", "eth0", "netns", ns)
    sh("ip", "-n", BRIDGE_NS, "link", "set", peer, "master", BRIDGE, "up")
    sh("ip", "-n", ns, "addr", "add", f"{address}/{prefixlen}", "dev", "eth0")
    sh("ip", "-n", ns, "link", "set", "eth0", "up")
    sh("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv4.ip_forward=1")


def add_pod_routes(name: str, routes: dict[str, str]) -> None:
    """Route other nodes' pod CIDRs through their node addresses: {cidr: via}."""
    ns = node_netns(name)
    for cidr, via in routes.items():
        sh("ip", "-n", ns, "route", "replace", cidr, "via", via)


def delete_namespaces(names: list[str]) -> None:
    """Delete network namespaces in parallel (the kernel takes ~2 s for each)."""
    import subprocess
    procs = [subprocess.Popen(["ip", "netns", "del", n], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL) for n in names]
    for p in procs:
        p.wait()


def delete_host_link() -> None:
    if ok("ip", "link", "show", HOST_LINK):
        sh("ip", "link", "del", HOST_LINK, check=False)


def host_link_present() -> bool:
    return os.path.exists(f"/sys/class/net/{HOST_LINK}")
