"""Proxier: keep the node's KUBE-* rules equal to what Services and Endpoints ask for.

Informers on services and endpoints mark the state dirty; the sync loop then renders and
applies the whole ruleset (changes closer together than min_sync_period are applied in one
go). Without changes it still resyncs every sync_period seconds, which repairs rules or
chains removed by hand. With `announce_load_balancers` it also answers on the lab network
for the LoadBalancer addresses elected to this node (announce.py). Nothing is cleaned up on exit, as with kube-proxy: the rules keep
working while the proxy restarts, and the node's netns takes them along when it goes.
"""
from __future__ import annotations

import asyncio
import logging
import time

from labkube.client.informer import Informer
from labkube.nodeready import node_ready

from . import iptables
from .announce import Announcer
from .chains import Snapshot
from .config import ProxyConfig
from .model import service_ports
from .rules import render

log = logging.getLogger("labkube.proxy")


class Proxier:
    def __init__(self, client, cfg: ProxyConfig, backend=iptables, lb_host=None):
        self.cfg = cfg
        self.backend = backend
        self.services = Informer(client, "services")
        self.endpoints = Informer(client, "endpoints")
        self.nodes = Informer(client, "nodes") if cfg.announce_load_balancers else None
        self.announcer = Announcer(cfg.node_name, lb_host) if cfg.announce_load_balancers else None
        self.announced: set[str] = set()
        self.changed = asyncio.Event()
        self.syncs = 0
        self.last_ruleset = ""
        for inf in (self.services, self.endpoints):
            inf.add_handlers(self._dirty, self._dirty_update, self._dirty)
        if self.nodes is not None:
            self.nodes.add_handlers(self._dirty, self._node_update, self._dirty)

    def _informers(self) -> list:
        return [self.services, self.endpoints] + ([self.nodes] if self.nodes is not None else [])

    def _dirty(self, _obj=None) -> None:
        self.changed.set()

    def _dirty_update(self, old: dict, new: dict) -> None:
        strip = ("resourceVersion", "managedFields", "annotations")
        if {k: v for k, v in old.items() if k != "metadata"} != {k: v for k, v in new.items() if k != "metadata"} \
                or {k: v for k, v in old["metadata"].items() if k not in strip} != \
                {k: v for k, v in new["metadata"].items() if k not in strip}:
            self.changed.set()

    def _node_update(self, old: dict, new: dict) -> None:
        """Nodes post status every few seconds: only readiness and labels matter here."""
        if node_facts(old) != node_facts(new):
            self.changed.set()

    async def sync(self) -> None:
        """One full sync: render from the caches and apply; ensure the service route."""
        start = time.monotonic()
        ports = service_ports(self.services.items(), self.endpoints.items())
        current = Snapshot(await self.backend.save(self.cfg.iptables_save))
        text = render(ports, self.cfg.node_name, self.cfg.cluster_cidr, self.cfg.masq_mark, current)
        await self.backend.restore(text, self.cfg.iptables_restore)
        if self.cfg.service_cidr:
            dev = self.cfg.service_route_dev or await self.backend.device_of(self.cfg.node_ip)
            await self.backend.ensure_route(self.cfg.service_cidr, dev)
        if self.announcer is not None:
            lab_dev = await self.backend.device_of(self.cfg.node_ip)
            self.announced = await self.announcer.sync(lab_dev, self.services.items(), self.endpoints.items(),
                                                       self.nodes.items())
        self.syncs += 1
        self.last_ruleset = text
        log.debug("synced %d service ports, %d endpoints in %.0f ms", len(ports),
                  sum(len(p.endpoints) for p in ports), (time.monotonic() - start) * 1000)

    async def run(self) -> None:
        for inf in self._informers():
            inf.start()
        try:
            await asyncio.gather(*(inf.wait_synced() for inf in self._informers()))
            log.info("caches synced; programming rules on %s", self.cfg.node_name)
            self.changed.set()
            while True:
                try:
                    await asyncio.wait_for(self.changed.wait(), self.cfg.sync_period)
                except asyncio.TimeoutError:
                    pass
                self.changed.clear()
                try:
                    await self.sync()
                except (iptables.IptablesError, OSError) as e:
                    log.warning("sync failed, retrying: %s", e)
                    self.changed.set()
                    await asyncio.sleep(1)
                await asyncio.sleep(self.cfg.min_sync_period)
        finally:
            for inf in self._informers():
                await inf.stop()


def node_facts(node: dict) -> tuple:
    return node_ready(node), tuple(sorted(((node.get("metadata") or {}).get("labels") or {}).items()))
