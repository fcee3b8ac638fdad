"""ServiceAccount controller: every active namespace has a `default` ServiceAccount (recreated
if deleted), as pods refer to it by default."""
from __future__ import annotations

from labkube.client.errors import ApiError

from .base import Controller


class ServiceAccountController(Controller):
    name = "serviceaccount"

    def setup(self) -> None:
        self.namespaces = self.informer("namespaces")
        self.accounts = self.informer("serviceaccounts")
        self.namespaces.add_handlers(self.enqueue, lambda o, n: self.enqueue(n), None)
        self.accounts.add_handlers(None, None, lambda sa: self.queue.add(sa["metadata"]["namespace"]))

    async def sync(self, ns: str) -> None:
        nso = self.namespaces.get(ns)
        if nso is None or nso["metadata"].get("deletionTimestamp"):
            return
        if self.accounts.get(f"{ns}/default") is not None:
            return
        try:
            await self.client.create("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                                         "metadata": {"name": "default", "namespace": ns}},
                                     namespace=ns)
        except ApiError as e:
            if e.code not in (403, 409):      # exists already, or the namespace is terminating
                raise
