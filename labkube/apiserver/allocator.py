"""Cluster IP and NodePort allocation for Services (in memory, rebuilt from storage at start)."""
from __future__ import annotations

import ipaddress

from ..api.errors import ApiError
from ..api.validation.field import invalid

NODEPORT_RANGE = (30000, 32767)


class ServiceAllocator:
    def __init__(self, cidr: str):
        self.net = ipaddress.ip_network(cidr)
        self.used_ips: set[str] = set()
        self.used_ports: set[int] = set()
        self._next = 10

    def kubernetes_ip(self) -> str:
        return str(self.net.network_address + 1)

    def observe(self, svc: dict) -> None:
        spec = svc.get("spec") or {}
        if spec.get("clusterIP") and spec["clusterIP"] != "None":
            self.used_ips.add(spec["clusterIP"])
        for p in spec.get("ports") or []:
            if p.get("nodePort"):
                self.used_ports.add(int(p["nodePort"]))

    def release(self, svc: dict) -> None:
        spec = svc.get("spec") or {}
        self.used_ips.discard(spec.get("clusterIP"))
        for p in spec.get("ports") or []:
            self.used_ports.discard(p.get("nodePort"))

    def allocate(self, svc: dict, name: str) -> None:
        """Fill spec.clusterIP(s) and nodePorts; 422 when a requested one is taken or out of range."""
        spec = svc.get("spec") or {}
        if spec.get("type") == "ExternalName":
            return
        ip = spec.get("clusterIP")
        if ip and ip != "None":
            try:
                addr = ipaddress.ip_address(ip)
            except ValueError:
                raise self._err(name, "spec.clusterIP", ip, "must be a valid IP address") from None
            if addr not in self.net:
                raise self._err(name, "spec.clusterIP", ip,
                                f"provided IP is not in the valid range. The range of valid IPs is {self.net}")
            if ip in self.used_ips:
                raise self._err(name, "spec.clusterIP", ip, "provided IP is already allocated")
        elif not ip:
            ip = self._free_ip()
        spec["clusterIP"] = ip
        spec["clusterIPs"] = [ip]
        if spec.get("type") in ("NodePort", "LoadBalancer"):
            for i, p in enumerate(spec.get("ports") or []):
                if p.get("nodePort"):
                    if p["nodePort"] in self.used_ports:
                        raise self._err(name, f"spec.ports[{i}].nodePort", p["nodePort"], "provided port is already allocated")
                else:
                    p["nodePort"] = self._free_port()
                self.used_ports.add(p["nodePort"])
        if ip != "None":
            self.used_ips.add(ip)

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
