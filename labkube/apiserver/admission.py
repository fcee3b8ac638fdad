"""Admission on create, in upstream order: LimitRange defaults, DefaultStorageClass (a claim
without storageClassName gets the default StorageClass), DefaultIngressClass (an Ingress
without ingressClassName or the legacy class annotation gets the default IngressClass),
StorageObjectInUseProtection (a claim gets the finalizer kubernetes.io/pvc-protection, removed
by the pvcprotection controller once no pod uses it), ServiceAccount (the kube-api-access token volume, saadmission.py),
ResourceQuota, pod priority from its PriorityClass (or the global default).
Namespace lifecycle is enforced by the registry itself."""
from __future__ import annotations

from .. import jsonio
from ..api import errors
from ..api.resources import Resource, resource
from ..ingress import classes as ingress_classes
from .limitrange import apply_limit_ranges
from .quota import admit_quota
from .registry import Registry, prefix
from .saadmission import admit_service_account

PRIORITY_CLASSES = resource("priorityclasses")
STORAGE_CLASSES = resource("storageclasses")
INGRESS_CLASSES = resource("ingressclasses")
PVC_PROTECTION = "kubernetes.io/pvc-protection"
DEFAULT_CLASS_ANNOTATIONS = ("storageclass.kubernetes.io/is-default-class",
                             "storageclass.beta.kubernetes.io/is-default-class")
SYSTEM_CLASSES = {"system-node-critical": 2000001000, "system-cluster-critical": 2000000000}


async def admit_create(reg: Registry, res: Resource, obj: dict) -> None:
    if res.name == "pods" and isinstance(obj.get("spec"), dict):
        await apply_limit_ranges(reg, obj)
        await admit_service_account(reg, obj)
    if res.name == "persistentvolumeclaims" and isinstance(obj.get("spec"), dict):
        await default_storage_class(reg, obj["spec"])
        md = obj.setdefault("metadata", {})
        if PVC_PROTECTION not in (md.get("finalizers") or []):
            md["finalizers"] = [*(md.get("finalizers") or []), PVC_PROTECTION]
    if res.name == "ingresses" and isinstance(obj.get("spec"), dict):
        await default_ingress_class(reg, obj)
    await admit_quota(reg, res, obj)
    if res.name != "pods" or not isinstance(obj.get("spec"), dict):
        return
    spec = obj["spec"]
    name = spec.get("priorityClassName")
    if name:
        try:
            pc = await reg.get(PRIORITY_CLASSES, None, name, latest=True)
        except errors.ApiError as e:
            if e.code != 404:
                raise
            raise errors.forbidden(f'pods "{(obj.get("metadata") or {}).get("name", "")}" is forbidden: '
                                   f"no PriorityClass with name {name} was found", "pods") from None
    else:
        pc = await _global_default(reg)
        if pc is None:
            return
        spec["priorityClassName"] = pc["metadata"]["name"]
    spec["priority"] = pc.get("value", 0)
    if pc.get("preemptionPolicy"):
        spec["preemptionPolicy"] = pc["preemptionPolicy"]


async def _global_default(reg: Registry) -> dict | None:
    """The PriorityClass with globalDefault, decoded again only when a PriorityClass changed
    (every pod create asks; the classes almost never change): known unchanged by the store's
    change count of priorityclasses when it keeps one, else by the classes' keys and revisions."""
    pfx = prefix(PRIORITY_CLASSES, None)
    cached = getattr(reg, "_default_priority", None)
    changes = reg.storage.changes(pfx)
    if changes is not None and cached is not None and cached[0] == ("changes", changes):
        return cached[1]
    if not await reg.storage.any(pfx):
        return None
    items, _ = await reg.storage.list_raw(pfx)
    sig = ("changes", changes) if changes is not None else tuple((k, r) for k, _text, r in items)
    if cached is None or cached[0] != sig:
        found = None
        for _k, text, _r in items:
            obj = jsonio.loads(text)
            if obj.get("globalDefault"):
                found = obj
                break
        cached = (sig, found)
        reg._default_priority = cached
    return cached[1]


def is_default_class(sc: dict) -> bool:
    anns = (sc.get("metadata") or {}).get("annotations") or {}
    return any(anns.get(a) == "true" for a in DEFAULT_CLASS_ANNOTATIONS)


async def default_storage_class(reg: Registry, spec: dict) -> None:
    """A claim without storageClassName (absent or null; "" means "no class") gets the default
    StorageClass, the newest one if several are marked default (as Kubernetes since 1.28)."""
    if spec.get("storageClassName") is not None:
        return
    name = await _newest_default_class(reg, STORAGE_CLASSES, is_default_class)
    if name is not None:
        spec["storageClassName"] = name


async def _newest_default_class(reg: Registry, classes_res, is_default) -> str | None:
    """The name of the newest class of classes_res that is_default marks (creation time, then name),
    or None: the DefaultStorageClass and DefaultIngressClass rule."""
    classes, _, _ = await reg.list(classes_res, None, latest=True)
    defaults = [c for c in classes if is_default(c)]
    if not defaults:
        return None
    return max(defaults, key=lambda c: (c["metadata"].get("creationTimestamp") or "", c["metadata"]["name"]))[
        "metadata"]["name"]


async def default_ingress_class(reg: Registry, obj: dict) -> None:
    """An Ingress naming no class (no ingressClassName, no kubernetes.io/ingress.class annotation)
    gets the IngressClass marked ingressclass.kubernetes.io/is-default-class, the newest if several."""
    if obj["spec"].get("ingressClassName") or \
            ingress_classes.LEGACY_CLASS_ANNOTATION in ((obj.get("metadata") or {}).get("annotations") or {}):
        return
    name = await _newest_default_class(reg, INGRESS_CLASSES, ingress_classes.is_default)
    if name is not None:
        obj["spec"]["ingressClassName"] = name
