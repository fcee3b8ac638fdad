"""Objects the apiserver ensures at start: the system namespaces, the `kubernetes` Service
with its Endpoints and EndpointSlice, the system PriorityClasses, the default StorageClass
`standard` (hostPath volumes made by the controller-manager's persistentvolume controller) and
the default IngressClass `labkube` (served by labkube/ingress, inside kube-proxy)."""
from __future__ import annotations

import asyncio
import copy
import logging

from ..api.errors import ApiError
from ..api.resources import resource
from ..ingress.classes import lab_ingress_class
from .admission import SYSTEM_CLASSES
from .registry import Registry

log = logging.getLogger(__name__)
SYSTEM_NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")
DEFAULT_STORAGE_CLASS = {
    "metadata": {"name": "standard", "annotations": {"storageclass.kubernetes.io/is-default-class": "true"},
                 "labels": {"addonmanager.kubernetes.io/mode": "EnsureExists"}},
    "provisioner": "labkube.io/hostpath", "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate"}


async def rebuild_allocations(reg: Registry) -> None:
    items, _, _ = await reg.list(resource("services"), None, latest=True)
    for svc in items:
        reg.alloc.observe(svc)


async def _ensure(reg: Registry, res_name: str, ns: str | None, obj: dict) -> None:
    res = resource(res_name)
    try:
        await reg.get(res, ns, obj["metadata"]["name"], latest=True)
    except ApiError as e:
        if e.code != 404:
            raise
        await reg.create(res, ns, obj)
        log.info("created %s %s", res_name, obj["metadata"]["name"])


async def bootstrap(reg: Registry, advertise_address: str, port: int) -> None:
    await rebuild_allocations(reg)
    # concurrent creates share one storage commit
    await asyncio.gather(*(_ensure(reg, "namespaces", None, {"metadata": {"name": ns}}) for ns in SYSTEM_NAMESPACES))
    await _ensure(reg, "services", "default", {
        "metadata": {"name": "kubernetes", "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"type": "ClusterIP", "clusterIP": reg.alloc.kubernetes_ip(),
                 "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": port}]}})
    await asyncio.gather(*(_ensure(reg, "priorityclasses", None, {
        "metadata": {"name": pc}, "value": value,
        "description": "Used for system critical pods that must not be moved from their current node."
        if pc == "system-node-critical" else "Used for system critical pods that must run in the cluster, "
        "but can be moved to another node if necessary."}) for pc, value in SYSTEM_CLASSES.items()))
    await _ensure(reg, "storageclasses", None, copy.deepcopy(DEFAULT_STORAGE_CLASS))
    await _ensure(reg, "ingressclasses", None, lab_ingress_class())
    ep = {"metadata": {"name": "kubernetes", "labels": {"endpointslice.kubernetes.io/skip-mirror": "true"}},
          "subsets": [{"addresses": [{"ip": advertise_address}],
                       "ports": [{"name": "https", "port": port, "protocol": "TCP"}]}]}
    await _ensure(reg, "endpoints", "default", ep)
    # and its EndpointSlice (what `kubectl describe service kubernetes` reads), as Kubernetes' own
    await _ensure(reg, "endpointslices", "default", {
        "metadata": {"name": "kubernetes", "labels": {"kubernetes.io/service-name": "kubernetes"}},
        "addressType": "IPv4", "endpoints": [{"addresses": [advertise_address], "conditions": {"ready": True}}],
        "ports": [{"name": "https", "port": port, "protocol": "TCP"}]})
