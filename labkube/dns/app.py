"""ClusterDns: informers on services, endpoints and pods feed the zone; the zone is rebuilt
on the first question after a change; kube-dns Service/Endpoints are kept every 30 s."""
from __future__ import annotations

import asyncio
import logging

from labkube.client.informer import Informer

from . import kubedns
from .config import DnsConfig
from .records import build
from .server import serve
from .zone import Answer, Zone

log = logging.getLogger("labkube.dns")


class ClusterDns:
    def __init__(self, client, cfg: DnsConfig):
        self.client = client
        self.cfg = cfg
        self.informers = [Informer(client, r) for r in ("services", "endpoints", "pods")]
        self.serial = 1
        self.dirty = True
        self.zone: Zone | None = None
        for inf in self.informers:
            inf.add_handlers(self._changed, lambda old, new: self._changed(), self._changed)

    def _changed(self, _obj=None) -> None:
        self.dirty = True

    def current_zone(self) -> Zone:
        if self.dirty or self.zone is None:
            self.dirty = False
            services, endpoints, pods = (inf.items() for inf in self.informers)
            self.serial += 1
            self.zone = Zone(build(services, endpoints, pods, self.cfg.cluster_domain), self.serial)
        return self.zone

    def lookup(self, qname: str, qtype: str) -> Answer:
        if not all(inf.has_synced for inf in self.informers):
            return Answer("SERVFAIL")      # not ready yet: let the client retry
        return self.current_zone().lookup(qname, qtype)

    async def keep_kube_dns(self) -> None:
        while True:
            try:
                await kubedns.ensure(self.client, self.cfg)
                await asyncio.sleep(30)
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - apiserver away: try again soon
                log.warning("keeping %s/%s failed: %s", kubedns.NAMESPACE, kubedns.NAME, e)
                await asyncio.sleep(2)

    async def run(self) -> None:
        for inf in self.informers:
            inf.start()
        servers = [await serve(self.cfg.bind_address, self.cfg.port, self.lookup, self.cfg.ttl)]
        if self.cfg.also_loopback and self.cfg.bind_address not in ("127.0.0.1", "0.0.0.0"):
            servers.append(await serve("127.0.0.1", self.cfg.port, self.lookup, self.cfg.ttl))
        keeper = asyncio.create_task(self.keep_kube_dns())
        try:
            await asyncio.gather(*(inf.wait_synced() for inf in self.informers))
            log.info("caches synced; answering for %s", self.cfg.cluster_domain)
            await asyncio.Event().wait()
        finally:
            keeper.cancel()
            for udp, tcp in servers:
                udp.close()
                tcp.close()
            for inf in self.informers:
                await inf.stop()
