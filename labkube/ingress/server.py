"""The HTTP(S) reverse proxy: forward each request to the pod the routing table chose.

`ReverseProxy(choose)` is an aiohttp low-level handler; `choose(host, path)` answers
`(status, (ip, port) | None, what)`: 200 with an address to forward to, else 404 (no rule) or
503 (the backend has no ready endpoints). The request goes to `http://ip:port` with its method,
path, query, headers (the original Host kept) and body streamed both ways; hop-by-hop headers are
dropped and X-Forwarded-For/-Host/-Proto/-Port and X-Real-IP added, as ingress-nginx does;
WebSocket upgrades are relayed (websocket.py). A pod that refuses or cannot be reached gives 502,
one that does not answer in `read_timeout` 504.
`listen(...)` starts the plain and TLS sites.
"""
from __future__ import annotations

import asyncio
import logging

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from .websocket import is_websocket, proxy_websocket

log = logging.getLogger("labkube.ingress")

HOP_BY_HOP = frozenset(h.lower() for h in (
    "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer",
    "Transfer-Encoding", "Upgrade", "Proxy-Connection"))
PAGES = {404: "default backend - 404", 502: "502 Bad Gateway", 503: "503 Service Temporarily Unavailable",
         504: "504 Gateway Time-out"}


def page(status: int) -> web.Response:
    return web.Response(status=status, text=PAGES[status] + "\n")


def forwarded_headers(request: web.BaseRequest) -> dict:
    """The request's end-to-end headers plus the X-Forwarded-* set a backend expects."""
    skip = HOP_BY_HOP | {h.strip().lower() for h in request.headers.get("Connection", "").split(",")}
    out = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in skip)
    client = request.remote or ""
    before = request.headers.get("X-Forwarded-For")
    out["X-Forwarded-For"] = f"{before}, {client}" if before else client
    out["X-Real-IP"] = client
    out["X-Forwarded-Host"] = request.host
    out["X-Forwarded-Proto"] = request.scheme
    sock = request.transport.get_extra_info("sockname") if request.transport else None
    if sock:
        out["X-Forwarded-Port"] = str(sock[1])
    return out


class ReverseProxy:
    def __init__(self, choose, connect_timeout: float = 5.0, read_timeout: float = 60.0):
        self.choose = choose
        self.timeout = aiohttp.ClientTimeout(total=None, sock_connect=connect_timeout, sock_read=read_timeout)
        self.session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self.session = aiohttp.ClientSession(auto_decompress=False, timeout=self.timeout,
                                             connector=aiohttp.TCPConnector(limit=0, force_close=False))

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def __call__(self, request: web.BaseRequest) -> web.StreamResponse:
        status, addr, what = self.choose(request.host, request.path)
        if addr is None:
            log.debug("%s %s%s -> %d (%s)", request.method, request.host, request.path, status, what)
            return page(status)
        path, _, query = request.raw_path.partition("?")
        url = URL.build(scheme="http", host=addr[0], port=addr[1], path=path, query_string=query, encoded=True)
        if is_websocket(request):
            try:
                return await proxy_websocket(self.session, request, url, forwarded_headers(request))
            except (asyncio.TimeoutError, aiohttp.ClientError) as e:
                log.info("%s %s%s: %s (%s:%d) refused the WebSocket: %r", request.method, request.host,
                         request.path, what, *addr, e)
                return page(502)
        body = request.content if request.body_exists else None
        resp = None
        try:
            async with self.session.request(request.method, url, headers=forwarded_headers(request), data=body,
                                            allow_redirects=False, skip_auto_headers=("User-Agent",
                                            "Accept-Encoding", "Content-Type")) as upstream:
                headers = [(k, v) for k, v in upstream.headers.items() if k.lower() not in HOP_BY_HOP]
                resp = web.StreamResponse(status=upstream.status, reason=upstream.reason, headers=headers)
                await resp.prepare(request)
                async for chunk in upstream.content.iter_any():
                    await resp.write(chunk)
                await resp.write_eof()
                return resp
        except (asyncio.TimeoutError, aiohttp.ClientError) as e:
            if resp is not None:            # the answer has begun: end the connection, as a proxy must
                log.info("%s %s%s: %s (%s:%d) broke off: %r", request.method, request.host, request.path,
                         what, *addr, e)
                raise
            if isinstance(e, aiohttp.ClientError):
                log.info("%s %s%s: %s (%s:%d): %s", request.method, request.host, request.path, what, *addr, e)
                return page(502)
            log.info("%s %s%s: %s (%s:%d) timed out", request.method, request.host, request.path, what, *addr)
            return page(504)


async def listen(handler, host: str, http_port: int, https_port: int, ssl_context) -> web.ServerRunner:
    """Serve handler on host:http_port (plain) and host:https_port (TLS; 0 = none)."""
    runner = web.ServerRunner(web.Server(handler, access_log=None))
    await runner.setup()
    try:
        await web.TCPSite(runner, host, http_port, reuse_address=True).start()
        if https_port:
            await web.TCPSite(runner, host, https_port, ssl_context=ssl_context, reuse_address=True).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner
