"""LoadBalancer controller: gives each Service of type LoadBalancer an address from the lab's
pool (as MetalLB's controller does) in `status.loadBalancer.ingress[0].ip`, and takes it
back when the Service is deleted or changes type. The kube-proxy on the nodes routes that
address to the endpoints and one node answers for it on the lab network (labkube/proxy/
announce.py).

Setting (controllers.yaml): `loadbalancer_pool: 10.200.0.200-10.200.0.220` — ranges
`A-B`, CIDRs and single addresses, comma-separated. Without a pool, Services stay
`<pending>`. `spec.loadBalancerIP` asks for a particular pool address; Services with a
`spec.loadBalancerClass` belong to another implementation and are left alone.
"""
from __future__ import annotations

import ipaddress

from labkube.client.errors import ApiError

from .base import Controller

MAX_POOL = 65536


class PoolError(ValueError):
    """The pool setting is malformed (the message is one line naming the bad part)."""


def parse_pool(text) -> list[str]:
    """The IPv4 addresses of a pool spec ("A-B", "a.b.c.d/n", "a.b.c.d", comma-separated), in order."""
    if not isinstance(text, str) or not text.strip():
        raise PoolError(f"loadbalancer_pool: expected ranges like 10.200.0.200-10.200.0.220, got {text!r}")
    out: list[str] = []
    for part in (p.strip() for p in text.split(",")):
        try:
            if "-" in part:
                lo, hi = (ipaddress.IPv4Address(x.strip()) for x in part.split("-", 1))
                if hi < lo:
                    raise PoolError(f"loadbalancer_pool: range {part} ends before it starts")
                addrs = [ipaddress.IPv4Address(i) for i in range(int(lo), int(hi) + 1)] \
                    if int(hi) - int(lo) < MAX_POOL else None
            elif "/" in part:
                net = ipaddress.IPv4Network(part, strict=False)
                addrs = list(net.hosts()) if net.num_addresses <= MAX_POOL else None
            else:
                addrs = [ipaddress.IPv4Address(part)]
        except ValueError as e:
            if isinstance(e, PoolError):
                raise
            raise PoolError(f"loadbalancer_pool: {part!r} is not an IPv4 range, CIDR or address") from None
        if addrs is None:
            raise PoolError(f"loadbalancer_pool: {part} is larger than {MAX_POOL} addresses")
        out += [str(a) for a in addrs if str(a) not in out]
    return out


class Allocator:
    """Which Service (namespace/name) holds which pool address; lowest free address first."""

    def __init__(self, pool: list[str]):
        self.pool = list(pool)
        self._in_pool = set(pool)
        self.by_ip: dict[str, str] = {}
        self.by_key: dict[str, str] = {}

    def contains(self, ip: str) -> bool:
        return ip in self._in_pool

    def holder(self, ip: str) -> str | None:
        return self.by_ip.get(ip)

    def observe(self, key: str, ip: str) -> bool:
        """Record an address a Service already has (from its status); False if it cannot keep it."""
        if ip not in self._in_pool or self.by_ip.get(ip, key) != key:
            return False
        if self.by_key.get(key) not in (None, ip):
            return False
        self.by_ip[ip], self.by_key[key] = key, ip
        return True

    def assign(self, key: str, wanted: str | None = None) -> str | None:
        """The Service's address: the one it holds, else ``wanted`` if free, else the lowest free
        one; None when ``wanted`` is taken or outside the pool, or the pool is exhausted."""
        have = self.by_key.get(key)
        if have is not None and (wanted is None or wanted == have):
            return have
        if have is not None:
            self.release(key)
        if wanted is not None:
            candidates = [wanted] if wanted in self._in_pool else []
        else:
            candidates = self.pool
        ip = next((a for a in candidates if a not in self.by_ip), None)
        if ip is not None:
            self.by_ip[ip], self.by_key[key] = key, ip
        return ip

    def release(self, key: str) -> str | None:
        ip = self.by_key.pop(key, None)
        if ip is not None:
            self.by_ip.pop(ip, None)
        return ip

    @property
    def free(self) -> int:
        return len(self.pool) - len(self.by_ip)


def ingress_ips(svc: dict) -> list[str]:
    return [i["ip"] for i in ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []
            if i.get("ip")]


class LoadBalancerController(Controller):
    name = "loadbalancer"

    def setup(self) -> None:
        pool = self.settings.get("loadbalancer_pool")
        self.allocator = Allocator(parse_pool(pool) if pool else [])
        self.services = self.informer("services")
        self.services.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), self._deleted)
        self._adopted = False

    def _deleted(self, svc: dict) -> None:
        key = f"{svc['metadata'].get('namespace')}/{svc['metadata']['name']}"
        ip = self.allocator.release(key)
        if ip is not None:
            self.log.info("released %s of deleted service %s", ip, key)
            self._requeue_pending()

    def _requeue_pending(self) -> None:
        """An address came free: Services still waiting for one get another chance."""
        for s in self.services.items():
            if ours(s) and not ingress_ips(s):
                self.enqueue(s)

    def _adopt(self) -> None:
        """Before the first allocation: learn the addresses Services already hold (controller restart)."""
        for s in sorted(self.services.items(), key=lambda s: s["metadata"].get("creationTimestamp") or ""):
            if ours(s):
                key = f"{s['metadata']['namespace']}/{s['metadata']['name']}"
                for ip in ingress_ips(s)[:1]:
                    self.allocator.observe(key, ip)
        self._adopted = True

    async def sync(self, key: str) -> None:
        if not self._adopted:
            self._adopt()
        svc = self.services.get(key)
        if svc is None:
            if self.allocator.release(key) is not None:
                self._requeue_pending()
            return
        current = ingress_ips(svc)
        if not ours(svc):
            released = self.allocator.release(key)
            if any(self.allocator.contains(ip) for ip in current):
                await self._set_ingress(svc, [])
            if released is not None:
                self.log.info("released %s of service %s (no longer a LoadBalancer)", released, key)
                self._requeue_pending()
            return
        if not self.allocator.pool:
            return
        wanted = (svc.get("spec") or {}).get("loadBalancerIP") or None
        if current and wanted is None and self.allocator.observe(key, current[0]):
            ip = current[0]
        else:
            ip = self.allocator.assign(key, wanted)
        if ip is None:
            why = (f"requested address {wanted} is not in the pool or is in use" if wanted
                   else f"no free address in the pool ({len(self.allocator.pool)} addresses, all in use)")
            await self.recorder.event(svc, "Warning", "AllocationFailed", f"Failed to allocate IP for {key}: {why}")
            if current:
                await self._set_ingress(svc, [])
            return
        if current != [ip]:
            await self._set_ingress(svc, [ip])
            await self.recorder.event(svc, "Normal", "IPAllocated", f"Assigned IP [\"{ip}\"]")

    async def _set_ingress(self, svc: dict, ips: list[str]) -> None:
        md = svc["metadata"]
        ingress = [{"ip": ip, "ipMode": "VIP"} for ip in ips] or None     # null removes the list (merge patch)
        body = {"status": {"loadBalancer": {"ingress": ingress}}}
        try:
            await self.client.patch("services", md["name"], body, namespace=md["namespace"], patch_type="merge",
                                    subresource="status")
        except ApiError as e:
            if e.code != 404:
                raise


def ours(svc: dict) -> bool:
    spec = svc.get("spec") or {}
    return spec.get("type") == "LoadBalancer" and not spec.get("loadBalancerClass")
