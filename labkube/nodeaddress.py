"""A Node's InternalIP, read one way by every component that dials or publishes nodes by it: the
ingress controller (the addresses an Ingress is served at) and metrics-server (which address
to scrape a kubelet at). A leaf module with no imports, like nodeready, so either can use it
without pulling in the other's code.
"""
from __future__ import annotations


def internal_ip(node: dict) -> str | None:
    """The address of the node's first InternalIP entry that has one (status.addresses, as the
    kubelet reports them), or None when the node reports no InternalIP."""
    for a in (node.get("status") or {}).get("addresses") or []:
        if (a or {}).get("type") == "InternalIP" and a.get("address"):
            return a["address"]
    return None
