"""Cluster IP and NodePort allocation for Services (in memory, rebuilt from storage at start).

Creates and updates both go through here. An update is planned against the stored Service:
new addresses and ports are reserved at once (so two concurrent writers cannot take the same
one) and handed back as a `Change`; the registry commits it (releasing what the new spec no
longer uses) once the write is stored, or rolls it back (freeing what it reserved) otherwise.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from ..api.errors import ApiError
from ..api.validation.field import invalid

NODEPORT_RANGE = (30000, 32767)
_NODE_PORT_TYPES = ("NodePort", "LoadBalancer")


def _real_ip(ip) -> str | None:
    return ip if isinstance(ip, str) and ip and ip != "None" else None


def needs_cluster_ip(spec: dict) -> bool:
    return spec.get("type") != "ExternalName"


def needs_node_ports(spec: dict) -> bool:
    return spec.get("type") in _NODE_PORT_TYPES


def allocates_node_ports(spec: dict) -> bool:
    """Whether ports without a nodePort get one (LoadBalancer may opt out)."""
    return spec.get("type") == "NodePort" or (
        spec.get("type") == "LoadBalancer" and spec.get("allocateLoadBalancerNodePorts") is not False)


def needs_health_check_port(spec: dict) -> bool:
    return spec.get("type") == "LoadBalancer" and spec.get("externalTrafficPolicy") == "Local"


def node_ports(spec: dict) -> set[int]:
    """Every node port a stored Service holds: its ports' nodePorts and its healthCheckNodePort."""
    out = {int(p["nodePort"]) for p in spec.get("ports") or [] if isinstance(p, dict) and p.get("nodePort")}
    if spec.get("healthCheckNodePort"):
        out.add(int(spec["healthCheckNodePort"]))
    return out


def carry_over(new: dict, old: dict) -> None:
    """Fill an update's spec from the stored one like Kubernetes does, before validation.

    Fields a client left out keep their allocated values (clusterIP, a port's nodePort matched by
    port and protocol, healthCheckNodePort) while the new type still uses them; fields the new
    type does not use are dropped when the client left them unchanged (so `kubectl patch` of
    only `type` works in both directions)."""
    ns, os_ = new.get("spec"), old.get("spec") or {}
    if not isinstance(ns, dict):
        return
    if needs_cluster_ip(ns):
        if not ns.get("clusterIP") and os_.get("clusterIP"):
            ns["clusterIP"] = os_["clusterIP"]
            ns["clusterIPs"] = os_.get("clusterIPs") or [os_["clusterIP"]]
    elif needs_cluster_ip(os_):
        for f in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if f in ns and ns[f] == os_.get(f):
                ns.pop(f)
    ports = [p for p in ns.get("ports") or [] if isinstance(p, dict)]
    if needs_node_ports(ns):
        old_ports = {(p.get("port"), p.get("protocol")): p.get("nodePort") for p in os_.get("ports") or []
                     if isinstance(p, dict)}
        for p in ports:
            if not p.get("nodePort") and old_ports.get((p.get("port"), p.get("protocol"))):
                p["nodePort"] = old_ports[(p.get("port"), p.get("protocol"))]
    elif needs_node_ports(os_):
        held = node_ports(os_)
        if all(p.get("nodePort") in held for p in ports if p.get("nodePort")):
            for p in ports:
                p.pop("nodePort", None)
        if ns.get("externalTrafficPolicy") == os_.get("externalTrafficPolicy"):
            ns.pop("externalTrafficPolicy", None)
    if needs_health_check_port(ns):
        if not ns.get("healthCheckNodePort") and needs_health_check_port(os_):
            ns["healthCheckNodePort"] = os_.get("healthCheckNodePort")
    elif ns.get("healthCheckNodePort") and ns["healthCheckNodePort"] == os_.get("healthCheckNodePort"):
        ns.pop("healthCheckNodePort")


@dataclass
class Change:
    """What one create or update reserved, and what it frees once stored."""
    alloc: "ServiceAllocator"
    reserved_ips: list[str] = field(default_factory=list)
    reserved_ports: list[int] = field(default_factory=list)
    freed_ips: list[str] = field(default_factory=list)
    freed_ports: list[int] = field(default_factory=list)

    def commit(self) -> None:
        self.alloc.used_ips.difference_update(self.freed_ips)
        self.alloc.used_ports.difference_update(self.freed_ports)

    def rollback(self) -> None:
        self.alloc.used_ips.difference_update(self.reserved_ips)
        self.alloc.used_ports.difference_update(self.reserved_ports)


class ServiceAllocator:
    def __init__(self, cidr: str):
        self.net = ipaddress.ip_network(cidr)
        self.used_ips: set[str] = set()
        self.used_ports: set[int] = set()
        self._next = 10

    def kubernetes_ip(self) -> str:
        return str(self.net.network_address + 1)

    def observe(self, svc: dict) -> None:
        """Mark a stored Service's address and node ports as used (the rebuild at start)."""
        spec = svc.get("spec") or {}
        if _real_ip(spec.get("clusterIP")):
            self.used_ips.add(spec["clusterIP"])
        self.used_ports |= node_ports(spec)

    def release(self, svc: dict) -> None:
        spec = svc.get("spec") or {}
        self.used_ips.discard(spec.get("clusterIP"))
        self.used_ports.difference_update(node_ports(spec))

    def allocate(self, svc: dict, name: str) -> Change:
        """Create: fill spec.clusterIP(s), nodePorts and healthCheckNodePort; 422 when a requested one
        is taken or out of range. The reservations are made; roll the Change back if the store fails."""
        return self.update(svc, {"spec": {}}, name)

    def update(self, new: dict, old: dict, name: str) -> Change:
        """Plan the move from the stored Service `old` to `new` (already through `carry_over` and
        validation): reserve what `new` adds, filling what it leaves to the server, and list what
        only `old` holds as freed on commit."""
        spec, ospec = new.get("spec") or {}, old.get("spec") or {}
        ch = Change(self)
        try:
            old_ip = _real_ip(ospec.get("clusterIP"))
            if needs_cluster_ip(spec):
                ip = spec.get("clusterIP")
                if not ip:
                    ip = self._free_ip()
                    self._reserve_ip(ch, ip)
                elif ip != "None" and ip != old_ip:
                    self._check_ip(name, ip)
                    self._reserve_ip(ch, ip)
                spec["clusterIP"] = ip
                spec["clusterIPs"] = [ip]
            if old_ip and old_ip != _real_ip(spec.get("clusterIP")):
                ch.freed_ips.append(old_ip)
            held = node_ports(ospec)
            kept: set[int] = set()
            if needs_node_ports(spec):
                seen: dict[int, str] = {}
                for i, p in enumerate(spec.get("ports") or []):
                    path = f"spec.ports[{i}].nodePort"
                    if p.get("nodePort"):
                        np_ = p["nodePort"]
                        if np_ in seen:                   # one node port may serve TCP and UDP of one Service
                            if seen[np_] == p.get("protocol", "TCP"):
                                raise self._err(name, path, np_, "provided port is already allocated")
                            continue
                        self._take_port(ch, name, path, np_, held)
                    elif allocates_node_ports(spec):
                        p["nodePort"] = self._free_port()
                        self._reserve_port(ch, p["nodePort"])
                    else:
                        continue
                    seen[p["nodePort"]] = p.get("protocol", "TCP")
                kept |= set(seen)
            if needs_health_check_port(spec):
                hc = spec.get("healthCheckNodePort")
                if hc:
                    if hc in kept:
                        raise self._err(name, "spec.healthCheckNodePort", hc, "provided port is already allocated")
                    self._take_port(ch, name, "spec.healthCheckNodePort", hc, held)
                else:
                    spec["healthCheckNodePort"] = hc = self._free_port()
                    self._reserve_port(ch, hc)
                kept.add(hc)
            ch.freed_ports = sorted(held - kept)
        except BaseException:
            ch.rollback()
            raise
        return ch

    # -- helpers -----------------------------------------------------------------
    def _check_ip(self, name: str, ip: str) -> None:
        try:
            addr = ipaddress.ip_address(ip)
        except ValueError:
            raise self._err(name, "spec.clusterIP", ip, "must be a valid IP address") from None
        if addr not in self.net:
            raise self._err(name, "spec.clusterIP", ip,
                            f"provided IP is not in the valid range. The range of valid IPs is {self.net}")
        if ip in self.used_ips:
            raise self._err(name, "spec.clusterIP", ip, "provided IP is already allocated")

    def _reserve_ip(self, ch: Change, ip: str) -> None:
        self.used_ips.add(ip)
        ch.reserved_ips.append(ip)

    def _take_port(self, ch: Change, name: str, path: str, port, held: set[int]) -> None:
        """A requested node port: the Service's own already, or a free one in range."""
        if port in held:
            return
        if not isinstance(port, int) or not NODEPORT_RANGE[0] <= port <= NODEPORT_RANGE[1]:
            raise self._err(name, path, port, "provided port is not in the valid range. "
                            f"The range of valid ports is {NODEPORT_RANGE[0]}-{NODEPORT_RANGE[1]}")
        if port in self.used_ports:
            raise self._err(name, path, port, "provided port is already allocated")
        self._reserve_port(ch, port)

    def _reserve_port(self, ch: Change, port: int) -> None:
        self.used_ports.add(port)
        ch.reserved_ports.append(port)

    def _free_ip(self) -> str:
        size = self.net.num_addresses
        for off in list(range(self._next, size - 1)) + list(range(2, self._next)):
            cand = str(self.net.network_address + off)
            if cand not in self.used_ips:
                self._next = off + 1
                return cand
        raise ApiError(500, "InternalError", "range is full: no more cluster IPs available")

    def _free_port(self) -> int:
        for port in range(NODEPORT_RANGE[0], NODEPORT_RANGE[1] + 1):
            if port not in self.used_ports:
                return port
        raise ApiError(500, "InternalError", "range is full: no more node ports available")

    @staticmethod
    def _err(name: str, path: str, value, detail: str) -> ApiError:
        e = invalid(path, value, detail)
        return ApiError(422, "Invalid", f'Service "{name}" is invalid: {e}',
                        {"name": name, "kind": "Service", "causes": [{"reason": e.reason, "message": e.detail_message(), "field": path}]})
