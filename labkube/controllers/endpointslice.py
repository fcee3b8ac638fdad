"""EndpointSlice controller: the same pods as the Endpoints controller, as discovery.k8s.io/v1
EndpointSlices (one slice per distinct port set, named `<service>-<hash of the ports>`).

Slices carry the labels `kubernetes.io/service-name` and `endpointslice.kubernetes.io/managed-by:
endpointslice-controller.k8s.io` and an owner reference to their Service; only slices with
that managed-by label are touched. A selector Service with no pods keeps one empty slice, as
Kubernetes does; services without a selector and deleted services lose their managed slices.
"""
from __future__ import annotations

import copy
import hashlib

from labkube.client.errors import ApiError

from .servicepods import ServicePodsController, desired_subsets

SERVICE_NAME = "kubernetes.io/service-name"
MANAGED_BY = "endpointslice.kubernetes.io/managed-by"
CONTROLLER = "endpointslice-controller.k8s.io"


def _endpoint(addr: dict, ready: bool) -> dict:
    ep = {"addresses": [addr["ip"]], "conditions": {"ready": ready, "serving": ready, "terminating": False}}
    for key in ("nodeName", "targetRef", "hostname"):
        if addr.get(key):
            ep[key] = addr[key]
    return ep


def desired_slices(svc: dict, pods: list[dict]) -> dict[str, dict]:
    """name -> EndpointSlice body for a selector Service."""
    md = svc["metadata"]
    out = {}
    for subset in desired_subsets(svc, pods) or [{}]:
        ports = [{"name": "", **p} for p in subset.get("ports") or []]   # unnamed is "", as kubectl describe expects
        sig = ",".join(f"{p.get('name', '')}:{p['port']}/{p['protocol']}" for p in ports)
        name = f"{md['name'][:52]}-{hashlib.sha256(sig.encode()).hexdigest()[:10]}"
        out[name] = {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name, "namespace": md["namespace"],
                         "labels": {SERVICE_NAME: md["name"], MANAGED_BY: CONTROLLER},
                         "ownerReferences": [{"apiVersion": "v1", "kind": "Service", "name": md["name"],
                                              "uid": md.get("uid"), "controller": True,
                                              "blockOwnerDeletion": True}]},
            "addressType": "IPv4",
            "endpoints": [_endpoint(a, True) for a in subset.get("addresses") or []]
            + [_endpoint(a, False) for a in subset.get("notReadyAddresses") or []],
            "ports": ports}
    return out


class EndpointSliceController(ServicePodsController):
    name = "endpointslice"

    def setup(self) -> None:
        super().setup()
        self.slices = self.informer("endpointslices")
        self.slices.add_handlers(None, None, self._slice)

    def _slice(self, sl: dict) -> None:
        svc = (sl["metadata"].get("labels") or {}).get(SERVICE_NAME)
        if svc:
            self.queue.add(f"{sl['metadata']['namespace']}/{svc}")

    def _managed(self, ns: str, name: str) -> list[dict]:
        return [s for s in self.slices.items() if s["metadata"].get("namespace") == ns
                and (s["metadata"].get("labels") or {}).get(SERVICE_NAME) == name
                and (s["metadata"].get("labels") or {}).get(MANAGED_BY) == CONTROLLER]

    async def sync(self, key: str) -> None:
        ns, name = key.split("/", 1)
        svc = self.services.get(key)
        want: dict[str, dict] = {}
        if svc is not None and (svc.get("spec") or {}).get("selector"):
            want = desired_slices(svc, self.selected_pods(svc))
        have = {s["metadata"]["name"]: s for s in self._managed(ns, name)}
        for sname, cur in have.items():
            if sname not in want:
                try:
                    await self.client.delete("endpointslices", sname, namespace=ns)
                except ApiError as e:
                    if e.code != 404:
                        raise
        for sname, body in want.items():
            cur = have.get(sname)
            if cur is None:
                try:
                    await self.client.create("endpointslices", body, namespace=ns)
                except ApiError as e:
                    if e.code != 409:
                        raise
                    self.queue.add_rate_limited(key)      # made meanwhile: compare on the next round
                continue
            if all(cur.get(k) == body[k] for k in ("endpoints", "ports", "addressType")) \
                    and cur["metadata"].get("labels") == body["metadata"]["labels"]:
                continue
            new = copy.deepcopy(cur)
            new.update({k: body[k] for k in ("endpoints", "ports", "addressType")})
            new["metadata"]["labels"] = body["metadata"]["labels"]
            await self.client.replace("endpointslices", sname, new, namespace=ns)
