"""What the scheduler's informers keep of each pod and node: the fields scheduling reads,
nothing else (the informer cache holds every pod of the cluster, so this is most of the
scheduler's memory).

A pod keeps its metadata (without annotations), its spec with containers cut down to
name/resources/ports (and an init container's restartPolicy) and only its persistentVolumeClaim
volumes, and of its status the phase,
nominatedNodeName and, while it is not bound, its conditions (the scheduler rewrites the
PodScheduled condition of a pending pod and sends the whole list back). A bound pod's
conditions, IPs and container statuses are dropped. A node keeps metadata, spec, and of its
status the allocatable/capacity amounts and conditions (the Ready condition decides whether a
change is worth a retry of unschedulable pods).

Both views go through the informer's `compact` (no managedFields, shared strings); the parts a
pod has in common with the other pods of its template (the spec's lists and maps, labels,
ownerReferences) are held once (`SharedValues`).
"""
from __future__ import annotations

import sys

from labkube.client.informer import SharedValues, compact, keep_keys

CONTAINER_KEEP = ("name", "resources", "ports", "restartPolicy")
POD_STATUS_KEEP = ("phase", "nominatedNodeName")
NODE_STATUS_KEEP = ("allocatable", "capacity", "conditions")
SHARED_METADATA = ("labels", "ownerReferences", "finalizers")

SHARED = SharedValues()


def pod_view(pod: dict, shared: SharedValues = SHARED) -> dict:
    md, spec, st = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    spec = dict(spec)
    for k in ("containers", "initContainers"):
        if k in spec:
            spec[k] = keep_keys(spec[k], CONTAINER_KEEP)
    claims = [{"name": v.get("name"), "persistentVolumeClaim": v["persistentVolumeClaim"]}
              for v in spec.pop("volumes", None) or () if v.get("persistentVolumeClaim")]
    if claims:
        spec["volumes"] = claims        # VolumeBinding reads the claims; other volumes do not matter here
    status = {k: st[k] for k in POD_STATUS_KEEP if k in st}
    if not spec.get("nodeName") and "conditions" in st:
        status["conditions"] = st["conditions"]
    out = {k: v for k, v in pod.items() if k not in ("metadata", "spec", "status")}
    meta = {k: v for k, v in md.items() if k != "annotations"}
    later = [("metadata", k, meta.pop(k)) for k in SHARED_METADATA if meta.get(k) is not None]
    later += [("spec", k, spec.pop(k)) for k, v in list(spec.items()) if type(v) in (dict, list)]
    out.update(metadata=meta, spec=spec, status=status)
    view = compact(out)
    for part, k, v in later:
        view[part][sys.intern(k)] = shared.share(v)
    return view


def node_view(node: dict) -> dict:
    st = node.get("status") or {}
    out = {k: v for k, v in node.items() if k != "status"}
    out["status"] = {k: st[k] for k in NODE_STATUS_KEEP if k in st}
    return compact(out)
