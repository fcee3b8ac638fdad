"""Endpoints controller: keep one Endpoints object per Service with a selector.

Subsets are built from the pods the service selects by `servicepods.desired_subsets`
(shared with the EndpointSlice controller): ready addresses, not-ready addresses, ports
resolved per pod, pods with the same resolved ports in one subset. Services without a
selector are left alone (their Endpoints are managed by hand); a deleted Service's
Endpoints are deleted.
"""
from __future__ import annotations

import copy

from labkube.client.errors import ApiError

from .servicepods import ServicePodsController, desired_subsets


class EndpointsController(ServicePodsController):
    name = "endpoints"

    def setup(self) -> None:
        super().setup()
        self.endpoints = self.informer("endpoints")

    async def sync(self, key: str) -> None:
        ns, name = key.split("/", 1)
        svc = self.services.get(key)
        if svc is None:
            try:
                await self.client.delete("endpoints", name, namespace=ns)
            except ApiError as e:
                if e.code != 404:
                    raise
            return
        if not (svc.get("spec") or {}).get("selector"):
            return
        subsets = desired_subsets(svc, self.selected_pods(svc))
        labels = dict(svc["metadata"].get("labels") or {})
        cur = self.endpoints.get(key)
        if cur is None:
            body = {"apiVersion": "v1", "kind": "Endpoints",
                    "metadata": {"name": name, "namespace": ns, "labels": labels}, "subsets": subsets}
            try:
                await self.client.create("endpoints", body, namespace=ns)
                return
            except ApiError as e:
                if e.code != 409:
                    raise
                cur = await self.client.get("endpoints", name, namespace=ns)
        if (cur.get("subsets") or []) == subsets and (cur["metadata"].get("labels") or {}) == labels:
            return
        body = copy.deepcopy(cur)
        body["subsets"] = subsets
        body["metadata"]["labels"] = labels
        await self.client.replace("endpoints", name, body, namespace=ns)
