"""The ingress controller: informers -> routing table, certificates and status; the listeners.

It watches Ingresses, IngressClasses, Services, Endpoints (what kube-proxy reads too), TLS
Secrets and Nodes. A change of Ingresses, classes or Secrets rebuilds the routing table and the
SNI certificates (the caches of Services and Endpoints are read per request: always current);
a change of Ingresses or Nodes re-checks the Ingresses' status addresses. It creates the
IngressClass `labkube` when it is missing (the apiserver normally has already) and serves
HTTP and HTTPS on the node's lab address (config.py).
"""
from __future__ import annotations

import asyncio
import logging

from labkube.client.errors import ApiError
from labkube.client.informer import Informer
from labkube.nodeaddress import internal_ip
from labkube.nodeready import node_ready

from .backends import RoundRobin, endpoints_of
from .classes import CLASS_NAME, is_ours, lab_ingress_class, our_classes
from .config import IngressConfig
from .routes import RouteTable
from .server import ReverseProxy, listen
from .status import load_balancer_status, needs_update, serving_addresses
from .tls import CertStore

log = logging.getLogger("labkube.ingress")


class IngressController:
    def __init__(self, client, cfg: IngressConfig, shared: dict[str, Informer] | None = None):
        """shared: informers of the process to use instead of opening watches of its own
        ("services", "endpoints", "nodes": kube-proxy's); their owner starts and stops them."""
        self.client = client
        self.cfg = cfg
        shared = {k: v for k, v in (shared or {}).items() if v is not None}
        self.ingresses = Informer(client, "ingresses")
        self.classes = Informer(client, "ingressclasses")
        self.services = shared.get("services") or Informer(client, "services")
        self.endpoints = shared.get("endpoints") or Informer(client, "endpoints")
        self.secrets = Informer(client, "secrets", field_selector="type=kubernetes.io/tls")
        self.nodes = shared.get("nodes") or Informer(client, "nodes")
        self.owned = [i for i in self._informers() if i not in shared.values()]
        self.table = RouteTable()
        self.turns = RoundRobin()
        self.certs: CertStore | None = None
        self.proxy = ReverseProxy(self.choose, read_timeout=cfg.read_timeout)
        self.changed = asyncio.Event()
        self.status_changed = asyncio.Event()
        for inf in (self.ingresses, self.classes, self.secrets):
            inf.add_handlers(self._dirty, lambda _old, _new: self._dirty(), self._dirty)
        for inf in (self.ingresses, self.classes):          # which Ingresses are ours may change too
            inf.add_handlers(self._status_dirty, lambda _o, _n: self._status_dirty(), None)
        self.nodes.add_handlers(self._status_dirty, self._node_update, self._status_dirty)

    def _informers(self) -> list[Informer]:
        return [self.ingresses, self.classes, self.services, self.endpoints, self.secrets, self.nodes]

    def _dirty(self, _obj=None) -> None:
        self.changed.set()

    def _status_dirty(self, _obj=None) -> None:
        self.status_changed.set()

    def _node_update(self, old: dict, new: dict) -> None:
        """Nodes post status every few seconds: only readiness and the address matter here."""
        if (node_ready(old), internal_ip(old)) != (node_ready(new), internal_ip(new)):
            self.status_changed.set()

    # -- what the listeners ask -------------------------------------------------------------------

    def choose(self, host: str, path: str) -> tuple[int, tuple[str, int] | None, str]:
        backend = self.table.lookup(host, path)
        if backend is None:
            return 404, None, "no rule"
        svc = self.services.get_by(backend.service, backend.namespace)
        eps = self.endpoints.get_by(backend.service, backend.namespace)
        addr = self.turns.pick(backend, endpoints_of(backend, svc, eps))
        return (200, addr, str(backend)) if addr else (503, None, f"{backend}: no ready endpoints")

    # -- keeping up with the cluster --------------------------------------------------------------

    def our_ingresses(self) -> list[dict]:
        ours = our_classes(self.classes.items())
        return [i for i in self.ingresses.items() if is_ours(i, ours)]

    def rebuild(self) -> None:
        ingresses = self.our_ingresses()
        self.table = RouteTable.build(ingresses)
        if self.certs is not None:
            self.certs.update(ingresses, lambda key: self.secrets.get(key))
        log.debug("routing table: %d ingresses, %d hosts", len(ingresses), len(self.table.hosts))

    async def update_statuses(self) -> None:
        addresses = serving_addresses(self.nodes.items())
        if not addresses:
            return
        for ing in self.our_ingresses():
            if not needs_update(ing, addresses):
                continue
            md = ing["metadata"]
            try:
                await self.client.patch("ingresses", md["name"], {"status": {"loadBalancer": load_balancer_status(addresses)}},
                                        namespace=md.get("namespace"), subresource="status")
            except ApiError as e:
                if e.code != 404:
                    raise

    async def ensure_class(self) -> None:
        if self.classes.get(CLASS_NAME) is not None:
            return
        try:
            await self.client.create("ingressclasses", lab_ingress_class())
            log.info("created IngressClass %s", CLASS_NAME)
        except ApiError as e:
            if e.code != 409:
                log.warning("cannot create IngressClass %s: %s", CLASS_NAME, e)

    async def _status_loop(self) -> None:
        while True:
            await self.status_changed.wait()
            self.status_changed.clear()
            try:
                await self.update_statuses()
            except (ApiError, OSError) as e:
                log.warning("ingress status update failed, retrying: %s", e)
                self.status_changed.set()
                await asyncio.sleep(1)
            await asyncio.sleep(0.1)

    async def listen(self):
        """Start the listeners; a port that is taken is retried every few seconds (kube-proxy, whose
        process this shares, must keep running)."""
        while True:
            try:
                return await listen(self.proxy, self.cfg.bind_address, self.cfg.http_port, self.cfg.https_port,
                                    self.certs.default)
            except OSError as e:
                log.error("ingress: cannot listen on %s:%d/%d, retrying in 5 s: %s", self.cfg.bind_address,
                          self.cfg.http_port, self.cfg.https_port, e)
                await asyncio.sleep(5)

    async def run(self) -> None:
        self.certs = CertStore()
        for inf in self.owned:
            inf.start()
        runner = None
        status_task = None
        try:
            await asyncio.gather(*(inf.wait_synced() for inf in self._informers()))
            await self.ensure_class()
            self.rebuild()
            await self.proxy.start()
            runner = await self.listen()
            log.info("ingress: serving http on %s:%d%s", self.cfg.bind_address, self.cfg.http_port,
                     f", https on :{self.cfg.https_port}" if self.cfg.https_port else "")
            self.status_changed.set()
            status_task = asyncio.create_task(self._status_loop(), name="ingress-status")
            while True:
                await self.changed.wait()
                self.changed.clear()
                self.rebuild()
                await asyncio.sleep(0.05)          # a burst of changes is one rebuild
        finally:
            if status_task is not None:
                status_task.cancel()
            if runner is not None:
                await runner.cleanup()
            await self.proxy.close()
            for inf in self.owned:
                await inf.stop()
