"""API aggregation (kube-aggregator's part of kube-apiserver): an `APIService`
(apiregistration.k8s.io/v1) naming a Service makes `/apis/<group>/<version>/...` a proxy to
that Service's endpoints, so `metrics.k8s.io/v1beta1` reaches the metrics-server.

- Routing: `middleware` (after authentication and RBAC, as upstream authorizes every request
  before the aggregator proxies it) sends `/apis/<group>` (answered here: an APIGroup from the
  APIServices) and `/apis/<group>/<version>[/...]` of a Service-backed APIService to the backend.
- Backend: the Service's port `spec.service.port` (default 443) resolved through its Endpoints to
  an address and target port (upstream's `--enable-aggregator-routing`: the apiserver does not
  rely on kube-proxy), dialled over TLS with the APIService's `caBundle` (or
  `insecureSkipTLSVerify`) for the name `<service>.<namespace>.svc`.
- Identity: as Kubernetes' front proxy, the request carries `X-Remote-User`, `X-Remote-Group`
  (one header per group) and `X-Remote-Extra-*`; the apiserver authenticates to the backend with
  its client certificate. Lab equivalent of upstream's separate front-proxy CA and
  `proxy-client` certificate: the apiserver-kubelet-client certificate of the lab CA (config keys
  `kubelet_client_certificate`/`_key`), whose CN the backend lists as an allowed name. The
  caller's own credentials (Authorization, Impersonate-*) are not passed on.
- Unavailable backend (no Service, no ready endpoint, connection refused): 503 ServiceUnavailable
  naming the APIService and why, as upstream's `service unavailable`.
- Availability and discovery: apiservice_checks.py.
"""
from __future__ import annotations

import asyncio
import base64
import logging
import ssl
import time

import aiohttp
from aiohttp import web

from .. import jsonio
from ..api.errors import ApiError
from ..api.resources import resource
from ..storage import KeyNotFound
from . import apiservice_checks, keys
from .httputil import reply

log = logging.getLogger(__name__)
PREFIX = "/registry/apiservices/"
HOP_HEADERS = {"host", "connection", "authorization", "keep-alive", "transfer-encoding", "upgrade",
               "proxy-authorization", "te", "trailer", "content-length"}


class Unavailable(Exception):
    """The backend of an APIService cannot be reached; the message says why."""


def unavailable_status(svc: dict, why: str) -> dict:
    spec = svc.get("spec") or {}
    ref = spec.get("service") or {}
    return ApiError(503, "ServiceUnavailable", f"the server is currently unable to handle the request: "
                    f"{spec.get('group')}/{spec.get('version')} is served by the APIService "
                    f"{svc['metadata']['name']} (Service {ref.get('namespace')}/{ref.get('name')}), which is "
                    f"unavailable: {why}").status()


def connection_error(e: Exception) -> str:
    """One line for a failed connection to a backend (aiohttp's own text names the SSL context)."""
    if isinstance(e, aiohttp.ClientConnectorError):
        return f"cannot connect to {e.host}:{e.port}: {e.os_error.strerror or e.os_error}"
    if isinstance(e, asyncio.TimeoutError):
        return "no answer in time"
    return f"{type(e).__name__}: {e}"


def proxy_headers(headers, user) -> dict:
    """The request's headers as sent to the backend: hop-by-hop headers and the caller's
    credentials dropped, the caller's identity added as front-proxy headers."""
    out = [(k, v) for k, v in headers.items()
           if k.lower() not in HOP_HEADERS and not k.lower().startswith(("impersonate-", "x-remote-"))]
    if user is not None:
        out.append(("X-Remote-User", user.name))
        out.extend(("X-Remote-Group", g) for g in user.groups)
    return out


def pick_endpoint(service: dict, endpoints: dict | None, port: int) -> tuple[str, int]:
    """(address, port) behind a Service's port `port`: the first ready address of its Endpoints
    whose port has the Service port's name (Unavailable when there is none)."""
    sp = next((p for p in (service.get("spec") or {}).get("ports") or [] if p.get("port") == port), None)
    if sp is None:
        raise Unavailable(f"the Service has no port {port}")
    for subset in (endpoints or {}).get("subsets") or []:
        ports = subset.get("ports") or []
        ep = next((p for p in ports if p.get("name", "") == sp.get("name", "")), None)
        if ep is None and isinstance(sp.get("targetPort"), int):
            ep = {"port": sp["targetPort"]}
        addrs = subset.get("addresses") or []
        if ep is not None and addrs:
            return addrs[0]["ip"], int(ep["port"])
    raise Unavailable("the Service has no ready endpoint")


class Aggregator:
    def __init__(self, reg, client_cert: str | None, client_key: str | None):
        self.reg, self.client_cert, self.client_key = reg, client_cert, client_key
        self.by_group: dict[str, list[dict]] = {}              # group -> APIServices, by versionPriority
        self.resources: dict[str, tuple[dict | None, bool]] = {}   # "g/v" -> (APIResourceList, fresh)
        self._seen_changes: object = -1
        self._read_at = 0.0
        self._contexts: dict[tuple[str, bool], ssl.SSLContext] = {}
        self.session: aiohttp.ClientSession | None = None
        self.task: asyncio.Task | None = None

    # -- the APIServices -----------------------------------------------------------------------

    def stale(self) -> bool:
        """Whether the APIServices may have changed since they were read (a change count of the
        store when it keeps one, else every 2 s)."""
        changes = self.reg.storage.changes(PREFIX)
        if changes is None:
            return time.monotonic() - self._read_at > 2.0
        return changes != self._seen_changes

    async def refresh(self) -> None:
        """Re-read the APIServices when storage says they changed."""
        if not self.stale():
            return
        changes = self.reg.storage.changes(PREFIX)
        self._read_at = time.monotonic()
        items, _ = await self.reg.storage.list(PREFIX, latest=True)
        by_group: dict[str, list[dict]] = {}
        for _k, obj, _rev in items:
            spec = obj.get("spec") or {}
            if spec.get("service") and spec.get("group") and spec.get("version"):
                by_group.setdefault(spec["group"], []).append(obj)
        for svcs in by_group.values():
            svcs.sort(key=lambda o: -int((o.get("spec") or {}).get("versionPriority") or 0))
        self.by_group, self._seen_changes = by_group, changes

    def find(self, group: str, version: str) -> dict | None:
        return next((s for s in self.by_group.get(group, ()) if s["spec"]["version"] == version), None)

    # -- the backend -----------------------------------------------------------------------------

    def _context(self, spec: dict) -> ssl.SSLContext | bool:
        if spec.get("insecureSkipTLSVerify"):
            return False if not self.client_cert else self._ctx("", True)
        return self._ctx(spec.get("caBundle") or "", False)

    def _ctx(self, ca_b64: str, insecure: bool) -> ssl.SSLContext:
        ctx = self._contexts.get((ca_b64, insecure))
        if ctx is None:
            ctx = ssl.create_default_context(cadata=base64.b64decode(ca_b64).decode() if ca_b64 else None)
            if insecure:
                ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
            if self.client_cert and self.client_key:
                ctx.load_cert_chain(self.client_cert, self.client_key)
            self._contexts[(ca_b64, insecure)] = ctx
        return ctx

    async def backend(self, svc: dict) -> tuple[str, str, ssl.SSLContext | bool]:
        """(base URL, TLS server name, TLS context) of an APIService's backend, or Unavailable."""
        spec = svc["spec"]
        ref = spec["service"]
        ns, name, port = ref.get("namespace", "default"), ref.get("name", ""), int(ref.get("port") or 443)
        try:
            service, _ = await self.reg.storage.get(f"/registry/services/{ns}/{name}")
        except KeyNotFound:
            raise Unavailable(f'service "{ns}/{name}" not found') from None
        try:
            endpoints, _ = await self.reg.storage.get(f"/registry/endpoints/{ns}/{name}")
        except KeyNotFound:
            endpoints = None
        addr, target = pick_endpoint(service, endpoints, port)
        host = f"[{addr}]" if ":" in addr else addr
        return f"https://{host}:{target}", f"{name}.{ns}.svc", self._context(spec)

    def client_session(self) -> aiohttp.ClientSession:
        if self.session is None:
            # bodies pass through as the backend encoded them (with their Content-Encoding)
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, connect=5),
                                                 auto_decompress=False)
        return self.session

    async def proxy(self, request: web.Request, svc: dict) -> web.StreamResponse:
        try:
            base, server_name, ctx = await self.backend(svc)
            body = await request.read() if request.can_read_body else None
            resp = await self.client_session().request(
                request.method, base + request.rel_url.raw_path_qs, data=body, ssl=ctx,
                server_hostname=server_name if ctx is not False else None,
                headers=proxy_headers(request.headers, request.get(keys.USER)))
        except Unavailable as e:
            return reply(unavailable_status(svc, str(e)), 503)
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as e:
            return reply(unavailable_status(svc, connection_error(e)), 503)
        async with resp:
            out = web.StreamResponse(status=resp.status, headers={
                k: v for k, v in resp.headers.items() if k.lower() not in HOP_HEADERS})
            await out.prepare(request)
            async for chunk in resp.content.iter_any():
                await out.write(chunk)
            await out.write_eof()
            return out


AGGREGATOR = web.AppKey("aggregator", Aggregator)


@web.middleware
async def middleware(request: web.Request, handler):
    """Requests under an aggregated group go to its backend (after authentication and RBAC)."""
    path = request.path
    if not path.startswith("/apis"):
        return await handler(request)
    agg = request.app.get(AGGREGATOR)
    if agg is None:
        return await handler(request)
    if agg.stale():
        await agg.refresh()
    if not path.startswith("/apis/"):                  # /apis: discovery lists the aggregated groups
        return await handler(request)
    parts = path[6:].split("/", 2)
    if parts[0] not in agg.by_group:
        return await handler(request)
    if len(parts) == 1 or not parts[1]:
        entry = next(g for g in apiservice_checks.legacy_groups(agg) if g["name"] == parts[0])
        return reply({"kind": "APIGroup", "apiVersion": "v1", **entry})
    svc = agg.find(parts[0], parts[1])
    if svc is None:
        return await handler(request)
    return await agg.proxy(request, svc)


async def start(app: web.Application, reg, client_cert: str | None, client_key: str | None) -> None:
    agg = app[AGGREGATOR] = Aggregator(reg, client_cert, client_key)
    await agg.refresh()
    agg.task = asyncio.create_task(apiservice_checks.check_forever(agg))


async def stop(app: web.Application) -> None:
    agg = app.get(AGGREGATOR)
    if agg is None:
        return
    if agg.task is not None:
        agg.task.cancel()
    if agg.session is not None:
        await agg.session.close()


def legacy_groups(app: web.Application) -> list[dict]:
    agg = app.get(AGGREGATOR)
    return apiservice_checks.legacy_groups(agg) if agg is not None else []


def aggregated_items(app: web.Application) -> list[dict]:
    agg = app.get(AGGREGATOR)
    return apiservice_checks.aggregated_items(agg) if agg is not None else []
