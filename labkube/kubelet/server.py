"""The kubelet's HTTPS API (docs/contracts.md): `/containerLogs/<ns>/<pod>/<container>`,
`/healthz`, `/pods`, `/metrics/resource` (resourcemetrics.py: what metrics-server scrapes), `/debug/podStartup` (startup.py), `POST /run/<ns>/<pod>/<container>?cmd=...` (non-interactive exec) and the
websocket endpoints `/exec`, `/attach`, `/portForward` (streaming/routes.py).
Clients must present a certificate signed by `client_ca_file`.
"""
from __future__ import annotations

import asyncio
import datetime
import logging
import ssl
import time

from aiohttp import web

from labkube.metrics.prometheus import CONTENT_TYPE as PROMETHEUS_TEXT

from . import logs, resourcemetrics
from .streaming.routes import add_routes as add_streaming_routes

log = logging.getLogger(__name__)


def ssl_context(cfg) -> ssl.SSLContext | None:
    if not (cfg.tls_cert_file and cfg.tls_private_key_file):
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(cfg.tls_cert_file, cfg.tls_private_key_file)
    if cfg.client_ca_file:
        ctx.load_verify_locations(cfg.client_ca_file)
        ctx.verify_mode = ssl.CERT_REQUIRED
    # no TLS 1.3 session tickets (OpenSSL sends two after every handshake by default, each an
    # encode of the session, client certificate included): this server's clients are the
    # apiserver (logs, exec, attach, port-forward) and metrics-server's scraper, both aiohttp on
    # asyncio/uvloop transports, which never offer a session again; as for the apiserver's own
    # context (labkube/apiserver/tls.py).
    ctx.num_tickets = 0
    return ctx


def _int(q, name: str) -> int | None:
    v = q.get(name)
    if v in (None, ""):
        return None
    try:
        return int(v)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be an integer\n") from None


def _bool(q, name: str) -> bool:
    return q.get(name, "").lower() in ("1", "true", "yes")


def _since(q) -> float | None:
    s = _int(q, "sinceSeconds")
    if s is not None:
        return time.time() - s
    if q.get("sinceTime"):
        try:
            return datetime.datetime.fromisoformat(q["sinceTime"].replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise web.HTTPBadRequest(text="sinceTime must be RFC 3339\n") from None
    return None


class KubeletServer:
    def __init__(self, kl):
        self.kl = kl
        self.app = web.Application()
        self.app.router.add_get("/healthz", self.healthz)
        self.app.router.add_get("/pods", self.pods)
        self.app.router.add_get("/debug/podStartup", self.pod_startup)
        self.app.router.add_get("/metrics/resource", self.resource_metrics)
        self.app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self.container_logs)
        self.app.router.add_post("/run/{namespace}/{pod}/{container}", self.run_in_container)
        add_streaming_routes(self.app, kl)
        self.runner: web.AppRunner | None = None

    async def start(self, host: str, port: int) -> None:
        self.runner = web.AppRunner(self.app, access_log=None)
        await self.runner.setup()
        ctx = ssl_context(self.kl.cfg)
        if ctx is None:
            log.warning("no tls_cert_file/tls_private_key_file: serving plain HTTP on %s:%d", host, port)
        await web.TCPSite(self.runner, host, port, ssl_context=ctx).start()

    async def stop(self) -> None:
        if self.runner is not None:
            await self.runner.cleanup()

    async def healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def pods(self, request: web.Request) -> web.Response:
        items = [w.pod for w in self.kl.pods.workers.values()]
        return web.json_response({"kind": "PodList", "apiVersion": "v1", "metadata": {}, "items": items})

    async def resource_metrics(self, request: web.Request) -> web.Response:
        """CPU and memory of the node, its pods and their containers, read from their cgroups."""
        body = await asyncio.to_thread(resourcemetrics.text, self.kl)
        return web.Response(text=body, headers={"Content-Type": PROMETHEUS_TEXT})

    async def pod_startup(self, request: web.Request) -> web.Response:
        """Where each pod's start-up time went on this node (startup.py), `?namespace=` to filter."""
        return web.json_response({"node": self.kl.cfg.node_name,
                                  "pods": self.kl.startup.as_list(request.query.get("namespace") or None)})

    async def run_in_container(self, request: web.Request) -> web.Response:
        """Run a command in a running container and return its output (the kubelet's /run API):
        `POST /run/<ns>/<pod>/<container>?cmd=ls -l` (or repeated `command=` arguments)."""
        ns, name, container = (request.match_info[k] for k in ("namespace", "pod", "container"))
        w = self.kl.pods.find(ns, name)
        cur = w.current(container) if w is not None else None
        if cur is None or cur.state != "running":
            raise web.HTTPNotFound(text=f'container "{container}" of pod "{ns}/{name}" is not running here\n')
        cmd = request.query.getall("command", []) or request.query.get("cmd", "").split()
        if not cmd:
            raise web.HTTPBadRequest(text="cmd or command is required\n")
        rc, out = await self.kl.runtime.exec_sync(cur.id, cmd, timeout=float(request.query.get("timeout", 60)))
        return web.Response(body=out, content_type="text/plain", charset="utf-8",
                            headers={"X-Exit-Code": str(rc)})

    async def container_logs(self, request: web.Request) -> web.StreamResponse:
        ns, name, container = (request.match_info[k] for k in ("namespace", "pod", "container"))
        q = request.query
        w = self.kl.pods.find(ns, name)
        if w is None:
            raise web.HTTPNotFound(text=f'pod "{name}" not found in namespace "{ns}" on this node\n')
        spec = w.pod.get("spec") or {}
        names = [c["name"] for c in (spec.get("initContainers") or []) + (spec.get("containers") or [])
                 + (spec.get("ephemeralContainers") or [])]
        if container not in names:
            raise web.HTTPBadRequest(text=f"container {container} is not valid for pod {name}\n")
        files = logs.log_files(w.sandbox.pod_dir if w.sandbox else logs_dir(self.kl, w.uid), container)
        previous = _bool(q, "previous")
        if previous:
            if len(files) < 2:
                raise web.HTTPBadRequest(
                    text=f'previous terminated container "{container}" in pod "{name}" not found\n')
            path = files[-2]
        elif files:
            path = files[-1]
        else:
            raise web.HTTPBadRequest(
                text=f'container "{container}" in pod "{name}" is waiting to start: ContainerCreating\n')
        opts = dict(tail_lines=_int(q, "tailLines"), since=_since(q), timestamps=_bool(q, "timestamps"),
                    limit_bytes=_int(q, "limitBytes"))
        data, offset = await asyncio.to_thread(logs.render, path, **opts)
        if not _bool(q, "follow") or previous:
            return web.Response(body=data, content_type="text/plain", charset="utf-8")
        resp = web.StreamResponse(headers={"Content-Type": "text/plain; charset=utf-8"})
        await resp.prepare(request)
        try:
            await self._follow(resp, w, container, path, data, offset, opts)
        except ConnectionResetError:          # the client went away
            return resp
        return resp

    async def _follow(self, resp, w, container: str, path: str, data: bytes, offset: int, opts: dict) -> None:
        sent = len(data)
        await resp.write(data)
        limit = opts["limit_bytes"]
        while limit is None or sent < limit:
            live = self.kl.log_is_live(w, container, path)      # checked before reading: no lost tail
            chunk, offset = await asyncio.to_thread(logs.render, path, timestamps=opts["timestamps"], start=offset)
            if chunk:
                if limit is not None:
                    chunk = chunk[: limit - sent]
                await resp.write(chunk)
                sent += len(chunk)
                continue
            if not live:
                break
            await asyncio.sleep(0.2)
        await resp.write_eof()


def logs_dir(kl, uid: str) -> str:
    from .podsandbox import pod_dir
    return pod_dir(kl.cfg.root_dir, uid)
