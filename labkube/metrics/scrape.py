"""Scraping the kubelets: which nodes to ask (Ready, with an InternalIP), the request to
`https://<InternalIP>:<kubelet port>/metrics/resource` with the metrics-server's client
certificate, and turning the Prometheus text into a `store.NodeScrape`.
"""
from __future__ import annotations

import asyncio
import logging
import ssl
import time

import aiohttp

from labkube.nodeaddress import internal_ip
from labkube.nodeready import node_ready

from .prometheus import parse
from .store import NodeScrape, Point

log = logging.getLogger(__name__)


def node_target(node: dict, default_port: int = 10250) -> tuple[str, int] | None:
    """(address, port) of a Ready node's kubelet, or None for a node not to scrape."""
    addr = internal_ip(node)
    if not node_ready(node) or not addr:
        return None
    endpoints = (node.get("status") or {}).get("daemonEndpoints") or {}
    port = (endpoints.get("kubeletEndpoint") or {}).get("Port") or default_port
    return addr, int(port)


def decode(text: str, scraped_at: float) -> NodeScrape:
    """The node's and its containers' readings in a /metrics/resource reply (ValueError if malformed).
    A sample without a timestamp counts as read at `scraped_at`."""
    node: dict[str, float] = {}
    node_ts = scraped_at
    containers: dict[tuple[str, str, str], dict] = {}
    for s in parse(text):
        ts = s.timestamp_ms / 1000 if s.timestamp_ms is not None else scraped_at
        if s.name in ("node_cpu_usage_seconds_total", "node_memory_working_set_bytes"):
            node[s.name] = s.value
            if s.name == "node_cpu_usage_seconds_total":
                node_ts = ts
        elif s.name.startswith("container_"):
            key = (s.labels.get("namespace", ""), s.labels.get("pod", ""), s.labels.get("container", ""))
            if not all(key):
                continue
            c = containers.setdefault(key, {})
            c[s.name] = s.value
            if s.name == "container_cpu_usage_seconds_total":
                c["ts"] = ts
    point = None
    if "node_cpu_usage_seconds_total" in node and "node_memory_working_set_bytes" in node:
        point = Point(node_ts, node["node_cpu_usage_seconds_total"], int(node["node_memory_working_set_bytes"]))
    points = {k: Point(c["ts"], c["container_cpu_usage_seconds_total"], int(c["container_memory_working_set_bytes"]),
                       c.get("container_start_time_seconds", 0.0))
              for k, c in containers.items()
              if "ts" in c and "container_memory_working_set_bytes" in c}
    return NodeScrape(point, points)


class Scraper:
    """Asks every kubelet at once; a node that does not answer in time is left out of the cycle."""

    def __init__(self, ssl_ctx: ssl.SSLContext, timeout: float):
        self.ssl_ctx, self.timeout = ssl_ctx, timeout
        self.session: aiohttp.ClientSession | None = None

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def scrape_node(self, name: str, addr: str, port: int) -> NodeScrape | None:
        if self.session is None:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        url = f"https://{addr}:{port}/metrics/resource"
        try:
            async with self.session.get(url, ssl=self.ssl_ctx) as resp:
                text = await resp.text()
                if resp.status != 200:
                    log.warning("scraping node %s (%s): HTTP %d %s", name, url, resp.status, text[:200].strip())
                    return None
            return decode(text, time.time())
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as e:
            log.warning("scraping node %s (%s) failed: %s", name, url, e or type(e).__name__)
            return None

    async def scrape(self, nodes: list[dict]) -> dict[str, NodeScrape]:
        targets = [(n["metadata"]["name"], t) for n in nodes if (t := node_target(n)) is not None]
        results = await asyncio.gather(*(self.scrape_node(name, *t) for name, t in targets))
        return {name: r for (name, _), r in zip(targets, results) if r is not None}
