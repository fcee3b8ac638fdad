"""From a pod to the runtime's SandboxConfig (hostname, DNS, host aliases, host ports)."""
from __future__ import annotations

import os

from .runtime.base import SandboxConfig
from .runtime.podfiles import cluster_dns_settings


def pod_dir(root_dir: str, uid: str) -> str:
    return os.path.join(root_dir, "pods", uid)


def port_mappings(pod: dict) -> list[dict]:
    out = []
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("hostPort"):
                out.append({"hostPort": int(p["hostPort"]), "containerPort": int(p["containerPort"]),
                            "protocol": (p.get("protocol") or "TCP").lower(),
                            **({"hostIP": p["hostIP"]} if p.get("hostIP") else {})})
    return out


def hostname_of(pod: dict) -> str:
    spec = pod.get("spec") or {}
    return (spec.get("hostname") or pod["metadata"]["name"])[:63]


def sandbox_config(pod: dict, root_dir: str, cluster_dns: list, cluster_domain: str,
                   node_name: str = "", node_ip: str = "") -> SandboxConfig:
    meta, spec = pod["metadata"], pod.get("spec") or {}
    host_network = bool(spec.get("hostNetwork"))
    policy = spec.get("dnsPolicy") or "ClusterFirst"
    if host_network and policy == "ClusterFirst":
        policy = "Default"              # as Kubernetes does for hostNetwork pods
    ns, search, opts = cluster_dns_settings(meta["namespace"], cluster_dns, cluster_domain, policy,
                                            spec.get("dnsConfig"))
    return SandboxConfig(uid=meta["uid"], name=meta["name"], namespace=meta["namespace"],
                         hostname=node_name if host_network and node_name else hostname_of(pod),
                         pod_dir=pod_dir(root_dir, meta["uid"]), host_network=host_network, host_ip=node_ip,
                         nameservers=ns, searches=search, dns_options=opts,
                         host_aliases=spec.get("hostAliases") or [], port_mappings=port_mappings(pod))
