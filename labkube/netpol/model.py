"""Which traffic the policies allow to and from each pod of a node: pure, from the cached
NetworkPolicies, Pods and Namespaces.

A pod is isolated for ingress (egress) when a policy of its namespace selects it with
`Ingress` (`Egress`) in its policyTypes (default: Ingress, plus Egress when the policy has an
`egress` section). Its traffic in that direction is then allowed only by the union of those
policies' rules; a pod no policy selects is not isolated (None). Each rule becomes Allow
entries: a source (ingress) or destination (egress) CIDR and, when the rule names ports, a
protocol and port (range). Peers:

- `podSelector` alone: pods of the policy's namespace; with `namespaceSelector`: those pods in
  the namespaces it selects (alone: every pod of those namespaces);
- `ipBlock`: its CIDR minus the `except` CIDRs, as a list of CIDRs;
- no peers: anywhere. No ports: every port of every protocol.

Named ports are looked up in the pod whose port it is: the selected pod for ingress, each
destination pod for egress (inside an ipBlock or anywhere: every known pod there that names
it). Pods on the host network, without an IPv4 address or finished, are neither policed nor
peers. IPv4 only.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from labkube.api.selectors import LabelSelector

ANYWHERE = "0.0.0.0/0"
TERMINAL = ("Succeeded", "Failed")


@dataclass(frozen=True)
class Allow:
    cidr: str = ANYWHERE
    protocol: str = ""            # "" every protocol (and port)
    port: int = 0                 # 0 every port of the protocol
    end_port: int = 0             # with port: the range port..end_port


@dataclass(frozen=True)
class PodRules:
    namespace: str
    name: str
    ip: str
    ingress: tuple[Allow, ...] | None       # None: not isolated for ingress
    egress: tuple[Allow, ...] | None
    policies: tuple[str, ...]               # namespace/name of the policies selecting the pod

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


def pod_ip(pod: dict) -> str:
    """The pod's IPv4 address if it takes part in pod networking now, else ""."""
    spec, status = pod.get("spec") or {}, pod.get("status") or {}
    if spec.get("hostNetwork") or status.get("phase") in TERMINAL:
        return ""
    ips = [p.get("ip", "") for p in status.get("podIPs") or []] or [status.get("podIP", "")]
    for ip in ips:
        try:
            if ip and ipaddress.ip_address(ip).version == 4:
                return ip
        except ValueError:
            continue
    return ""


def policy_types(policy: dict) -> list[str]:
    spec = policy.get("spec") or {}
    if spec.get("policyTypes"):
        return list(spec["policyTypes"])
    return ["Ingress"] + (["Egress"] if "egress" in spec else [])


def _labels(obj: dict) -> dict:
    return (obj.get("metadata") or {}).get("labels") or {}


def _ns_of(obj: dict) -> str:
    return (obj.get("metadata") or {}).get("namespace", "")


def block_cidrs(block: dict) -> list[str]:
    """An ipBlock's CIDR minus its exceptions, as the CIDRs that remain ([] when unparsable:
    a peer we cannot read allows nothing)."""
    try:
        nets = [ipaddress.ip_network(block["cidr"], strict=False)]
        cuts = [ipaddress.ip_network(c, strict=False) for c in block.get("except") or []]
    except (KeyError, ValueError):
        return []
    if nets[0].version != 4:
        return []
    for cut in cuts:
        remaining = []
        for net in nets:                      # two CIDRs are either nested or disjoint
            if net.version != cut.version or not net.overlaps(cut):
                remaining.append(net)
            elif not net.subnet_of(cut):
                remaining += net.address_exclude(cut)
        nets = remaining
    return [str(n) for n in sorted(nets)]


def named_port(pod: dict, name: str, protocol: str) -> int:
    for c in (pod.get("spec") or {}).get("containers") or []:
        for p in c.get("ports") or []:
            if p.get("name") == name and (p.get("protocol") or "TCP") == protocol:
                return int(p.get("containerPort") or 0)
    return 0


class Cluster:
    """The cached objects a node's rules are computed from."""

    def __init__(self, policies: list[dict], pods: list[dict], namespaces: list[dict]):
        self.policies = policies
        self.pods = [(p, pod_ip(p)) for p in pods]
        self.pods = [(p, ip) for p, ip in self.pods if ip]
        self.ns_labels = {ns["metadata"]["name"]: {**_labels(ns), "kubernetes.io/metadata.name": ns["metadata"]["name"]}
                          for ns in namespaces}

    def peer_pods(self, peer: dict, policy_ns: str) -> list[tuple[dict, str]]:
        pod_sel = LabelSelector.from_spec(peer["podSelector"]) if peer.get("podSelector") is not None else None
        if peer.get("namespaceSelector") is not None:
            ns_sel = LabelSelector.from_spec(peer["namespaceSelector"])
            in_ns = lambda ns: ns_sel.matches(self.ns_labels.get(ns, {"kubernetes.io/metadata.name": ns}))  # noqa: E731
        else:
            in_ns = lambda ns: ns == policy_ns                                                              # noqa: E731
        return [(p, ip) for p, ip in self.pods
                if in_ns(_ns_of(p)) and (pod_sel is None or pod_sel.matches(_labels(p)))]

    def pods_in(self, cidrs: list[str]) -> list[tuple[dict, str]]:
        nets = [ipaddress.ip_network(c) for c in cidrs]
        return [(p, ip) for p, ip in self.pods if any(ipaddress.ip_address(ip) in n for n in nets)]

    def rule_allows(self, rule: dict, peers_key: str, policy_ns: str, target: dict, egress: bool) -> list[Allow]:
        """One ingress/egress rule of a policy selecting `target` as Allow entries."""
        peers = rule.get(peers_key) or []
        ports = rule.get("ports") or []
        # (cidr, pod or None) per peer; None pod: an address range, named ports need pods inside it
        places: list[tuple[str, dict | None]] = []
        ranges: list[str] = []
        for peer in peers:
            if peer.get("ipBlock"):
                ranges += block_cidrs(peer["ipBlock"])
            else:
                places += [(f"{ip}/32", p) for p, ip in self.peer_pods(peer, policy_ns)]
        places += [(c, None) for c in ranges]
        if not peers:
            places = [(ANYWHERE, None)]
        if not ports:
            return [Allow(cidr) for cidr, _ in places]
        out: list[Allow] = []
        for port in ports:
            protocol = port.get("protocol") or "TCP"
            value = port.get("port")
            if isinstance(value, str) and not value.isdigit():
                out += self._named(value, protocol, places, target, egress)
                continue
            number = int(value or 0)
            end = int(port.get("endPort") or 0) if number else 0
            out += [Allow(cidr, protocol.lower(), number, end) for cidr, _ in places]
        return out

    def _named(self, name: str, protocol: str, places, target: dict, egress: bool) -> list[Allow]:
        if not egress:                                   # the selected pod's own port
            number = named_port(target, name, protocol)
            return [Allow(cidr, protocol.lower(), number) for cidr, _ in places] if number else []
        out = []
        for cidr, pod in places:
            inside = [(pod, cidr.split("/")[0])] if pod is not None else self.pods_in([cidr])
            for p, ip in inside:
                if number := named_port(p, name, protocol):
                    out.append(Allow(f"{ip}/32", protocol.lower(), number))
        return out


def node_rules(policies: list[dict], pods: list[dict], namespaces: list[dict], node: str) -> list[PodRules]:
    """What each isolated pod of `node` may send and receive, in pod order (namespace/name)."""
    cluster = Cluster(policies, pods, namespaces)
    out = []
    local = sorted(((p, ip) for p, ip in cluster.pods if (p.get("spec") or {}).get("nodeName") == node),
                   key=lambda pi: (_ns_of(pi[0]), pi[0]["metadata"]["name"]))
    ordered = sorted(policies, key=lambda pol: (_ns_of(pol), pol["metadata"]["name"]))
    for pod, ip in local:
        ingress: list[Allow] | None = None
        egress: list[Allow] | None = None
        names = []
        for pol in ordered:
            spec = pol.get("spec") or {}
            if _ns_of(pol) != _ns_of(pod) or not LabelSelector.from_spec(spec.get("podSelector")).matches(_labels(pod)):
                continue
            names.append(f"{_ns_of(pol)}/{pol['metadata']['name']}")
            types = policy_types(pol)
            if "Ingress" in types:
                ingress = [] if ingress is None else ingress
                for rule in spec.get("ingress") or []:
                    ingress += cluster.rule_allows(rule, "from", _ns_of(pol), pod, egress=False)
            if "Egress" in types:
                egress = [] if egress is None else egress
                for rule in spec.get("egress") or []:
                    egress += cluster.rule_allows(rule, "to", _ns_of(pol), pod, egress=True)
        if names:
            out.append(PodRules(_ns_of(pod), pod["metadata"]["name"], ip,
                                None if ingress is None else tuple(dict.fromkeys(ingress)),
                                None if egress is None else tuple(dict.fromkeys(egress)), tuple(names)))
    return out
