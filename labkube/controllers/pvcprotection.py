"""PVC protection controller: a PersistentVolumeClaim in use is not removed under its pods.

The apiserver gives every new claim the finalizer `kubernetes.io/pvc-protection` (admission,
as Kubernetes' StorageObjectInUseProtection). A claim being deleted keeps it — and stays
Terminating, its volume Bound — while a pod of its namespace that has not finished
(phase not Succeeded/Failed) names it in a persistentVolumeClaim volume; once none does, the
finalizer is removed and the claim goes (then the persistentvolume controller reclaims its
volume). The decision is made on a fresh pod list, not on the cache. Namespace deletion
deletes the pods first, so it is delayed, never blocked.
"""
from __future__ import annotations

import copy

from .base import Controller

FINALIZER = "kubernetes.io/pvc-protection"


def claims_of(pod: dict) -> list[str]:
    """The claim names a pod's volumes refer to."""
    return [(v.get("persistentVolumeClaim") or {}).get("claimName", "")
            for v in (pod.get("spec") or {}).get("volumes") or () if "persistentVolumeClaim" in v]


def in_use_by(claim_name: str, pods) -> list[str]:
    """Names of the pods (of the claim's namespace) that still use the claim."""
    return [p["metadata"]["name"] for p in pods
            if (p.get("status") or {}).get("phase") not in ("Succeeded", "Failed") and claim_name in claims_of(p)]


class PVCProtectionController(Controller):
    name = "pvcprotection"

    def event_component(self) -> str:
        return "pvc-protection-controller"

    def setup(self) -> None:
        self.claims = self.informer("persistentvolumeclaims")
        self.pods = self.informer("pods")
        self.claims.add_handlers(self.claim_changed, lambda o, n: self.claim_changed(n), None)
        self.pods.add_handlers(None, lambda o, n: self.pod_changed(n), self.pod_changed)

    def claim_changed(self, claim: dict) -> None:
        if claim["metadata"].get("deletionTimestamp") and FINALIZER in (claim["metadata"].get("finalizers") or ()):
            self.enqueue(claim)

    def pod_changed(self, pod: dict) -> None:
        ns = pod["metadata"].get("namespace")
        for name in claims_of(pod):
            claim = self.claims.get(f"{ns}/{name}")
            if claim is not None:
                self.claim_changed(claim)

    async def sync(self, key: str) -> None:
        claim = self.claims.get(key)
        if claim is None or not claim["metadata"].get("deletionTimestamp"):
            return
        fins = claim["metadata"].get("finalizers") or []
        if FINALIZER not in fins:
            return
        ns, name = key.split("/", 1)
        pods = await self.client.list("pods", namespace=ns)
        if in_use_by(name, pods):
            return                       # the pods' deletion or completion brings the claim back here
        body = copy.deepcopy(claim)
        body["metadata"]["finalizers"] = [f for f in fins if f != FINALIZER]
        await self.client.replace("persistentvolumeclaims", name, body, namespace=ns)
