"""What the apiserver does to an object on create and update, per kind (upstream strategies).

- create: name from generateName, uid, creationTimestamp, generation 1 for objects with
  a spec, status reset for kinds whose status is owned by controllers, defaults.
- update of the main resource: status kept from the stored object (for kinds with a
  status subresource), server-owned metadata kept (managedFields too: the registry
  recomputes them per field manager), generation bumped when spec changed.
- update of `status`: only status changes; everything else is the stored object.
"""
from __future__ import annotations

from . import crschema
from .defaults import apply_defaults
from .defaults.pod import default_pod
from .meta import generate_name, metadata, new_uid, now
from .resources import Resource

# kinds whose status is reset on create (controllers own it)
RESET_STATUS = {"deployments", "replicasets", "services", "statefulsets", "daemonsets", "jobs",
                "cronjobs", "persistentvolumeclaims", "persistentvolumes", "resourcequotas",
                "horizontalpodautoscalers", "poddisruptionbudgets", "ingresses"}
SERVER_META = ("uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation")


def has_status_subresource(res: Resource) -> bool:
    return "status" in res.subresources


def prepare_create(res: Resource, obj: dict, namespace: str | None) -> dict:
    md = metadata(obj)
    obj["apiVersion"] = res.api_version
    obj["kind"] = res.kind
    if not md.get("name") and md.get("generateName"):
        md["name"] = generate_name(str(md["generateName"]))
    if res.namespaced:
        md["namespace"] = namespace or md.get("namespace") or "default"
    else:
        md.pop("namespace", None)
    md["uid"] = new_uid()
    md["creationTimestamp"] = now()
    for f in ("resourceVersion", "deletionTimestamp", "deletionGracePeriodSeconds", "selfLink", "managedFields"):
        md.pop(f, None)
    if isinstance(obj.get("spec"), dict) or res.name in ("deployments", "replicasets") or res.custom:
        md["generation"] = 1
    else:
        md.pop("generation", None)
    if res.custom:
        if has_status_subresource(res):
            obj.pop("status", None)
    elif res.name in RESET_STATUS or res.name == "pods":
        obj["status"] = {}
    for k in [k for k, v in md.items() if v is None]:
        md.pop(k)
    _defaults(res, obj)
    return obj


def _defaults(res: Resource, obj: dict) -> None:
    if res.custom:
        crschema.prune_and_default(obj, crschema.schema_for(res.group, res.version, res.name), top=True)
    else:
        apply_defaults(res, obj)


def _spec_changed(res: Resource, new: dict, old: dict) -> bool:
    """Custom resources count every change outside metadata (and status, with a status subresource)."""
    if not res.custom:
        return new.get("spec") != old.get("spec")
    skip = {"metadata", "status"} if has_status_subresource(res) else {"metadata"}
    return {k: v for k, v in new.items() if k not in skip} != {k: v for k, v in old.items() if k not in skip}


# server-side subresources whose mutation is trusted as a whole (binding sets spec.nodeName)
INTERNAL = ("binding", "finalize", "ephemeralcontainers")   # their handlers build the whole object
# of those, the ones whose handler changes only fields it checked itself (binding: spec.nodeName and the
# PodScheduled condition): stored without a shape check or validation of the rest, as upstream's
# BindingREST updates the pod in storage directly (the pod was validated when it was created)
TRUSTED = ("binding",)


def prepare_update(res: Resource, new: dict, old: dict, subresource: str | None = None) -> dict:
    """The object to store for an update of the main resource or its status.

    old: the stored object, the caller's own copy (parts of it go into the result uncopied)."""
    if subresource in INTERNAL:
        return new
    if subresource == "status":
        out = old
        out["status"] = new.get("status") if new.get("status") is not None else {}
        if res.name == "pods" and not res.custom:
            # the stored spec: a bound pod's (nodeName, its random kube-api-access volume) is its own,
            # so the spec memo would only miss and keep an entry nobody reads again
            default_pod(out, memo=False)
        elif res.custom:
            _defaults(res, out)
        return out
    new["apiVersion"] = res.api_version
    new["kind"] = res.kind
    md, om = metadata(new), old.get("metadata") or {}
    for f in SERVER_META:
        if f in om:
            md[f] = om[f]
        else:
            md.pop(f, None)
    if om.get("managedFields"):  # server-owned: the apiserver computes them after the update
        md["managedFields"] = om["managedFields"]
    else:
        md.pop("managedFields", None)
    if has_status_subresource(res) and "status" in old:
        new["status"] = old["status"]
    elif has_status_subresource(res):
        new.pop("status", None)
    for k in [k for k, v in md.items() if v is None]:
        md.pop(k)
    _defaults(res, new)
    if "generation" in om and _spec_changed(res, new, old):
        md["generation"] = int(om["generation"]) + 1
    return new


_MISSING = object()


def same_but_rv(a: dict, b: dict) -> bool:
    """Whether a and b are equal but for metadata.resourceVersion (a missing metadata counts as
    empty), without building copies of them: the members but metadata compared last to first (a
    write's changed member, such as status, is usually the last; comparing copies went through the
    whole metadata, managedFields and all, first), then metadata without resourceVersion. Each value is compared as dict equality compares it
    (the same object is equal, else ==)."""
    ka, kb = a.keys(), b.keys()
    if ka != kb and ka - {"metadata"} != kb - {"metadata"}:
        return False
    for k in reversed(a):
        if k != "metadata":
            x, y = a[k], b[k]
            if x is not y and not x == y:
                return False
    ma, mb = a.get("metadata") or {}, b.get("metadata") or {}
    n = 0
    for k, x in ma.items():
        if k == "resourceVersion":
            continue
        n += 1
        y = mb.get(k, _MISSING)
        if y is _MISSING or (x is not y and not x == y):
            return False
    return n == len(mb) - ("resourceVersion" in mb)
