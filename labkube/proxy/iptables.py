"""Running iptables-save / iptables-restore and the service-range route on the node.

All calls are subprocesses of the node's own tools (in the node's netns, so the host's
rules are never touched). Failures raise IptablesError with the tool's last stderr line.
"""
from __future__ import annotations

import asyncio
import ipaddress
import logging

log = logging.getLogger(__name__)


class IptablesError(RuntimeError):
    pass


async def _run(*argv: str, stdin: str | None = None) -> str:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    if proc.returncode != 0:
        lines = err.decode(errors="replace").strip().splitlines() or ["(no output)"]
        raise IptablesError(f"{' '.join(argv)}: exit {proc.returncode}: {lines[-1]}")
    return out.decode(errors="replace")


async def save(binary: str = "iptables-save", tables=("nat", "filter")) -> str:
    """The current content of the given tables, concatenated."""
    return "".join([await _run(binary, "-t", t) for t in tables])


async def restore(text: str, binary: str = "iptables-restore") -> None:
    """Apply a ruleset atomically per table, leaving chains not named in it alone."""
    await _run(binary, "-w", "5", "--noflush", stdin=text)


async def device_of(ip: str) -> str:
    """The interface holding address `ip` (eth0 on lab nodes)."""
    out = await _run("ip", "-o", "-4", "addr", "show")
    for line in out.splitlines():
        words = line.split()
        if "inet" in words and words[words.index("inet") + 1].split("/")[0] == ip:
            return words[1].split("@")[0]
    raise IptablesError(f"no interface holds the node address {ip}")


async def ensure_route(cidr: str, dev: str) -> bool:
    """`ip route replace CIDR dev DEV` unless that route is already there; True if changed.

    Nodes have no default route: without a route to the service range the node's own
    connections to a ClusterIP fail before the OUTPUT DNAT ever sees them."""
    net = str(ipaddress.ip_network(cidr))
    out = await _run("ip", "-4", "route", "show", "exact", net)
    if f" dev {dev} " in f" {out.strip()} " and "unreachable" not in out:
        return False
    await _run("ip", "route", "replace", net, "dev", dev)
    log.info("route %s dev %s added", net, dev)
    return True
