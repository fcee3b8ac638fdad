"""pods/exec for `kubectl exec` (non-interactive): the websocket v5/v4 channel protocol on the
client side, the kubelet's `POST /run/<ns>/<pod>/<container>?command=...` on the node side.

The command's output goes to the client on channel 1 (stdout), then one Status on channel 3:
Success, or NonZeroExitCode carrying the exit code (kubectl exits with it). Stdin and TTY
are not forwarded. The SPDY fallback is answered with a Status explaining that.
"""
from __future__ import annotations

import json

import aiohttp
from aiohttp import web

from ..api import errors
from ..api.resources import resource
from . import keys
from .logs import _container, kubelet_address
from .paths import Target
from .registry import Registry

PROTOCOLS = ("v5.channel.k8s.io", "v4.channel.k8s.io")
CHUNK = 32 * 1024


async def _kubelet_run(request: web.Request, reg: Registry, t: Target, container: str, node_name: str, cmd: list):
    node = await reg.get(resource("nodes"), None, node_name)
    host, port = kubelet_address(node)
    ssl_ctx = request.app.get(keys.KUBELET_SSL)
    if ssl_ctx is None:
        raise errors.ApiError(503, "ServiceUnavailable", "the apiserver has no kubelet client certificate configured")
    url = f"https://{host}:{port}/run/{t.namespace}/{t.name}/{container}"
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None, sock_connect=10)) as s:
        async with s.post(url, params=[("command", c) for c in cmd], ssl=ssl_ctx) as up:
            body = await up.read()
            if up.status != 200:
                raise errors.ApiError(up.status if up.status < 500 else 502, "BadRequest" if up.status < 500
                                      else "InternalError", body.decode(errors="replace").strip()[:500])
            return int(up.headers.get("X-Exit-Code", "0")), body


def _status(rc: int, message: str = "") -> bytes:
    if message:
        st = {"metadata": {}, "status": "Failure", "message": message, "reason": "InternalError"}
    elif rc == 0:
        st = {"metadata": {}, "status": "Success"}
    else:
        st = {"metadata": {}, "status": "Failure", "reason": "NonZeroExitCode",
              "message": f"command terminated with non-zero exit code: {rc}",
              "details": {"causes": [{"reason": "ExitCode", "message": str(rc)}]}}
    return b"\x03" + json.dumps(st).encode()


async def serve(request: web.Request, reg: Registry, t: Target) -> web.StreamResponse:
    pod = await reg.get(t.res, t.namespace, t.name)
    container = _container(pod, request.query.get("container"), t.name)
    cmd = request.query.getall("command", [])
    if not cmd:
        raise errors.bad_request("you must specify at least one command for the container")
    node_name = (pod.get("spec") or {}).get("nodeName")
    if not node_name or (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        raise errors.bad_request(f"cannot exec into a container in a completed or unscheduled pod; "
                                 f"current phase is {(pod.get('status') or {}).get('phase', 'Pending')}")
    if request.headers.get("Upgrade", "").lower() != "websocket":
        raise errors.bad_request("this server speaks the websocket exec protocol (v5.channel.k8s.io) only")
    ws = web.WebSocketResponse(protocols=PROTOCOLS)
    await ws.prepare(request)
    try:
        rc, out = await _kubelet_run(request, reg, t, container, node_name, cmd)
        for i in range(0, len(out), CHUNK):
            await ws.send_bytes(b"\x01" + out[i:i + CHUNK])
        await ws.send_bytes(_status(rc))
    except errors.ApiError as e:
        await ws.send_bytes(_status(1, e.message))
    except (aiohttp.ClientError, OSError) as e:
        await ws.send_bytes(_status(1, f"error talking to the kubelet: {e}"))
    await ws.close()
    return ws
