"""Build and run the apiserver's aiohttp application (HTTPS with client-cert authentication)."""
from __future__ import annotations

import asyncio
import logging
import signal

from aiohttp import web

from .. import gctuning
from ..storage import open_storage
from . import access, aggregator, crd, discovery, openapi, rest, routing, system
from .admission import admit_create
from .quota import quota_guard
from .allocator import ServiceAllocator
from .bootstrap import bootstrap
from .config import ApiserverConfig
from .fastget import FastAppRunner
from .middleware import auth_middleware, errors_middleware
from .registry import Registry
from .streaming import RecentFailures
from .tls import client_context, server_context
from . import keys

log = logging.getLogger(__name__)
MAX_BODY = 8 * 1024 * 1024


def make_app(config: ApiserverConfig, authenticate: bool = True) -> web.Application:
    mws = [errors_middleware] + ([auth_middleware] if authenticate else []) + [aggregator.middleware]
    app = web.Application(middlewares=mws, client_max_size=MAX_BODY)
    app[keys.CONFIG] = config
    app[keys.STATE] = {"ready": False, "authorize": authenticate}
    app[keys.STREAM_FAILURES] = RecentFailures()
    r = app.router
    r.add_get("/version", system.version)
    for p in ("/healthz", "/readyz", "/livez"):
        r.add_get(p, system.health)
        r.add_get(p + "/{check:.*}", system.health)
    r.add_get("/api", discovery.api_root)
    r.add_get("/api/", discovery.api_root)
    r.add_get("/api/v1", discovery.api_v1)
    r.add_get("/api/v1/", discovery.api_v1)
    r.add_get("/apis", discovery.apis_root)
    r.add_get("/apis/", discovery.apis_root)
    r.add_get("/apis/{group}", discovery.api_group)
    r.add_get("/apis/{group}/{version}", discovery.api_group_version)
    r.add_get("/apis/{group}/{version}/", discovery.api_group_version)
    core = r.add_route("*", "/api/{version}/{rest:.+}", rest.handle)
    groups = r.add_route("*", "/apis/{group}/{version}/{rest:.+}", rest.handle)
    routing.install(app, core, groups)
    r.add_get("/openapi/v2", openapi.v2)
    r.add_get("/openapi/v3", openapi.root)
    r.add_get("/openapi/v3/{rest:.+}", openapi.group_version)
    app.cleanup_ctx.append(_lifecycle)
    app.on_shutdown.append(_end_watches)
    return app


async def _end_watches(app: web.Application) -> None:
    """Finish open watch streams at once so shutdown does not wait for them."""
    if keys.REGISTRY in app:
        app[keys.REGISTRY].storage.end_watches()


async def _lifecycle(app: web.Application):
    cfg: ApiserverConfig = app[keys.CONFIG]
    storage = await open_storage(cfg.storage, history=cfg.watch_history)
    reg = Registry(storage, ServiceAllocator(cfg.service_cluster_ip_range))
    reg.admit = admit_create
    reg.create_guard = quota_guard
    reg.after_write = crd.after_write
    await crd.load_all(reg)
    app[keys.REGISTRY] = reg
    if cfg.kubelet_certificate_authority:
        app[keys.KUBELET_SSL] = client_context(cfg.kubelet_certificate_authority, cfg.kubelet_client_certificate,
                                            cfg.kubelet_client_key)
    await bootstrap(reg, cfg.bind_address if cfg.bind_address not in ("0.0.0.0", "::") else "127.0.0.1",
                    cfg.secure_port)
    if app[keys.STATE]["authorize"]:
        await access.start(app, reg, cfg.tls_private_key_file, cfg.client_ca_file)  # roles, RBAC cache, tokens
    await aggregator.start(app, reg, cfg.kubelet_client_certificate, cfg.kubelet_client_key)   # APIServices
    app[keys.STATE]["ready"] = True
    log.info("storage %s open at revision %d", cfg.storage.get("path"), storage.revision)
    yield
    app[keys.STATE]["ready"] = False
    await aggregator.stop(app)
    await access.stop(app)
    await storage.close()


async def serve(config: ApiserverConfig, access_log: bool = False) -> None:
    """Run until SIGTERM/SIGINT (access_log: one log line per request)."""
    ssl_ctx = server_context(config.tls_cert_file, config.tls_private_key_file, config.client_ca_file)
    app = make_app(config)
    runner = FastAppRunner(app, access_log=logging.getLogger("labkube.apiserver.access") if access_log else None,
                           shutdown_timeout=2)
    await runner.setup()  # the store is open and bootstrapped: the long-lived start-up state exists
    # out of the collector's sight, collections rarer (LABKUBE_GC=default opts out): measured under
    # bench/apiserver.py load, GC time fell from ~360 ms to ~35 ms per 5,000 creates + 5,000 GETs
    # and the longest pause from ~60 ms (full collections over ~40k start-up objects) to ~8 ms
    gctuning.tune(component="apiserver")
    for addr in config.listen_addresses:
        await web.TCPSite(runner, addr, config.secure_port, ssl_context=ssl_ctx, reuse_address=True).start()
        log.info("listening on https://%s:%d", addr, config.secure_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()
    log.info("stopped")
