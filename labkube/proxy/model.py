"""What the proxy programs: one ServicePort per (Service, port), with its endpoints.

`service_ports(services, endpoints)` is pure: it joins Service objects with the Endpoints
of the same name (ports matched by name and protocol). Headless services (clusterIP None)
and ExternalName services get no rules; a service with no ready endpoints still yields a
ServicePort (the rules then reject its traffic).
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

DEFAULT_AFFINITY_TIMEOUT = 10800
PROTOCOLS = ("tcp", "udp")      # SCTP needs a kernel module the lab nodes lack: such ports are skipped


def ipv4(value) -> bool:
    """Only IPv4 addresses reach the rules (one bad address would fail the whole restore)."""
    try:
        return isinstance(ipaddress.ip_address(value), ipaddress.IPv4Address)
    except ValueError:
        return False


def valid_port(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 65536


@dataclass(frozen=True, order=True)
class Endpoint:
    ip: str
    port: int
    node: str = ""


@dataclass
class ServicePort:
    namespace: str
    name: str
    port_name: str
    protocol: str               # lower case: tcp, udp, sctp
    cluster_ip: str
    port: int
    node_port: int = 0
    external_ips: list[str] = field(default_factory=list)   # spec.externalIPs + LoadBalancer ingress
    affinity_timeout: int = 0   # seconds; 0 = no session affinity
    external_local: bool = False  # externalTrafficPolicy Local: outside traffic to local endpoints only
    internal_local: bool = False  # internalTrafficPolicy Local: ClusterIP traffic to local endpoints only
    endpoints: list[Endpoint] = field(default_factory=list)

    @property
    def key(self) -> str:
        """`ns/name:port` as kube-proxy names a service port (the port part empty when unnamed)."""
        return f"{self.namespace}/{self.name}:{self.port_name}"

    def local_endpoints(self, node: str) -> list[Endpoint]:
        return [e for e in self.endpoints if e.node == node]


def _ready_endpoints(ep: dict | None, port_name: str, protocol: str) -> list[Endpoint]:
    out: set[Endpoint] = set()
    for subset in (ep or {}).get("subsets") or []:
        ports = [p for p in subset.get("ports") or []
                 if (p.get("name") or "") == port_name and (p.get("protocol") or "TCP").lower() == protocol]
        for p in ports:
            for a in subset.get("addresses") or []:
                if ipv4(a.get("ip")) and valid_port(p.get("port")):
                    out.add(Endpoint(a["ip"], int(p["port"]), a.get("nodeName") or ""))
    return sorted(out)


def _external_ips(svc: dict) -> list[str]:
    spec = svc.get("spec") or {}
    ips = list(spec.get("externalIPs") or [])
    for ing in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []:
        if ing.get("ip"):
            ips.append(ing["ip"])
    return sorted({ip for ip in ips if ipv4(ip)})


def service_ports(services: list[dict], endpoints: list[dict]) -> list[ServicePort]:
    """All ServicePorts, sorted by key then protocol (so rendered rules are stable)."""
    eps = {(e["metadata"].get("namespace"), e["metadata"]["name"]): e for e in endpoints}
    out: list[ServicePort] = []
    for svc in services:
        md, spec = svc["metadata"], svc.get("spec") or {}
        cip = spec.get("clusterIP")
        if spec.get("type") == "ExternalName" or not ipv4(cip):
            continue
        timeout = 0
        if spec.get("sessionAffinity") == "ClientIP":
            cfg = (spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}
            timeout = int(cfg.get("timeoutSeconds") or DEFAULT_AFFINITY_TIMEOUT)
        node_port_type = spec.get("type") in ("NodePort", "LoadBalancer")
        for p in spec.get("ports") or []:
            proto = (p.get("protocol") or "TCP").lower()
            if proto not in PROTOCOLS or not valid_port(p.get("port")):
                continue
            out.append(ServicePort(
                namespace=md.get("namespace") or "default", name=md["name"], port_name=p.get("name") or "",
                protocol=proto, cluster_ip=cip, port=p["port"],
                node_port=p["nodePort"] if node_port_type and valid_port(p.get("nodePort")) else 0,
                external_ips=_external_ips(svc), affinity_timeout=timeout,
                external_local=spec.get("externalTrafficPolicy") == "Local",
                internal_local=spec.get("internalTrafficPolicy") == "Local",
                endpoints=_ready_endpoints(eps.get((md.get("namespace"), md["name"])), p.get("name") or "", proto)))
    out.sort(key=lambda sp: (sp.key, sp.protocol))
    return out
