"""Keep `kube-system/kube-dns`: a selector-less Service on the cluster DNS IP (10.96.0.10,
ports 53/UDP "dns" and 53/TCP "dns-tcp") and its hand-made Endpoints pointing at the DNS
servers' node addresses, so pods reach this server through kube-proxy's ClusterIP rules.
"""
from __future__ import annotations

import logging

from labkube.client.errors import ApiError

from .config import DnsConfig

log = logging.getLogger("labkube.dns")

NAME, NAMESPACE = "kube-dns", "kube-system"
LABELS = {"k8s-app": "kube-dns", "kubernetes.io/name": "labkube-dns"}
PORTS = [{"name": "dns", "port": 53, "protocol": "UDP"}, {"name": "dns-tcp", "port": 53, "protocol": "TCP"}]


def desired_service(cfg: DnsConfig) -> dict:
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)},
            "spec": {"type": "ClusterIP", "clusterIP": cfg.service_ip,
                     "ports": [dict(p, targetPort=cfg.port) for p in PORTS]}}


def desired_subsets(cfg: DnsConfig) -> list[dict]:
    addrs = [{"ip": ip, **({"nodeName": cfg.node_name} if cfg.node_name and ip == cfg.bind_address else {})}
             for ip in cfg.endpoint_addresses]
    return [{"addresses": addrs, "ports": [dict(p, port=cfg.port) for p in PORTS]}]


async def ensure(client, cfg: DnsConfig) -> None:
    """Create or repair the Service and Endpoints (idempotent; a wrong ClusterIP is only logged,
    since a Service's clusterIP cannot change)."""
    if not cfg.service_ip:
        return
    try:
        svc = await client.get("services", NAME, namespace=NAMESPACE)
    except ApiError as e:
        if e.code != 404:
            raise
        svc = await client.create("services", desired_service(cfg), namespace=NAMESPACE)
        log.info("created Service %s/%s on %s", NAMESPACE, NAME, cfg.service_ip)
    if (svc.get("spec") or {}).get("clusterIP") != cfg.service_ip:
        log.warning("Service %s/%s has clusterIP %s, not %s: delete it to let it be recreated",
                    NAMESPACE, NAME, svc["spec"].get("clusterIP"), cfg.service_ip)
    subsets = desired_subsets(cfg)
    try:
        ep = await client.get("endpoints", NAME, namespace=NAMESPACE)
    except ApiError as e:
        if e.code != 404:
            raise
        await client.create("endpoints", {"apiVersion": "v1", "kind": "Endpoints", "metadata": {
            "name": NAME, "namespace": NAMESPACE, "labels": dict(LABELS)}, "subsets": subsets}, namespace=NAMESPACE)
        log.info("created Endpoints %s/%s -> %s", NAMESPACE, NAME, cfg.endpoint_addresses)
        return
    if ep.get("subsets") != subsets:
        ep["subsets"] = subsets
        await client.replace("endpoints", NAME, ep, namespace=NAMESPACE)
        log.info("repaired Endpoints %s/%s -> %s", NAMESPACE, NAME, cfg.endpoint_addresses)
