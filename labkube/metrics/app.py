"""The metrics-server's main loop: informers on Nodes (whom to scrape, node labels) and Pods
(pod labels, and which pods exist), a scrape of every Ready node each `metric_resolution`
seconds into the store, and the HTTPS API that serves what the store holds.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
import time

from aiohttp import web

from labkube.client.informer import Informer

from . import api, register
from .config import MetricsConfig
from .scrape import Scraper
from .server import make_app, server_context
from .store import MetricsStore

log = logging.getLogger(__name__)


def kubelet_context(cfg: MetricsConfig) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=cfg.kubelet_certificate_authority)
    ctx.load_cert_chain(cfg.kubelet_client_certificate, cfg.kubelet_client_key)
    ctx.check_hostname = False       # kubelets are dialled by InternalIP, which their certificates name
    return ctx


class MetricsServer:
    def __init__(self, client, cfg: MetricsConfig):
        self.client, self.cfg = client, cfg
        self.store = MetricsStore()
        self.nodes = Informer(client, "nodes")
        self.pods = Informer(client, "pods")
        self.ready = False

    def node_items(self, now: float) -> list[dict]:
        out = []
        for name, u in sorted(self.store.nodes().items()):
            node = self.nodes.get(name)
            if node is not None:
                out.append(api.node_metrics(name, node["metadata"].get("labels"), u, now))
        return out

    def pod_items(self, now: float, namespace: str | None) -> list[dict]:
        out = []
        for (ns, name), containers in sorted(self.store.pods().items()):
            if namespace and ns != namespace:
                continue
            pod = self.pods.get(f"{ns}/{name}")
            if pod is not None:
                out.append(api.pod_metrics(ns, name, pod["metadata"].get("labels"), containers, now))
        return out

    async def scrape_forever(self, scraper: Scraper) -> None:
        while True:
            started = time.monotonic()
            try:
                batch = await scraper.scrape(self.nodes.items())
                self.store.store(batch)
                self.ready = True
                log.debug("scraped %d nodes in %.2f s", len(batch), time.monotonic() - started)
            except Exception:                                        # noqa: BLE001 - keep scraping
                log.exception("scrape cycle failed")
            await asyncio.sleep(max(self.cfg.metric_resolution - (time.monotonic() - started), 0.5))

    async def register_forever(self) -> None:
        """Register at start, and again every minute (repairs a deleted Service or APIService)."""
        while True:
            try:
                await register.ensure(self.client, self.cfg)
            except Exception as e:                                   # noqa: BLE001 - retried
                log.warning("registering the metrics API failed: %s", e)
                await asyncio.sleep(5)
                continue
            await asyncio.sleep(60)

    async def run(self) -> None:
        app = make_app(self, list(self.cfg.requestheader_allowed_names))
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        ctx = server_context(self.cfg.tls_cert_file, self.cfg.tls_private_key_file, self.cfg.client_ca_file)
        await web.TCPSite(runner, self.cfg.bind_address, self.cfg.secure_port, ssl_context=ctx).start()
        log.info("serving %s on https://%s:%d, scraping every %ss", api.GROUP_VERSION, self.cfg.bind_address,
                 self.cfg.secure_port, self.cfg.metric_resolution)
        scraper = Scraper(kubelet_context(self.cfg), self.cfg.scrape_timeout)
        tasks = [asyncio.create_task(i.run()) for i in (self.nodes, self.pods)]
        if self.cfg.register:
            tasks.append(asyncio.create_task(self.register_forever()))
        try:
            await self.nodes.wait_synced()
            await self.pods.wait_synced()
            await self.scrape_forever(scraper)
        finally:
            for t in tasks:
                t.cancel()
            await scraper.close()
            await runner.cleanup()
