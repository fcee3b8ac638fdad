"""ResourceQuota controller: keep status.hard and status.used of every quota current.

Counted: `pods` (not terminal), `services`, `configmaps`, `secrets`, `persistentvolumeclaims`,
`resourcequotas` and `count/<resource>[.<group>]`; compute: `requests.cpu`/`cpu`,
`requests.memory`/`memory`, `limits.cpu`, `limits.memory` summed over non-terminal pods.
The apiserver enforces `hard` at admission; this controller makes `used` follow deletions
and changes too (what `kubectl describe quota` shows).
"""
from __future__ import annotations

import copy

from labkube.api.resources import resource
from labkube.scheduler import quantity

from .base import Controller
from .util import is_terminal

COMPUTE = {"requests.cpu": ("requests", "cpu"), "cpu": ("requests", "cpu"),
           "requests.memory": ("requests", "memory"), "memory": ("requests", "memory"),
           "limits.cpu": ("limits", "cpu"), "limits.memory": ("limits", "memory")}
COUNTS = ("pods", "services", "configmaps", "secrets", "persistentvolumeclaims", "resourcequotas")


def counted_resource(key: str) -> str | None:
    if key.startswith("count/"):
        return key[len("count/"):].split(".")[0]
    return key if key in COUNTS else None


def format_amount(name: str, n: int) -> str:
    if name == "cpu":
        return f"{n // 1000}" if n % 1000 == 0 else f"{n}m"
    for suffix, size in (("Gi", 2 ** 30), ("Mi", 2 ** 20), ("Ki", 2 ** 10)):
        if n and n % size == 0:
            return f"{n // size}{suffix}"
    return str(n)


def pod_amount(pod: dict, kind: str, name: str) -> int:
    total = 0
    for c in (pod.get("spec") or {}).get("containers") or []:
        v = ((c.get("resources") or {}).get(kind) or {}).get(name)
        if v is not None:
            total += quantity.amount(name, v)
    return total


class ResourceQuotaController(Controller):
    name = "resourcequota"

    def setup(self) -> None:
        self.quotas = self.informer("resourcequotas")
        self.watched = {}
        for rname in ("pods", "services", "configmaps", "secrets", "persistentvolumeclaims"):
            inf = self.informer(rname)
            self.watched[rname] = inf
            inf.add_handlers(*(lambda *a: self._ns_changed(a[-1]),) * 3)
        self.quotas.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), None)

    def _ns_changed(self, obj: dict) -> None:
        ns = obj["metadata"].get("namespace")
        for q in self.quotas.items():
            if q["metadata"].get("namespace") == ns:
                self.enqueue(q)

    def items(self, rname: str, ns: str) -> list[dict]:
        inf = self.watched.get(rname) or (self.quotas if rname == "resourcequotas" else None)
        if inf is None:
            return []
        return [o for o in inf.items() if o["metadata"].get("namespace") == ns
                and not (rname == "pods" and is_terminal(o))]

    async def sync(self, key: str) -> None:
        q = self.quotas.get(key)
        if q is None:
            return
        ns = q["metadata"]["namespace"]
        hard = dict((q.get("spec") or {}).get("hard") or {})
        used = {}
        for k in hard:
            rname = counted_resource(k)
            if rname is not None:
                try:
                    resource(rname)
                except KeyError:
                    continue
                used[k] = str(len(self.items(rname, ns)))
            elif k in COMPUTE:
                kind, name = COMPUTE[k]
                used[k] = format_amount(name, sum(pod_amount(p, kind, name) for p in self.items("pods", ns)))
        status = {"hard": hard, "used": used}
        if status == (q.get("status") or {}):
            return
        body = copy.deepcopy(q)
        body["status"] = status
        await self.client.replace("resourcequotas", q["metadata"]["name"], body, namespace=ns, subresource="status")
