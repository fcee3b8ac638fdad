"""Render the proxy's whole ruleset as `iptables-restore --noflush` input.

Every sync writes all KUBE-* chains from scratch (declaring a chain in a --noflush restore
empties it), adds the hooks from the built-in chains that are missing, and deletes the
per-service chains that are no longer wanted. The layout (nat table):

    PREROUTING/OUTPUT -> KUBE-SERVICES: one rule per ClusterIP:port -> KUBE-SVC-X,
        per external IP -> KUBE-EXT-X, last: local destinations -> KUBE-NODEPORTS
    KUBE-NODEPORTS: per nodePort -> KUBE-EXT-X (masquerade, then KUBE-SVC-X; with
        externalTrafficPolicy Local, outside traffic -> KUBE-SVL-X: local endpoints only)
    KUBE-SVC-X / KUBE-SVL-X: affinity (`-m recent`), then a random spread over endpoints
    KUBE-SEP-Y: hairpin masquerade mark, DNAT to the endpoint
    POSTROUTING -> KUBE-POSTROUTING: MASQUERADE what carries the mark

Service ports without endpoints are REJECTed in the filter table instead.
"""
from __future__ import annotations

from . import chains as C
from .model import ServicePort


class Tables:
    """Chain declarations and rules per table, in the order they were added."""

    def __init__(self):
        self.chains = {t: list(names) for t, names in C.FIXED.items()}
        self.rules: dict[str, list[str]] = {t: [] for t in C.FIXED}

    def chain(self, table: str, name: str) -> str:
        if name not in self.chains[table]:
            self.chains[table].append(name)
        return name

    def add(self, table: str, chain: str, *parts: str) -> None:
        self.rules[table].append(" ".join(["-A", chain, *[p for p in parts if p]]))


def _comment(text: str) -> str:
    return f'-m comment --comment "{text}"'


def _dest(ip: str, sp: ServicePort, port: int) -> str:
    return f"-d {ip}/32 -p {sp.protocol} -m {sp.protocol} --dport {port}"


def _spread(t: Tables, chain: str, sp: ServicePort, endpoints, seps: dict) -> None:
    """Affinity checks, then one rule per endpoint picking it with probability 1/(n-i)."""
    if sp.affinity_timeout:
        for ep in endpoints:
            sep = seps[ep]
            t.add("nat", chain, _comment(f"{sp.key} -> {ep.ip}:{ep.port}"),
                  f"-m recent --name {sep} --mask 255.255.255.255 --rsource --rcheck "
                  f"--seconds {sp.affinity_timeout} --reap -j {sep}")
    n = len(endpoints)
    for i, ep in enumerate(endpoints):
        stat = f"-m statistic --mode random --probability {1.0 / (n - i):.10f}" if i < n - 1 else ""
        t.add("nat", chain, _comment(f"{sp.key} -> {ep.ip}:{ep.port}"), stat, f"-j {seps[ep]}")


def _service(t: Tables, sp: ServicePort, node: str, cluster_cidr: str) -> None:
    svc = t.chain("nat", C.service_chain("SVC", sp.key, sp.protocol))
    external = bool(sp.node_port or sp.external_ips)
    ext = t.chain("nat", C.service_chain("EXT", sp.key, sp.protocol)) if external else ""
    svl = C.service_chain("SVL", sp.key, sp.protocol)
    if sp.internal_local:
        if cluster_cidr:
            t.add("nat", C.SERVICES, _comment(f"{sp.key} cluster IP"), f"! -s {cluster_cidr}",
                  _dest(sp.cluster_ip, sp, sp.port), f"-j {C.MARK_MASQ}")
        t.add("nat", C.SERVICES, _comment(f"{sp.key} cluster IP"), _dest(sp.cluster_ip, sp, sp.port),
              f"-j {t.chain('nat', svl)}")
    else:
        t.add("nat", C.SERVICES, _comment(f"{sp.key} cluster IP"), _dest(sp.cluster_ip, sp, sp.port), f"-j {svc}")
    for ip in sp.external_ips:
        t.add("nat", C.SERVICES, _comment(f"{sp.key} external IP"), _dest(ip, sp, sp.port), f"-j {ext}")
    if sp.node_port:
        t.add("nat", C.NODEPORTS, _comment(sp.key), f"-p {sp.protocol} -m {sp.protocol} --dport {sp.node_port}",
              f"-j {ext}")
    seps = {ep: C.endpoint_chain(sp.key, sp.protocol, f"{ep.ip}:{ep.port}") for ep in sp.endpoints}
    if cluster_cidr:
        t.add("nat", svc, _comment(f"{sp.key} cluster IP"), f"! -s {cluster_cidr}",
              _dest(sp.cluster_ip, sp, sp.port), f"-j {C.MARK_MASQ}")
    _spread(t, svc, sp, sp.endpoints, seps)
    if external and not sp.external_local:
        t.add("nat", ext, _comment(f"masquerade traffic for {sp.key} external destinations"), f"-j {C.MARK_MASQ}")
        t.add("nat", ext, f"-j {svc}")
    elif external:
        t.chain("nat", svl)
        if cluster_cidr:
            t.add("nat", ext, _comment(f"pod traffic for {sp.key} external destinations"), f"-s {cluster_cidr}",
                  f"-j {svc}")
        t.add("nat", ext, _comment(f"masquerade LOCAL traffic for {sp.key} external destinations"),
              "-m addrtype --src-type LOCAL", f"-j {C.MARK_MASQ}")
        t.add("nat", ext, _comment(f"route LOCAL traffic for {sp.key} external destinations"),
              "-m addrtype --src-type LOCAL", f"-j {svc}")
        t.add("nat", ext, f"-j {svl}")
    if svl in t.chains["nat"]:
        _spread(t, svl, sp, sp.local_endpoints(node), seps)
    for ep, sep in seps.items():
        t.chain("nat", sep)
        t.add("nat", sep, _comment(sp.key), f"-s {ep.ip}/32", f"-j {C.MARK_MASQ}")
        recent = f"-m recent --name {sep} --mask 255.255.255.255 --rsource --set" if sp.affinity_timeout else ""
        t.add("nat", sep, _comment(sp.key), f"-p {sp.protocol}", recent, f"-m {sp.protocol}",
              f"-j DNAT --to-destination {ep.ip}:{ep.port}")


def _rejects(t: Tables, sp: ServicePort, node: str) -> None:
    """Filter-table rules for a service port that has no (local) endpoints to send traffic to."""
    if not sp.endpoints:
        why = _comment(f"{sp.key} has no endpoints")
        t.add("filter", C.SERVICES, why, _dest(sp.cluster_ip, sp, sp.port), "-j REJECT")
        for ip in sp.external_ips:
            t.add("filter", C.EXTERNAL_SERVICES, why, _dest(ip, sp, sp.port), "-j REJECT")
    elif sp.local_endpoints(node) or not (sp.external_local or sp.internal_local):
        return
    else:
        why = _comment(f"{sp.key} has no local endpoints")
        if sp.internal_local:
            t.add("filter", C.SERVICES, why, _dest(sp.cluster_ip, sp, sp.port), "-j REJECT")
        if not sp.external_local:
            return
    if sp.node_port:
        t.add("filter", C.EXTERNAL_SERVICES, why, "-m addrtype --dst-type LOCAL",
              f"-p {sp.protocol} -m {sp.protocol} --dport {sp.node_port}", "-j REJECT")


def render(ports: list[ServicePort], node: str, cluster_cidr: str = "", masq_mark: str = "0x4000",
           current: C.Snapshot | None = None) -> str:
    """The restore input for the nat and filter tables; `current` is what the node has now."""
    current = current or C.Snapshot()
    t = Tables()
    for table, chain, spec in C.JUMPS:
        if not current.has_jump(table, chain, spec.split()[-1]):
            t.rules[table].append(f"-I {chain} 1 {spec}")
    t.add("nat", C.POSTROUTING, f"-m mark ! --mark {masq_mark}/{masq_mark}", "-j RETURN")
    t.add("nat", C.POSTROUTING, f"-j MARK --xor-mark {masq_mark}")
    t.add("nat", C.POSTROUTING, _comment("kubernetes service traffic requiring SNAT"), "-j MASQUERADE")
    t.add("nat", C.MARK_MASQ, f"-j MARK --or-mark {masq_mark}")
    for sp in ports:
        if sp.endpoints:
            _service(t, sp, node, cluster_cidr)
        _rejects(t, sp, node)
    t.add("nat", C.SERVICES, _comment("kubernetes service nodeports; NOTE: this must be the last rule in this chain"),
          "-m addrtype --dst-type LOCAL", f"-j {C.NODEPORTS}")
    out: list[str] = []
    for table in ("filter", "nat"):
        stale = sorted(c for c in current.chains(table) if C.PER_SERVICE.match(c) and c not in t.chains[table])
        out.append(f"*{table}")
        out += [f":{c} - [0:0]" for c in t.chains[table] + stale]
        out += t.rules[table]
        out += [f"-X {c}" for c in stale]
        out.append("COMMIT")
    return "\n".join(out) + "\n"
