"""Client: the async REST client every labkube component uses to talk to the apiserver.

Mutual TLS from a KubeConfig; requests through the lean HTTP/1.1 pool of `http.py`, watches
through aiohttp's streaming client; URLs from `labkube.api.resources`; errors raised as ApiError.
`watch()` yields `{"type", "object"}` events from a line-delimited JSON stream and raises
ApiError for ERROR events (e.g. 410 Expired) so callers can relist. Bodies, replies and watch
events go through `labkube.jsonio` (orjson, with the standard library for what it refuses): every
component decodes every watch event of the resources it follows, so this is most of their
client-side CPU.
"""
from __future__ import annotations

import asyncio
import logging
from time import perf_counter
from typing import Any, AsyncIterator, Callable
from urllib.parse import urlencode

import aiohttp

from labkube import jsonio
from labkube.api.resources import Resource, resource

from .errors import ApiError
from .http import ConnectionPool
from .pipelined import PipelinedPool
from .kubeconfig import KubeConfig

log = logging.getLogger(__name__)
KEEPALIVE_S = 60.0

PATCH_TYPES = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
    "apply": "application/apply-patch+yaml",
}


def as_resource(res: str | Resource) -> Resource:
    return res if isinstance(res, Resource) else resource(res)


def fill_kind(items: list[dict], res: Resource) -> list[dict]:
    """List items come without kind/apiVersion; put them back for the caller's convenience."""
    for it in items:
        it.setdefault("kind", res.kind)
        it.setdefault("apiVersion", res.api_version)
    return items


MAX_IN_FLIGHT = 32
# the longest a watch reads lines already received before it lets the process's other tasks run:
# a watcher that was stopped or fell behind gets thousands of events at once (a scheduler continued
# with a backlog of 2,000 pending pods read them for ~90 ms and bound few meanwhile)
WATCH_SLICE = 0.001


class Client:
    """Async Kubernetes API client. Use as `async with Client(cfg) as c:`.

    At most `max_in_flight` requests (not counting watches) are sent at once; more wait their
    turn. Each request in flight needs its own HTTP/1.1 connection, and each TLS connection
    costs the process about half a megabyte (buffers), so an unbounded burst (a ReplicaSet
    creating a hundred pods per worker, a scheduler binding a backlog) would leave hundreds of
    connections and their memory behind; 32 keep the apiserver's write batches full."""

    def __init__(self, config: KubeConfig, *, timeout: float = 30.0, user_agent: str = "labkube",
                 max_in_flight: int = MAX_IN_FLIGHT, pipeline: int = 0):
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, got {max_in_flight}")
        self.config = config
        self.max_in_flight = max_in_flight
        self.pipeline = pipeline        # > 0: requests go pipelined on that many connections (PipelinedPool)
        self._pipelined: list[Client] = []   # made by pipelined(), closed with this one
        self._slots: asyncio.Semaphore | None = None
        self.base = config.server.rstrip("/")
        self._timeout = timeout
        self._headers = {"User-Agent": user_agent, "Accept": "application/json"}
        if config.token:
            self._headers["Authorization"] = f"Bearer {config.token}"
        self._session: aiohttp.ClientSession | None = None      # watches
        self._pool: ConnectionPool | None = None                 # every other request
        # kubeconfig tls-server-name: the name to verify the serving certificate against
        self._tls_name = {"server_hostname": config.tls_server_name} if config.tls_server_name else {}

    @classmethod
    def from_kubeconfig(cls, path: str, **kw) -> "Client":
        return cls(KubeConfig.load(path), **kw)

    async def __aenter__(self) -> "Client":
        self._ensure_session()
        return self

    async def __aexit__(self, *exc) -> None:
        await self.close()

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            ssl_ctx = self.config.ssl_context()
            # no connection cap: every watch holds a connection for its lifetime (HTTP/1.1), and a
            # controller-manager watches dozens of resources at once. Idle connections are kept a
            # minute (aiohttp's default is 15 s): bursty callers otherwise pay a TLS handshake on
            # both sides for most connections of each burst (the apiserver closes idle ones at 75 s)
            conn = aiohttp.TCPConnector(ssl=ssl_ctx if ssl_ctx is not None else False, limit=0,
                                        keepalive_timeout=KEEPALIVE_S)
            self._session = aiohttp.ClientSession(connector=conn, headers=self._headers)
        return self._session

    def _ensure_pool(self) -> ConnectionPool:
        if self._pool is None or self._pool._closed:
            if self.pipeline:
                self._pool = PipelinedPool(self.base, self.config.ssl_context(), self._headers,
                                           server_hostname=self.config.tls_server_name or None,
                                           keepalive=KEEPALIVE_S, connections=self.pipeline)
            else:
                self._pool = ConnectionPool(self.base, self.config.ssl_context(), self._headers,
                                            server_hostname=self.config.tls_server_name or None,
                                            keepalive=KEEPALIVE_S)
        return self._pool

    def pipelined(self, connections: int) -> "Client":
        """A Client for many small requests in flight at once (a scheduler's bindings, kubelets'
        status writes): the same server, credentials, User-Agent, timeout and max_in_flight, its
        requests pipelined on at most `connections` connections (pipelined.PipelinedPool) instead of one
        connection per request in flight. Closed with this Client."""
        c = Client(self.config, timeout=self._timeout, user_agent=self._headers["User-Agent"],
                   max_in_flight=self.max_in_flight, pipeline=connections)
        self._pipelined.append(c)
        return c

    def keep_warm(self, n: int) -> None:
        """Have the request pool hold `n` connections (at most max_in_flight), opening the
        missing ones in the background: for a caller about to have that many requests in
        flight, so the burst does not pay a TLS handshake per extra request in the middle of it
        (ConnectionPool.keep_warm). Needs a running loop."""
        self._ensure_pool().keep_warm(min(n, self.max_in_flight))

    async def close(self) -> None:
        for c in self._pipelined:
            await c.close()
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    # -- plumbing -------------------------------------------------------------------------

    def url(self, path: str, query: dict | None = None) -> str:
        q = {k: _qv(v) for k, v in (query or {}).items() if v is not None}
        return self.base + path + ("?" + urlencode(q) if q else "")

    async def request(self, method: str, path: str, *, query: dict | None = None, body: Any = None,
                      content_type: str = "application/json", raw: bool = False,
                      timeout: float | None = None, limited: bool = True, reply: bool = True) -> Any:
        """One request; returns parsed JSON (or text when raw); raises ApiError on >= 400.
        limited=False: not counted against max_in_flight (long-lived streams such as followed logs).
        reply=False: the caller does not read the reply; None is returned without decoding it.
        Sent through the lean connection pool of `http.py`, not aiohttp (its per-request work
        was as much CPU as the request's TLS and JSON)."""
        pool = self._pool if self._pool is not None else self._ensure_pool()
        data = jsonio.dumps(body) if body is not None else None
        if query:
            q = {k: _qv(v) for k, v in query.items() if v is not None}
            if q:
                path = path + "?" + urlencode(q)
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.max_in_flight)
        if limited:
            # what `async with self._slots` does, without its coroutines around acquire and release
            slots = self._slots
            await slots.acquire()
            try:
                status, payload = await pool.request(method, path, data, content_type, timeout or self._timeout)
            finally:
                slots.release()
        else:
            status, payload = await pool.request(method, path, data, content_type, timeout or self._timeout)
        if status >= 400:
            raise ApiError.from_body(status, payload)
        if not reply:
            return None
        if raw:
            return payload.decode("utf-8", "replace")
        if not payload:
            return {}
        return jsonio.loads(payload)

    # -- verbs ----------------------------------------------------------------------------

    async def get(self, res, name: str, namespace: str | None = None) -> dict:
        r = as_resource(res)
        return await self.request("GET", r.path(namespace, name))

    async def list_raw(self, res, namespace: str | None = None, label_selector: str | None = None,
                       field_selector: str | None = None, resource_version: str | None = None) -> dict:
        """The whole List object (items plus metadata.resourceVersion), as informers need."""
        r = as_resource(res)
        out = await self.request("GET", r.path(namespace), query={
            "labelSelector": label_selector or None, "fieldSelector": field_selector or None,
            "resourceVersion": resource_version})
        fill_kind(out.get("items") or [], r)
        out["items"] = out.get("items") or []
        return out

    async def list(self, res, namespace: str | None = None, label_selector: str | None = None,
                   field_selector: str | None = None) -> list[dict]:
        return (await self.list_raw(res, namespace, label_selector, field_selector))["items"]

    async def create(self, res, obj: dict, namespace: str | None = None) -> dict:
        r = as_resource(res)
        ns = namespace or (obj.get("metadata") or {}).get("namespace") if r.namespaced else None
        return await self.request("POST", r.path(ns), body=obj)

    async def replace(self, res, name: str, obj: dict, namespace: str | None = None,
                      subresource: str | None = None) -> dict:
        r = as_resource(res)
        ns = namespace or (obj.get("metadata") or {}).get("namespace") if r.namespaced else None
        return await self.request("PUT", r.path(ns, name, subresource), body=obj)

    async def patch(self, res, name: str, patch, namespace: str | None = None,
                    patch_type: str = "merge", subresource: str | None = None, reply: bool = True) -> dict | None:
        """The patched object; None with reply=False (a caller that does not read it, such as a
        kubelet posting pod status, saves decoding the whole object)."""
        r = as_resource(res)
        return await self.request("PATCH", r.path(namespace, name, subresource), body=patch,
                                  content_type=PATCH_TYPES[patch_type], reply=reply)

    async def delete(self, res, name: str, namespace: str | None = None,
                     grace_period_seconds: int | None = None, propagation_policy: str | None = None,
                     preconditions: dict | None = None) -> dict:
        r = as_resource(res)
        opts: dict = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            opts["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy:
            opts["propagationPolicy"] = propagation_policy
        if preconditions:
            opts["preconditions"] = preconditions
        return await self.request("DELETE", r.path(namespace, name), body=opts)

    async def delete_collection(self, res, namespace: str | None = None, label_selector: str | None = None,
                                field_selector: str | None = None, grace_period_seconds: int | None = None,
                                propagation_policy: str | None = None) -> list[dict]:
        """DELETE on a collection (deletecollection); returns the objects as deleted or marked."""
        r = as_resource(res)
        opts: dict = {"kind": "DeleteOptions", "apiVersion": "v1"}
        if grace_period_seconds is not None:
            opts["gracePeriodSeconds"] = grace_period_seconds
        if propagation_policy:
            opts["propagationPolicy"] = propagation_policy
        out = await self.request("DELETE", r.path(namespace), body=opts, query={
            "labelSelector": label_selector or None, "fieldSelector": field_selector or None})
        return fill_kind(out.get("items") or [], r)

    async def post_subresource(self, res, name: str, sub: str, body: dict,
                               namespace: str | None = None) -> dict:
        r = as_resource(res)
        return await self.request("POST", r.path(namespace, name, sub), body=body)

    async def watch(self, res, namespace: str | None = None, resource_version: str | None = None,
                    label_selector: str | None = None, field_selector: str | None = None,
                    timeout_seconds: int | None = None, allow_bookmarks: bool = False,
                    raise_errors: bool = True,
                    decode_line: Callable[[bytes], bool] | None = None) -> AsyncIterator[dict]:
        """Yield watch events until the server ends the stream. ERROR events (e.g. 410 Expired)
        raise ApiError, or are yielded like any other event with raise_errors=False. A line
        for which decode_line(line) is False is skipped without being decoded (see
        Informer's select_hint)."""
        r = as_resource(res)
        session = self._ensure_session()
        url = self.url(r.path(namespace), {
            "watch": "true", "resourceVersion": resource_version,
            "labelSelector": label_selector or None, "fieldSelector": field_selector or None,
            "timeoutSeconds": timeout_seconds,
            "allowWatchBookmarks": "true" if allow_bookmarks else None})
        # a server that was asked to end the watch after timeout_seconds and stays silent for
        # longer is gone (half-open connection): give up so the caller re-watches
        tmo = aiohttp.ClientTimeout(total=None, sock_connect=self._timeout,
                                    sock_read=timeout_seconds + 30 if timeout_seconds else None)
        async with session.get(url, timeout=tmo, **self._tls_name) as resp:
            if resp.status >= 400:
                raise ApiError.from_body(resp.status, await resp.read())
            buf = b""           # the start of a line whose end has not come yet (no newline in it)
            async for chunk in resp.content.iter_any():
                # one split per chunk: a chunk holding many events (a watcher that fell behind)
                # must not be copied once per line, nor whole to join the line held over (it
                # joins the chunk's first piece)
                lines = chunk.split(b"\n")
                if buf:
                    lines[0] = buf + lines[0]
                buf = lines.pop()
                due = perf_counter() + WATCH_SLICE
                for line in lines:
                    if perf_counter() >= due:   # a long run of buffered lines: let other tasks in
                        await asyncio.sleep(0)
                        due = perf_counter() + WATCH_SLICE
                    if decode_line is not None and not decode_line(line):
                        continue
                    ev = _event(line, r, raise_errors)
                    if ev is not None:
                        yield ev
            if decode_line is not None and not decode_line(buf):
                return
            ev = _event(buf, r, raise_errors)
            if ev is not None:
                yield ev

    async def logs(self, name: str, namespace: str, container: str | None = None,
                   follow: bool = False, tail_lines: int | None = None,
                   previous: bool = False, timestamps: bool = False) -> str:
        r = resource("pods")
        return await self.request("GET", r.path(namespace, name, "log"), raw=True, query={
            "container": container, "follow": "true" if follow else None,
            "tailLines": tail_lines, "previous": "true" if previous else None,
            "timestamps": "true" if timestamps else None},
            timeout=None if not follow else 3600, limited=not follow)


def _qv(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _event(line: bytes, r: Resource, raise_errors: bool = True) -> dict | None:
    line = line.strip()
    if not line:
        return None
    ev = jsonio.loads(line)
    if ev.get("type") == "ERROR":
        if raise_errors:
            raise ApiError.from_status(ev.get("object") or {}, 500)
        return ev
    obj = ev.get("object") or {}
    if ev.get("type") != "BOOKMARK":
        obj.setdefault("kind", r.kind)
        obj.setdefault("apiVersion", r.api_version)
    return ev
