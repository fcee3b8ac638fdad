"""Validation of RBAC, PriorityClass, PVs/PVCs, Ingress, ResourceQuota, PDB, StorageClass."""
from __future__ import annotations

from .field import FieldError, Path, forbidden, invalid, required, unsupported

ACCESS_MODES = ("ReadOnlyMany", "ReadWriteMany", "ReadWriteOnce", "ReadWriteOncePod")


def validate_rules(obj: dict) -> list[FieldError]:
    errs = []
    for i, r in enumerate(obj.get("rules") or []):
        rp = Path("rules").index(i)
        r = r or {}
        if not r.get("verbs"):
            errs.append(required(rp.child("verbs"), "verbs must contain at least one value"))
        if not r.get("nonResourceURLs") and not r.get("resources"):
            errs.append(required(rp.child("resources"), "resource rules must supply at least one resource"))
    return errs


def validate_binding(obj: dict) -> list[FieldError]:
    errs = []
    ref = obj.get("roleRef")
    if not isinstance(ref, dict):
        return [required(Path("roleRef"))]
    if ref.get("kind") not in ("Role", "ClusterRole"):
        errs.append(unsupported(Path("roleRef.kind"), ref.get("kind"), ("ClusterRole", "Role")))
    if not ref.get("name"):
        errs.append(required(Path("roleRef.name")))
    for i, s in enumerate(obj.get("subjects") or []):
        sp = Path("subjects").index(i)
        kind = (s or {}).get("kind")
        if kind not in ("User", "Group", "ServiceAccount"):
            errs.append(unsupported(sp.child("kind"), kind, ("Group", "ServiceAccount", "User")))
        if not (s or {}).get("name"):
            errs.append(required(sp.child("name")))
    return errs


def validate_binding_update(new: dict, old: dict) -> list[FieldError]:
    if old.get("roleRef") and new.get("roleRef") != old.get("roleRef"):
        return [invalid(Path("roleRef"), new.get("roleRef"), "cannot change roleRef")]
    return []


def validate_priorityclass(obj: dict) -> list[FieldError]:
    v = obj.get("value")
    if v is None:
        return [required(Path("value"))]
    if not isinstance(v, int) or isinstance(v, bool):
        return [invalid(Path("value"), v, "must be an integer")]
    name = (obj.get("metadata") or {}).get("name", "")
    if v > 1000000000 and not name.startswith("system-"):
        return [forbidden(Path("value"), "maximum allowed value of a user defined priority is 1000000000")]
    return []


def _modes(modes, p: Path) -> list[FieldError]:
    if not modes:
        return [required(p)]
    return [unsupported(p.index(i), m, ACCESS_MODES) for i, m in enumerate(modes) if m not in ACCESS_MODES]


def validate_pvc(obj: dict) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errs = _modes(spec.get("accessModes"), Path("spec.accessModes"))
    if not ((spec.get("resources") or {}).get("requests") or {}).get("storage") and not spec.get("dataSource"):
        errs.append(required(Path("spec.resources[storage]")))
    return errs


def validate_pv(obj: dict) -> list[FieldError]:
    spec = obj.get("spec") or {}
    errs = _modes(spec.get("accessModes"), Path("spec.accessModes"))
    if not (spec.get("capacity") or {}).get("storage"):
        errs.append(required(Path("spec.capacity")))
    pol = spec.get("persistentVolumeReclaimPolicy")
    if pol not in (None, "Delete", "Recycle", "Retain"):
        errs.append(unsupported(Path("spec.persistentVolumeReclaimPolicy"), pol, ("Delete", "Recycle", "Retain")))
    return errs


def validate_ingress(obj: dict) -> list[FieldError]:
    errs = []
    for i, rule in enumerate((obj.get("spec") or {}).get("rules") or []):
        for j, path in enumerate(((rule or {}).get("http") or {}).get("paths") or []):
            pp = Path("spec.rules").index(i).child("http", "paths").index(j)
            pt = (path or {}).get("pathType")
            if pt is None:
                errs.append(required(pp.child("pathType"), "pathType must be specified"))
            elif pt not in ("Exact", "Prefix", "ImplementationSpecific"):
                errs.append(unsupported(pp.child("pathType"), pt, ("Exact", "ImplementationSpecific", "Prefix")))
            if not (path or {}).get("backend"):
                errs.append(required(pp.child("backend")))
    return errs


def validate_pdb(obj: dict) -> list[FieldError]:
    spec = obj.get("spec") or {}
    if spec.get("minAvailable") is not None and spec.get("maxUnavailable") is not None:
        return [invalid(Path("spec"), "minAvailable+maxUnavailable", "minAvailable and maxUnavailable cannot be both set")]
    return []


def validate_storageclass(obj: dict) -> list[FieldError]:
    return [] if obj.get("provisioner") else [required(Path("provisioner"))]


def validate_quota(obj: dict) -> list[FieldError]:
    from .. import quantity
    errs = []
    for k, v in ((obj.get("spec") or {}).get("hard") or {}).items():
        try:
            if quantity.parse(v) < 0:
                errs.append(invalid(Path("spec.hard").key(k), v, "must be greater than or equal to 0"))
        except ValueError as e:
            errs.append(invalid(Path("spec.hard").key(k), v, str(e)))
    return errs


def validate_limitrange(obj: dict) -> list[FieldError]:
    from .. import quantity
    errs = []
    for i, lim in enumerate((obj.get("spec") or {}).get("limits") or []):
        lp = Path("spec.limits").index(i)
        if (lim or {}).get("type") not in ("Container", "Pod", "PersistentVolumeClaim"):
            errs.append(unsupported(lp.child("type"), (lim or {}).get("type"), ("Container", "PersistentVolumeClaim", "Pod")))
        for section in ("default", "defaultRequest", "max", "min", "maxLimitRequestRatio"):
            for k, v in ((lim or {}).get(section) or {}).items():
                try:
                    quantity.parse(v)
                except ValueError as e:
                    errs.append(invalid(lp.child(section).key(k), v, str(e)))
    return errs
