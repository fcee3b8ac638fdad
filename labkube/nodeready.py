"""Whether a Node is Ready, judged one way by every component that picks nodes by it: kube-proxy
(which nodes may answer for a LoadBalancer address, the proxier's node facts), the ingress
controller (the addresses an Ingress is served at) and metrics-server (which kubelets to scrape).
A leaf module with no imports, so any of them can use it without pulling in another's code.
"""
from __future__ import annotations


def node_ready(node: dict) -> bool:
    """The node's Ready condition is True (no Ready condition, False or Unknown: not Ready)."""
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])
