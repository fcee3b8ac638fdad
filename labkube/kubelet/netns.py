"""Pod network namespaces, created with `ip netns add` inside the node.

The node has a private /run, so /run/netns here is the node's own; names are
`lk-<first 12 hex of the sandbox id>`.
"""
from __future__ import annotations

import os

from .proc import run, which

NETNS_DIR = "/run/netns"


def netns_name(sandbox_id: str) -> str:
    return f"lk-{sandbox_id[:12]}"


def netns_path(name: str) -> str:
    return os.path.join(NETNS_DIR, name)


class NetnsError(Exception):
    pass


async def add(name: str) -> str:
    if not os.path.exists(netns_path(name)):
        r = await run([which("ip"), "netns", "add", name])
        if r.rc != 0 and not os.path.exists(netns_path(name)):
            raise NetnsError(f"ip netns add {name}: {r.err}")
    return netns_path(name)


async def delete(name: str) -> None:
    if os.path.exists(netns_path(name)):
        r = await run([which("ip"), "netns", "del", name])
        if r.rc != 0 and os.path.exists(netns_path(name)):
            raise NetnsError(f"ip netns del {name}: {r.err}")
