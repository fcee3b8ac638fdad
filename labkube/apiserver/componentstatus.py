"""`kubectl get cs`: ComponentStatus answered from the health of storage (read-only)."""
from __future__ import annotations

from aiohttp import web

from ..api import errors
from ..api.tables import to_table
from .httputil import include_object, reply, wants_table
from .paths import Target
from . import keys

WARNING = '299 - "v1 ComponentStatus is deprecated in v1.19+"'


async def statuses(request: web.Request) -> list[dict]:
    storage = request.app[keys.REGISTRY].storage
    ok = await storage.healthy()
    comps = [("etcd-0", ok, "ok" if ok else "storage is closed"),
             ("scheduler", True, "ok"), ("controller-manager", True, "ok")]
    return [{"kind": "ComponentStatus", "apiVersion": "v1", "metadata": {"name": n},
             "conditions": [{"type": "Healthy", "status": "True" if h else "False", "message": m,
                             **({} if h else {"error": m})}]} for n, h, m in comps]


async def handle(request: web.Request, t: Target) -> web.Response:
    if request.method != "GET" or t.sub:
        raise errors.method_not_allowed("componentstatuses are read-only")
    items = await statuses(request)
    rv = str(request.app[keys.REGISTRY].storage.revision)
    if t.name:
        items = [i for i in items if i["metadata"]["name"] == t.name]
        if not items:
            raise errors.not_found("componentstatuses", t.name)
    hdr = {"Warning": WARNING}
    if wants_table(request):
        return reply(to_table("componentstatuses", items, rv, include_object(request)), headers=hdr)
    if t.name:
        return reply(items[0], headers=hdr)
    return reply({"kind": "ComponentStatusList", "apiVersion": "v1", "metadata": {"resourceVersion": rv},
                  "items": items}, headers=hdr)
