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

Both views go through the informer's `compact` (no managedFields, shared strings). In a pod's
view each part (metadata, spec, status) is split into the fields of this pod alone (name, uid,
resourceVersion, creationTimestamp, deletionTimestamp; nodeName), compacted, and the rest, which
is looked up whole by its JSON text (`labkube.client.sharedparts`, as the controller-manager's
view does): a pod of a template seen before costs one JSON dump and lookup per part instead of a
walk over every field, and its labels, ownerReferences and spec lists and maps are the objects the
template's other pods hold. Each view gets its own copy of those part dicts (views share values,
never a part), with its own fields last.
"""
from __future__ import annotations

from labkube.client.informer import SharedValues, _shared, compact, keep_keys
from labkube.client.sharedparts import SharedParts, held

CONTAINER_KEEP = ("name", "resources", "ports", "restartPolicy")
POD_STATUS_KEEP = ("phase", "nominatedNodeName")
NODE_STATUS_KEEP = ("allocatable", "capacity", "conditions")
DROP_METADATA = ("annotations", "managedFields")
OWN_METADATA = ("name", "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp")

SHARED = SharedValues()
PARTS = SharedParts(SHARED)


def pod_view(pod: dict, parts: SharedParts = PARTS) -> dict:
    md, spec, st = pod.get("metadata") or {}, pod.get("spec") or {}, pod.get("status") or {}
    view = _shared({k: v for k, v in pod.items() if k not in ("metadata", "spec", "status")})
    view["metadata"] = held({k: v for k, v in md.items() if k not in DROP_METADATA and k not in OWN_METADATA},
                            {k: md[k] for k in OWN_METADATA if k in md}, parts)
    spec = dict(spec)
    for k in ("containers", "initContainers"):
        if k in spec:
            spec[k] = keep_keys(spec[k], CONTAINER_KEEP)
    claims = [{"name": v.get("name"), "persistentVolumeClaim": v["persistentVolumeClaim"]}
              for v in spec.pop("volumes", None) or () if v.get("persistentVolumeClaim")]
    if claims:
        spec["volumes"] = claims        # VolumeBinding reads the claims; other volumes do not matter here
    own_spec = {"nodeName": spec.pop("nodeName")} if "nodeName" in spec else None
    view["spec"] = held(spec, own_spec, parts)
    view["status"] = status_part(st, bool(own_spec and own_spec["nodeName"]), parts)
    return view


def status_part(st: dict, bound: bool, parts: SharedParts = PARTS) -> dict:
    """The status part of a pod's view: phase and nominatedNodeName, and the conditions while
    the pod is not bound."""
    status = {k: st[k] for k in POD_STATUS_KEEP if k in st}
    if "conditions" in st and not bound:
        status["conditions"] = st["conditions"]
    return held(status, None, parts)


def node_view(node: dict) -> dict:
    st = node.get("status") or {}
    out = {k: v for k, v in node.items() if k != "status"}
    out["status"] = {k: st[k] for k in NODE_STATUS_KEEP if k in st}
    return compact(out)
