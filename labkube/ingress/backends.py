"""From an Ingress backend (Service + port) to the pod addresses to forward to, round-robin.

`endpoints_of(backend, service, endpoints)` is pure: the Service's port is found by number
(`spec.ports[].port`) or by name, and the ready addresses of the Endpoints of the same name
with the same port name give `(ip, targetPort)` pairs — what kube-proxy reads too
(labkube/proxy/model.py). `RoundRobin` hands them out in turn per backend.
"""
from __future__ import annotations

from .routes import Backend


def service_port(backend: Backend, service: dict | None) -> dict | None:
    """The Service port the backend names, or None (no such Service, port, or not TCP)."""
    spec = (service or {}).get("spec") or {}
    if spec.get("type") == "ExternalName":
        return None
    for p in spec.get("ports") or []:
        if (p.get("protocol") or "TCP") != "TCP":
            continue
        if (isinstance(backend.port, int) and p.get("port") == backend.port) or \
                (isinstance(backend.port, str) and p.get("name") == backend.port):
            return p
    return None


def endpoints_of(backend: Backend, service: dict | None, endpoints: dict | None) -> list[tuple[str, int]]:
    """The ready (ip, port) pairs behind backend, sorted; [] when there are none."""
    port = service_port(backend, service)
    if port is None:
        return []
    name = port.get("name") or ""
    out: set[tuple[str, int]] = set()
    for subset in (endpoints or {}).get("subsets") or []:
        for p in subset.get("ports") or []:
            if (p.get("name") or "") != name or (p.get("protocol") or "TCP") != "TCP":
                continue
            for a in subset.get("addresses") or []:
                if a.get("ip") and isinstance(p.get("port"), int):
                    out.add((a["ip"], p["port"]))
    return sorted(out)


class RoundRobin:
    """The next address for a backend, in turn over its current addresses."""

    def __init__(self):
        self.turns: dict[Backend, int] = {}

    def pick(self, backend: Backend, addresses: list[tuple[str, int]]) -> tuple[str, int] | None:
        if not addresses:
            return None
        n = self.turns.get(backend, 0)
        self.turns[backend] = n + 1
        return addresses[n % len(addresses)]
