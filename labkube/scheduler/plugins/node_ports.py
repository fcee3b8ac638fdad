"""Filter NodePorts: a pod's hostPorts must be free on the node (same port and protocol, on the
same or a wildcard hostIP, used by a pod already there)."""
from __future__ import annotations

from ..framework import SKIP, FilterPlugin, NodeInfo

REASON = "node(s) didn't have free ports for the requested pod ports"


def host_ports(pod: dict) -> list[tuple[str, str, int]]:
    out = []
    spec = pod.get("spec") or {}
    for c in (spec.get("containers") or []) + (spec.get("initContainers") or []):
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append((p.get("hostIP") or "0.0.0.0", p.get("protocol") or "TCP", int(p["hostPort"])))
    return out


def conflicts(a: tuple[str, str, int], b: tuple[str, str, int]) -> bool:
    return a[1:] == b[1:] and (a[0] == b[0] or "0.0.0.0" in (a[0], b[0]))


class NodePorts(FilterPlugin):
    name = "NodePorts"

    def pre_filter(self, pod: dict, nodes: list[NodeInfo]) -> str | None:
        return None if host_ports(pod) else SKIP

    def filter_skips_by_pod(self, pod: dict) -> bool:
        return not host_ports(pod)

    def node_local_key(self, pod: dict):
        """The node's own pods' ports are its state; the pod's ports are the key."""
        return tuple(host_ports(pod))

    def filter(self, pod: dict, node: NodeInfo) -> list[str]:
        want = host_ports(pod)
        if not want:
            return []
        used = [hp for p in node.pods for hp in host_ports(p)]
        return [REASON] if any(conflicts(w, u) for w in want for u in used) else []
