"""Namespace controller: empty a namespace that is being deleted, then finalize it.

For a namespace with deletionTimestamp, delete every object of every namespaced resource
in it; while anything remains (pods still terminating), look again shortly; when it is
empty, remove the `kubernetes` finalizer through PUT namespaces/<name>/finalize so the
apiserver can remove the namespace.
"""
from __future__ import annotations

import copy

from labkube.api.resources import RESOURCES
from labkube.client.errors import ApiError

from .base import Controller

FINALIZER = "kubernetes"


class NamespaceController(Controller):
    name = "namespace"

    def setup(self) -> None:
        self.recheck = float(self.settings.get("namespace_recheck_seconds", 1.0))
        self.namespaces = self.informer("namespaces")
        self.namespaces.add_handlers(self._changed, lambda o, n: self._changed(n), None)

    def _changed(self, ns: dict) -> None:
        if ns["metadata"].get("deletionTimestamp"):
            self.enqueue(ns)

    def resources(self):
        order = {"deployments": 0, "replicasets": 1, "pods": 2}
        rs = [r for r in RESOURCES if r.namespaced and "list" in r.verbs and "delete" in r.verbs]
        return sorted(rs, key=lambda r: (order.get(r.name, 3), r.name))

    async def sync(self, name: str) -> None:
        ns = self.namespaces.get(name)
        if ns is None or not ns["metadata"].get("deletionTimestamp"):
            return
        if FINALIZER not in ((ns.get("spec") or {}).get("finalizers") or []):
            return
        remaining = 0
        left: dict[str, int] = {}
        for r in self.resources():
            try:
                items = await self.client.list(r, namespace=name)
            except ApiError as e:
                if e.code in (404, 405):
                    continue
                raise
            remaining += len(items)
            if items:
                left[r.name if not r.group else f"{r.name}.{r.group}"] = len(items)
            if any(not o["metadata"].get("deletionTimestamp") for o in items):
                try:
                    await self.client.delete_collection(r, namespace=name)     # one call per resource
                except ApiError as e:
                    if e.code not in (404, 405, 409):
                        raise
        if remaining:
            self.log.debug("namespace %s: %d objects left", name, remaining)
            await self.report(ns, left)
            self.queue.add_after(name, self.recheck)
            return
        body = copy.deepcopy(ns)
        body.setdefault("spec", {})["finalizers"] = [f for f in body["spec"].get("finalizers") or [] if f != FINALIZER]
        try:
            await self.client.replace("namespaces", name, body, subresource="finalize")
        except ApiError as e:
            if e.code != 404:
                raise
        self.log.info("namespace %s is empty and finalized", name)

    async def report(self, ns: dict, left: dict[str, int]) -> None:
        """NamespaceContentRemaining, as `kubectl describe namespace` shows upstream."""
        msg = "Some resources are remaining: " + ", ".join(
            f"{k} has {n} resource instances" for k, n in sorted(left.items()))
        status = copy.deepcopy(ns.get("status") or {})
        conds = [c for c in status.get("conditions") or [] if c.get("type") != "NamespaceContentRemaining"]
        old = next((c for c in status.get("conditions") or [] if c.get("type") == "NamespaceContentRemaining"), None)
        if old and old.get("message") == msg:
            return
        conds.append({"type": "NamespaceContentRemaining", "status": "True", "reason": "SomeResourcesRemain",
                      "message": msg, "lastTransitionTime": (old or {}).get("lastTransitionTime") or self.clock.now_str()})
        status["conditions"] = conds
        body = copy.deepcopy(ns)
        body["status"] = status
        try:
            await self.client.replace("namespaces", ns["metadata"]["name"], body, subresource="status")
        except ApiError as e:
            if e.code not in (404, 409):
                raise
