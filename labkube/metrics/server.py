"""The metrics-server's HTTPS API: `/apis/metrics.k8s.io/v1beta1` (its resource list),
`.../nodes[/<name>]`, `.../pods`, `.../namespaces/<ns>/pods[/<name>]` (labelSelector,
fieldSelector), and `/healthz`, `/livez`, `/readyz` (ready after the first scrape cycle).

Who may ask: clients present a certificate of the lab CA. The apiserver's aggregation layer
is trusted as a front proxy, as upstream's requestheader authentication does it: when the
certificate's CN is one of `requestheader_allowed_names`, the request acts as the user in
`X-Remote-User` (groups `X-Remote-Group`). The apiserver has already authorized the request with
RBAC before proxying it (as kube-apiserver does for every aggregated request), so the lab's
metrics-server does not ask again with a SubjectAccessReview; any other certificate is refused
(403): go through the apiserver.
"""
from __future__ import annotations

import logging
import ssl
import time

from aiohttp import web

from labkube.api.errors import ApiError

from . import api

log = logging.getLogger(__name__)
ROOT = f"/apis/{api.GROUP}/{api.VERSION}"
USER = web.AppKey("metrics_user", object)


def peer_cn(request: web.Request) -> str | None:
    transport = request.transport
    sslobj = transport.get_extra_info("ssl_object") if transport is not None else None
    cert = sslobj.getpeercert() if sslobj is not None else None
    for rdn in (cert or {}).get("subject", ()):
        for k, v in rdn:
            if k == "commonName":
                return v
    return None


def _json(doc: dict, code: int = 200) -> web.Response:
    return web.json_response(doc, status=code)


def make_app(source, allowed_names: list[str], authenticate: bool = True) -> web.Application:
    """source: an object with `ready`, `node_items(now)` and `pod_items(now, namespace)` (app.MetricsServer)."""

    @web.middleware
    async def front_proxy(request: web.Request, handler):
        if request.path in ("/healthz", "/livez", "/readyz"):
            return await handler(request)
        if authenticate:
            cn = peer_cn(request)
            if cn not in allowed_names:
                return _json(api.status(403, "Forbidden", f'user "{cn}" is not the apiserver\'s front proxy: ask '
                                        f'the metrics API through the apiserver'), 403)
            if not request.headers.get("X-Remote-User"):
                return _json(api.status(401, "Unauthorized", "Unauthorized"), 401)
        try:
            return await handler(request)
        except ApiError as e:
            return _json(e.status(), e.code)

    app = web.Application(middlewares=[front_proxy])
    r = app.router

    async def health(request):
        return web.Response(text="ok")

    async def readyz(request):
        return web.Response(text="ok") if source.ready else web.Response(status=503, text="no metrics scraped yet")

    async def resources(request):
        return _json(api.RESOURCES)

    def _q(request):
        return request.query.get("labelSelector"), request.query.get("fieldSelector")

    def answer(request, kind: str, items: list[dict], one: bool = False) -> web.Response:
        if api.wants_table(request.headers.get("Accept", "")):
            return _json(api.table(kind, items))
        return _json(items[0]) if one else _json(api.listing(kind, items))

    async def nodes(request):
        return answer(request, "NodeMetrics", api.select(source.node_items(time.time()), *_q(request)))

    async def node(request):
        name = request.match_info["name"]
        found = [o for o in source.node_items(time.time()) if o["metadata"]["name"] == name]
        return answer(request, "NodeMetrics", found, one=True) if found else _json(api.not_found("nodemetrics", name), 404)

    async def pods(request):
        ns = request.match_info.get("namespace")
        return answer(request, "PodMetrics", api.select(source.pod_items(time.time(), ns), *_q(request)))

    async def pod(request):
        ns, name = request.match_info["namespace"], request.match_info["name"]
        found = [o for o in source.pod_items(time.time(), ns) if o["metadata"]["name"] == name]
        return answer(request, "PodMetrics", found, one=True) if found else _json(api.not_found("podmetrics", f"{ns}/{name}"), 404)

    for p in ("/healthz", "/livez"):
        r.add_get(p, health)
    r.add_get("/readyz", readyz)
    r.add_get(ROOT, resources)
    r.add_get(ROOT + "/", resources)
    r.add_get(ROOT + "/nodes", nodes)
    r.add_get(ROOT + "/nodes/{name}", node)
    r.add_get(ROOT + "/pods", pods)
    r.add_get(ROOT + "/namespaces/{namespace}/pods", pods)
    r.add_get(ROOT + "/namespaces/{namespace}/pods/{name}", pod)
    return app


def server_context(cert: str, key: str, client_ca: str) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(client_ca)
    ctx.verify_mode = ssl.CERT_OPTIONAL          # /healthz, /readyz need no certificate
    # no TLS 1.3 session tickets: the clients are the apiserver's aggregator proxy and its
    # APIService availability checks (aiohttp, which never offers a session again) and one-off
    # probes (a new process each time), so the two tickets OpenSSL makes by default after every
    # handshake are CPU for nothing; as for the apiserver's own context (labkube/apiserver/tls.py).
    ctx.num_tickets = 0
    return ctx
