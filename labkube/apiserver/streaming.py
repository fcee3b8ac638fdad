"""pods/exec, pods/attach and pods/portforward: authenticate (the middleware did), find the
pod's node, and proxy the client's websocket to the kubelet's streaming API over HTTPS with
the apiserver-kubelet-client certificate (docs/contracts.md).

The apiserver does not interpret the streams: it picks the subprotocol the client offers
that we support (`v5.channel.k8s.io`/`v4.channel.k8s.io` for exec and attach,
`SPDY/3.1+portforward.k8s.io` for port-forward, as kubectl 1.31+ sends), dials the kubelet
with that same subprotocol and copies messages both ways. A request that is not a
websocket upgrade (kubectl's SPDY fallback) gets a Status saying so; kubectl only falls
back when the websocket attempt failed, so that Status carries the real reason when we
know it: the pod or container not running by its status, or what the kubelet answered the
websocket attempt a moment before (a container that has just exited: `kubectl run -i --rm`
of a quick command falls back to its logs with that reason, as with a real apiserver).
"""
from __future__ import annotations

import time

import aiohttp
from aiohttp import web

from ..api import errors
from ..api.resources import resource
from ..wsrelay import relay
from . import keys
from .logs import _container, kubelet_address
from .paths import Target
from .registry import Registry

CHANNEL_PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
PORTFORWARD_PROTOCOLS = ("SPDY/3.1+portforward.k8s.io",)
KUBELET_PATHS = {"exec": "exec", "attach": "attach", "portforward": "portForward"}
FAILURE_MEMORY_S = 30.0     # how long a refused websocket attempt's reason answers the SPDY fallback


class RecentFailures:
    """Why the kubelet refused a pod's streaming request, kept briefly for kubectl's SPDY retry of it."""

    def __init__(self, clock=time.monotonic, limit: int = 256):
        self._clock, self._limit = clock, limit
        self._seen: dict[tuple, tuple[float, str]] = {}

    def remember(self, key: tuple, reason: str) -> None:
        self._seen.pop(key, None)
        self._seen[key] = (self._clock(), reason)
        while len(self._seen) > self._limit:
            del self._seen[next(iter(self._seen))]

    def recall(self, key: tuple) -> str | None:
        at, reason = self._seen.get(key, (None, None))
        if at is None or self._clock() - at > FAILURE_MEMORY_S:
            return None
        return reason


def _offered(request: web.Request) -> list[str]:
    raw = ",".join(request.headers.getall("Sec-WebSocket-Protocol", []))
    return [p.strip() for p in raw.split(",") if p.strip()]


def choose_protocol(sub: str, offered: list[str]) -> str | None:
    """The first protocol we support, in our order of preference, that the client offers."""
    ours = PORTFORWARD_PROTOCOLS if sub == "portforward" else CHANNEL_PROTOCOLS
    return next((p for p in ours if p in offered), None)


def _check_running(pod: dict, container: str | None, name: str) -> str:
    st = pod.get("status") or {}
    node = (pod.get("spec") or {}).get("nodeName")
    if not node or st.get("phase") in ("Succeeded", "Failed", "Pending", None):
        raise errors.bad_request(f"unable to upgrade connection: pod {name} is not running "
                                 f"(current phase is {st.get('phase') or 'Pending'})")
    if container:
        cs = [c for c in (st.get("containerStatuses") or []) + (st.get("initContainerStatuses") or [])
              + (st.get("ephemeralContainerStatuses") or [])
              if c.get("name") == container]
        if cs and "running" not in (cs[0].get("state") or {}):
            raise errors.bad_request(f"unable to upgrade connection: container {container} not found "
                                     f"in pod {name} or not running")
    return node


async def serve(request: web.Request, reg: Registry, t: Target) -> web.StreamResponse:
    pod = await reg.get(t.res, t.namespace, t.name)
    container = None if t.sub == "portforward" else _container(pod, request.query.get("container"), t.name)
    if t.sub == "exec" and not request.query.getall("command", []):
        raise errors.bad_request("you must specify at least one command for the container")
    node_name = _check_running(pod, container, t.name)
    failures = request.app.get(keys.STREAM_FAILURES)
    key = (t.namespace, t.name, t.sub, container)
    if request.headers.get("Upgrade", "").lower() != "websocket":
        earlier = failures.recall(key) if failures is not None else None
        if earlier:
            raise errors.bad_request(f"unable to upgrade connection: {earlier}")
        raise errors.bad_request(f"unable to upgrade connection: pods/{t.sub} is served over websockets only "
                                 "(v5.channel.k8s.io, SPDY/3.1+portforward.k8s.io); SPDY is not supported")
    proto = choose_protocol(t.sub, _offered(request))
    if proto is None:
        raise errors.bad_request(f"unable to upgrade connection: none of the offered subprotocols "
                                 f"{_offered(request)} is supported")
    ssl_ctx = request.app.get(keys.KUBELET_SSL)
    if ssl_ctx is None:
        raise errors.ApiError(503, "ServiceUnavailable", "the apiserver has no kubelet client certificate configured")
    try:
        node = await reg.get(resource("nodes"), None, node_name)
    except errors.ApiError:
        raise errors.ApiError(503, "ServiceUnavailable", f'node "{node_name}" of pod "{t.name}" is not registered') \
            from None
    host, port = kubelet_address(node)
    path = f"/{KUBELET_PATHS[t.sub]}/{t.namespace}/{t.name}" + (f"/{container}" if container else "")
    url = f"https://{host}:{port}{path}"
    session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=10))
    try:
        try:
            upstream = await session.ws_connect(url, params=list(request.query.items()), protocols=(proto,),
                                                ssl=ssl_ctx, max_msg_size=0, autoping=True)
        except aiohttp.WSServerHandshakeError as e:
            reason = await _kubelet_says(session, url, request, ssl_ctx) or e.message
            if failures is not None:
                failures.remember(key, reason)
            raise errors.ApiError(e.status if e.status < 500 else 502, "BadRequest" if e.status < 500
                                  else "InternalError", f"unable to upgrade connection: {reason}") from None
        except (aiohttp.ClientError, OSError) as e:
            raise errors.ApiError(502, "InternalError", f"error dialing the kubelet at {url}: {e}") from None
        ws = web.WebSocketResponse(protocols=(proto,), max_msg_size=0)
        await ws.prepare(request)
        try:
            await relay(upstream, ws, forward_close_code=False)
        finally:
            await upstream.close()
            await ws.close()
        return ws
    finally:
        await session.close()


async def _kubelet_says(session: aiohttp.ClientSession, url: str, request: web.Request, ssl_ctx) -> str | None:
    """The text of the kubelet's refusal (the websocket handshake drops it): the same request once
    more without the upgrade, whose checks come first ("container c is not running in pod ns/p").
    The kubelet runs nothing for a request that is no upgrade: its streaming routes refuse it
    (ws.prepare) before starting the command, the attach or the forwarding (a test pins this)."""
    try:
        async with session.get(url, params=list(request.query.items()), ssl=ssl_ctx,
                               timeout=aiohttp.ClientTimeout(total=5)) as r:
            if r.status >= 400:
                return (await r.text()).strip()[:500] or None
    except (aiohttp.ClientError, OSError, TimeoutError):
        pass
    return None
