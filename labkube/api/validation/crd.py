"""Validation of CustomResourceDefinitions (apiextensions.k8s.io/v1)."""
from __future__ import annotations

from .field import FieldError, Path, invalid, required, unsupported
from .names import dns1123_label, dns1123_subdomain


def validate_crd(obj: dict) -> list[FieldError]:
    p = Path("spec")
    spec = obj.get("spec")
    if not isinstance(spec, dict):
        return [required(p)]
    errs: list[FieldError] = []
    group = spec.get("group") or ""
    if not group:
        errs.append(required(p.child("group")))
    elif "." not in group:
        errs.append(invalid(p.child("group"), group, "should be a domain with at least one dot"))
    else:
        errs += [invalid(p.child("group"), group, m) for m in dns1123_subdomain(group)]
    names = spec.get("names") if isinstance(spec.get("names"), dict) else {}
    plural, kind = names.get("plural") or "", names.get("kind") or ""
    if not plural:
        errs.append(required(p.child("names", "plural")))
    else:
        errs += [invalid(p.child("names", "plural"), plural, m) for m in dns1123_label(plural)]
    if not kind:
        errs.append(required(p.child("names", "kind")))
    name = (obj.get("metadata") or {}).get("name")
    if plural and group and name != f"{plural}.{group}":
        errs.append(invalid(Path("metadata.name"), name, 'must be spec.names.plural+"."+spec.group'))
    if spec.get("scope") not in ("Namespaced", "Cluster"):
        errs.append(unsupported(p.child("scope"), spec.get("scope"), ("Cluster", "Namespaced")))
    versions = spec.get("versions")
    if not isinstance(versions, list) or not versions:
        return errs + [required(p.child("versions"), "must have exactly one version marked as storage version")]
    storage = 0
    for i, v in enumerate(versions):
        vp = p.child("versions").index(i)
        if not isinstance(v, dict):
            errs.append(invalid(vp, v, "must be an object"))
            continue
        if not v.get("name"):
            errs.append(required(vp.child("name")))
        storage += 1 if v.get("storage") else 0
        if not isinstance((v.get("schema") or {}).get("openAPIV3Schema"), dict):
            errs.append(required(vp.child("schema", "openAPIV3Schema"), "schemas are required"))
        for j, col in enumerate(v.get("additionalPrinterColumns") or []):
            cp = vp.child("additionalPrinterColumns").index(j)
            for f in ("name", "type", "jsonPath"):
                if not (col or {}).get(f):
                    errs.append(required(cp.child(f)))
    if storage != 1:
        errs.append(invalid(p.child("versions"), [v.get("name") for v in versions if isinstance(v, dict)],
                            "must have exactly one version marked as storage version"))
    return errs
