"""The kubelet's streaming endpoints (what the apiserver proxies pods/exec, pods/attach and
pods/portforward to, over websockets):

    GET /exec/<ns>/<pod>/<container>?command=..&stdin=&stdout=&stderr=&tty=   v5/v4.channel.k8s.io
    GET /attach/<ns>/<pod>/<container>?stdin=&stdout=&tty=  the main process: terminal or log + stdin
    GET /portForward/<ns>/<pod>                      SPDY/3.1+portforward.k8s.io

Errors before the upgrade are plain HTTP answers (404 pod or container not here, 400 bad
query); the apiserver turns them into a Status for the client.
"""
from __future__ import annotations

import asyncio
import os

from aiohttp import web

from ..runtime.base import RuntimeError_
from . import channels, podnet
from .attach import AttachSession
from .execsession import ExecSession
from .portforward import PROTOCOL as PF_PROTOCOL, PortForwardSession


def _flag(q, name: str) -> bool:
    return q.get(name, "").lower() in ("1", "true", "yes")


def add_routes(app: web.Application, kl) -> None:
    h = Handlers(kl)
    app.router.add_route("*", "/exec/{namespace}/{pod}/{container}", h.exec)
    app.router.add_route("*", "/attach/{namespace}/{pod}/{container}", h.attach)
    app.router.add_route("*", "/portForward/{namespace}/{pod}", h.port_forward)


class Handlers:
    def __init__(self, kl):
        self.kl = kl
        self.attached_once: set[str] = set()     # stdinOnce containers whose first attach came

    def _first_attach_of_stdin_once(self, cid: str, stdio) -> bool:
        """True once per `stdin: true, stdinOnce: true` container without a terminal: its first
        attach (kubectl run -i) is given the output from the container's start (attach.py)."""
        if stdio is None or stdio.terminal or not stdio.stdin_once or cid in self.attached_once:
            return False
        self.attached_once.add(cid)
        return True

    def _worker(self, request: web.Request):
        ns, name = request.match_info["namespace"], request.match_info["pod"]
        w = self.kl.pods.find(ns, name)
        if w is None:
            raise web.HTTPNotFound(text=f'pod "{ns}/{name}" is not running on this node\n')
        return w

    def _running(self, request: web.Request):
        w = self._worker(request)
        container = request.match_info["container"]
        cur = w.current(container)
        if cur is None or cur.state != "running":
            raise web.HTTPBadRequest(text=f'container {container} is not running in pod '
                                          f'{w.namespace}/{w.name}\n')
        return w, cur

    async def exec(self, request: web.Request) -> web.StreamResponse:
        _, cur = self._running(request)
        q = request.query
        cmd = q.getall("command", [])
        if not cmd:
            raise web.HTTPBadRequest(text="you must specify at least one command for the container\n")
        tty = _flag(q, "tty")
        rt = self.kl.runtime
        try:
            argv = rt.exec_argv(cur.id, cmd, tty)
        except RuntimeError_ as e:
            raise web.HTTPBadRequest(text=f"{e.message}\n") from None
        console = None
        if tty and getattr(rt, "exec_console_socket", False):
            def console(path: str) -> list:
                return rt.exec_argv(cur.id, cmd, tty, console_socket=path)
        ws = web.WebSocketResponse(protocols=channels.PROTOCOLS, max_msg_size=0)
        await ws.prepare(request)
        await ExecSession(ws, argv, stdin=_flag(q, "stdin"), stdout=_flag(q, "stdout"),
                          stderr=_flag(q, "stderr"), tty=tty, console_argv=console).run()
        await ws.close()
        return ws

    async def attach(self, request: web.Request) -> web.StreamResponse:
        """The container's main process: its terminal, or its log file from now on (from its
        start for a stdinOnce container's first attach) plus its stdin pipe when it keeps one
        (attach.py)."""
        w, cur = self._running(request)
        container = request.match_info["container"]
        from .. import logs
        stdio_of = getattr(self.kl.runtime, "stdio", None)
        stdio = stdio_of(cur.id) if stdio_of else None
        files = logs.log_files(w.sandbox.pod_dir, container) if w.sandbox else []
        path = files[-1] if files else None
        ws = web.WebSocketResponse(protocols=channels.PROTOCOLS, max_msg_size=0)
        await ws.prepare(request)
        await AttachSession(ws, stdio, stdin=_flag(request.query, "stdin"), log_path=path,
                            is_live=lambda: self.kl.log_is_live(w, container, path),
                            from_start=self._first_attach_of_stdin_once(cur.id, stdio)).run()
        await ws.close()
        return ws

    async def port_forward(self, request: web.Request) -> web.StreamResponse:
        w = self._worker(request)
        sb = w.sandbox
        if sb is None or sb.state != "ready":
            raise web.HTTPBadRequest(text=f"pod {w.namespace}/{w.name} has no running sandbox\n")
        host = "127.0.0.1" if sb.host_network or not sb.ip else sb.ip
        netns = sb.netns if sb.netns and not sb.host_network and os.path.exists(sb.netns) else ""
        ws = web.WebSocketResponse(protocols=(PF_PROTOCOL,), max_msg_size=0)
        await ws.prepare(request)

        async def dial(port: int):
            """127.0.0.1:port inside the pod's netns (as the kubelet does), else the pod IP."""
            if netns:
                return await asyncio.wait_for(podnet.open_connection(netns, port), 10)
            return await asyncio.wait_for(asyncio.open_connection(host, port), 10)
        await PortForwardSession(ws, dial).run()
        return ws
