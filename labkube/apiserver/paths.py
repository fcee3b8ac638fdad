"""Parse resource URLs: /api/v1/[namespaces/<ns>/]<resource>[/<name>[/<sub>]] and the /apis form."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from ..api import errors
from ..api.resources import Resource, find


@dataclass
class Target:
    res: Resource
    namespace: str | None
    name: str | None
    sub: str | None


def parse(group: str, version: str, rest: str) -> Target:
    segs = [s for s in rest.split("/") if s]
    if not segs:
        raise web.HTTPNotFound()
    ns = None
    if segs[0] == "namespaces" and len(segs) >= 3 and not (len(segs) == 3 and segs[2] in ("status", "finalize")):
        ns, segs = segs[1], segs[2:]
    res = find(group, version, segs[0])
    if res is None:
        raise web.HTTPNotFound()
    if ns is not None and not res.namespaced:
        raise web.HTTPNotFound()
    name = segs[1] if len(segs) > 1 else None
    sub = segs[2] if len(segs) > 2 else None
    if len(segs) > 3 and not (sub == "proxy"):
        raise web.HTTPNotFound()
    if sub is not None and sub not in res.subresources:
        raise errors.ApiError(404, "NotFound", "the server could not find the requested resource", {})
    return Target(res, ns, name, sub)
