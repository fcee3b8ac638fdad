"""Where the Ingresses are served, written to their `status.loadBalancer.ingress`.

The controller runs on every node (inside kube-proxy), each listening on its own lab address,
so an Ingress is reachable at the InternalIP of every Ready node: that list (sorted) is what
`kubectl get ingress` shows under ADDRESS. Every node computes the same list from its Nodes
cache and writes only when an Ingress shows something else, so the nodes agree without a leader.
"""
from __future__ import annotations

import ipaddress

from labkube.nodeaddress import internal_ip
from labkube.nodeready import node_ready


def serving_addresses(nodes: list[dict]) -> list[str]:
    ips = {internal_ip(n) for n in nodes if node_ready(n)} - {None}
    return sorted(ips, key=ipaddress.ip_address)


def load_balancer_status(addresses: list[str]) -> dict:
    return {"ingress": [{"ip": ip} for ip in addresses]}


def needs_update(ingress: dict, addresses: list[str]) -> bool:
    have = ((ingress.get("status") or {}).get("loadBalancer") or {})
    return (have.get("ingress") or []) != load_balancer_status(addresses)["ingress"]
