"""The cluster's DNS records, built from Services, Endpoints and Pods (pure data, no I/O).

    <svc>.<ns>.svc.<domain>                 A: the ClusterIP; headless: every ready endpoint
    <host>.<svc>.<ns>.svc.<domain>          A: an endpoint of a headless service, <host> being its
                                            hostname (pod spec.hostname + subdomain) or dashed IP
    _<port>._<proto>.<svc>.<ns>.svc.<domain> SRV: per named port (headless: one per endpoint)
    <svc>.<ns>.svc.<domain>                 CNAME for ExternalName services
    <a-b-c-d>.<ns>.pod.<domain>             A: a pod with that IP in that namespace
    <d.c.b.a>.in-addr.arpa                  PTR for ClusterIPs and headless endpoints
Records are tuples (type, name, value): A -> ip, CNAME/PTR -> target, SRV -> (priority,
weight, port, target). Names are lower case, without the trailing dot.
"""
from __future__ import annotations

from collections import defaultdict

Record = tuple


def dashed(ip: str) -> str:
    return ip.replace(".", "-")


def reverse_name(ip: str) -> str:
    return ".".join(reversed(ip.split("."))) + ".in-addr.arpa"


class Records:
    """name -> list of records, plus the names that exist only as parents (empty non-terminals)
    and the namespaces the cluster's services and pods live in."""

    def __init__(self, domain: str = "cluster.local"):
        self.domain = domain.strip(".").lower()
        self.by_name: dict[str, list[Record]] = defaultdict(list)
        self.parents: set[str] = set()
        self.namespaces: set[str] = set()

    def add(self, rtype: str, name: str, value) -> None:
        name = name.lower()
        rec = (rtype, name, value)
        if rec not in self.by_name[name]:
            self.by_name[name].append(rec)
        labels = name.split(".")
        for i in range(1, len(labels)):
            self.parents.add(".".join(labels[i:]))

    def exists(self, name: str) -> bool:
        return name in self.by_name or name in self.parents


def _pod_hosts(pods: list[dict]) -> dict[tuple[str, str], dict[str, str]]:
    """(namespace, subdomain) -> {pod IP: hostname} for pods that set hostname + subdomain."""
    out: dict[tuple[str, str], dict[str, str]] = defaultdict(dict)
    for p in pods:
        spec, ip = p.get("spec") or {}, (p.get("status") or {}).get("podIP")
        if ip and spec.get("hostname") and spec.get("subdomain") and not p["metadata"].get("deletionTimestamp"):
            out[(p["metadata"].get("namespace"), spec["subdomain"])][ip] = spec["hostname"]
    return out


def _headless(r: Records, base: str, ep: dict | None, hosts: dict[str, str], publish: bool) -> None:
    for subset in (ep or {}).get("subsets") or []:
        addrs = list(subset.get("addresses") or [])
        if publish:
            addrs += subset.get("notReadyAddresses") or []
        for a in addrs:
            host = (a.get("hostname") or hosts.get(a["ip"]) or dashed(a["ip"])).lower()
            r.add("A", base, a["ip"])
            r.add("A", f"{host}.{base}", a["ip"])
            r.add("PTR", reverse_name(a["ip"]), f"{host}.{base}")
            for p in subset.get("ports") or []:
                if p.get("name"):
                    proto = (p.get("protocol") or "TCP").lower()
                    r.add("SRV", f"_{p['name']}._{proto}.{base}", (0, 100, int(p["port"]), f"{host}.{base}"))


def build(services: list[dict], endpoints: list[dict], pods: list[dict], domain: str = "cluster.local") -> Records:
    r = Records(domain)
    r.namespaces.update((o["metadata"].get("namespace") or "default").lower() for o in [*services, *pods])
    eps = {(e["metadata"].get("namespace"), e["metadata"]["name"]): e for e in endpoints}
    pod_hosts = _pod_hosts(pods)
    for svc in services:
        md, spec = svc["metadata"], svc.get("spec") or {}
        ns = md.get("namespace") or "default"
        base = f"{md['name']}.{ns}.svc.{r.domain}"
        cip = spec.get("clusterIP")
        if spec.get("type") == "ExternalName":
            if spec.get("externalName"):
                r.add("CNAME", base, spec["externalName"].strip(".").lower())
        elif cip and cip != "None":
            r.add("A", base, cip)
            r.add("PTR", reverse_name(cip), base)
            for p in spec.get("ports") or []:
                if p.get("name"):
                    proto = (p.get("protocol") or "TCP").lower()
                    r.add("SRV", f"_{p['name']}._{proto}.{base}", (0, 100, int(p["port"]), base))
        else:
            _headless(r, base, eps.get((ns, md["name"])), pod_hosts.get((ns, md["name"]), {}),
                      bool(spec.get("publishNotReadyAddresses")))
    for p in pods:
        ip, ns = (p.get("status") or {}).get("podIP"), p["metadata"].get("namespace") or "default"
        if ip and not p["metadata"].get("deletionTimestamp"):
            r.add("A", f"{dashed(ip)}.{ns}.pod.{r.domain}", ip)
    return r
