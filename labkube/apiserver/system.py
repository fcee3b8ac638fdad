"""Unauthenticated endpoints: /version (reports labkube.KUBE_VERSION), /healthz, /readyz, /livez."""
from __future__ import annotations

import platform

from aiohttp import web

from .. import KUBE_VERSION
from .httputil import reply
from . import keys


def version_info() -> dict:
    major, minor = KUBE_VERSION.lstrip("v").split(".")[:2]
    return {"major": major, "minor": minor, "gitVersion": KUBE_VERSION, "gitCommit": "labkube",
            "gitTreeState": "clean", "buildDate": "2025-01-01T00:00:00Z",
            "goVersion": f"python{platform.python_version()}", "compiler": "gc", "platform": "linux/amd64"}


async def version(request: web.Request) -> web.Response:
    return reply(version_info())


async def health(request: web.Request) -> web.Response:
    storage = request.app[keys.REGISTRY].storage
    ok = await storage.healthy() and request.app[keys.STATE]["ready"]
    if request.path.startswith("/livez"):
        ok = True
    if "verbose" in request.query:
        text = f"[{'+' if ok else '-'}]storage {'ok' if ok else 'failed'}\n{request.path.strip('/')} check {'passed' if ok else 'failed'}\n"
        return web.Response(text=text, status=200 if ok else 500)
    return web.Response(text="ok" if ok else "not ready", status=200 if ok else 500)
