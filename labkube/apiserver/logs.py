"""pods/log: find the pod's node and proxy to the kubelet's HTTPS API (docs/contracts.md),
streaming when `follow=true`."""
from __future__ import annotations

import aiohttp
from aiohttp import web

from ..api import errors
from ..api.resources import resource
from .paths import Target
from .registry import Registry
from . import keys

LOG_PARAMS = ("follow", "tailLines", "timestamps", "sinceSeconds", "sinceTime", "previous", "limitBytes")


def _container(pod: dict, name: str | None, pod_name: str) -> str:
    spec = pod.get("spec") or {}
    names = [c.get("name") for c in spec.get("containers") or []]
    init = [c.get("name") for c in spec.get("initContainers") or []]
    ephemeral = [c.get("name") for c in spec.get("ephemeralContainers") or []]
    if not name:
        if len(names) == 1:
            return names[0]
        raise errors.bad_request(f"a container name must be specified for pod {pod_name}, choose one of: "
                                 f"[{' '.join(names)}]" + (f" or one of the init containers: [{' '.join(init)}]" if init else ""))
    if name not in names + init + ephemeral:
        raise errors.bad_request(f"container {name} is not valid for pod {pod_name}")
    return name


def kubelet_address(node: dict) -> tuple[str, int]:
    st = node.get("status") or {}
    addrs = {a.get("type"): a.get("address") for a in st.get("addresses") or []}
    host = addrs.get("InternalIP") or addrs.get("Hostname") or (node.get("metadata") or {}).get("name")
    port = (((st.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {}).get("Port")) or 10250
    return host, int(port)


async def serve(request: web.Request, reg: Registry, t: Target) -> web.StreamResponse:
    pod = await reg.get(t.res, t.namespace, t.name)
    container = _container(pod, request.query.get("container"), t.name)
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name:
        raise errors.bad_request(f'pod "{t.name}" does not have a host assigned; container "{container}" '
                                 "is not running yet")
    try:
        node = await reg.get(resource("nodes"), None, node_name)
    except errors.ApiError:
        raise errors.ApiError(503, "ServiceUnavailable", f'node "{node_name}" of pod "{t.name}" is not registered') from None
    host, port = kubelet_address(node)
    params = {k: request.query[k] for k in LOG_PARAMS if k in request.query}
    url = f"https://{host}:{port}/containerLogs/{t.namespace}/{t.name}/{container}"
    ssl_ctx = request.app.get(keys.KUBELET_SSL)
    if ssl_ctx is None:
        raise errors.ApiError(503, "ServiceUnavailable", "the apiserver has no kubelet client certificate configured")
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=10)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as s:
            async with s.get(url, params=params, ssl=ssl_ctx) as up:
                if up.status != 200:
                    text = (await up.text())[:500].strip()
                    raise errors.ApiError(up.status if up.status < 500 else 502, "BadRequest" if up.status < 500
                                          else "InternalError", text or f"kubelet answered {up.status}")
                resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
                resp.enable_chunked_encoding()
                await resp.prepare(request)
                try:
                    async for chunk in up.content.iter_any():
                        await resp.write(chunk)
                    await resp.write_eof()
                except (ConnectionResetError, aiohttp.ClientError):
                    pass  # either side went away mid-stream; headers are already sent
                return resp
    except aiohttp.ClientError as e:
        raise errors.ApiError(502, "InternalError", f"Get \"{url}\": {e}") from None
