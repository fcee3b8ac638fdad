"""What the controller-manager's shared pod informer keeps of each pod (the cache holds every pod
of the cluster): everything controllers read, without the container details only a kubelet
needs.

Containers (and init containers) keep name, ports (Endpoints resolve named target ports),
resources (ResourceQuota) and an init container's restartPolicy; command, args, env, image,
probes, mounts ... are dropped. Of the volumes only those naming a persistentVolumeClaim stay
(the PersistentVolume and PVC-protection controllers read them; the ServiceAccount token volume
every pod gets is ~2 KB of a cached pod otherwise). Container statuses keep name, ready,
restartCount (Job back-off) and state; image, imageID, containerID and lastState are dropped.
Of the pod's conditions only Ready is kept (readiness and availability, util.is_ready /
is_available, is all controllers read; a controller that needs another condition adds it
here). Metadata (annotations included: Job completion indexes), the rest of the spec and the
rest of the status stay as they are.

The parts pods of one template (or one moment) have in common are held once: each part
(metadata, spec, status) is split into the fields of this pod alone (name, uid, resourceVersion,
creationTimestamp, deletionTimestamp; nodeName; pod and host IPs, startTime), which go through
the informer's `compact`, and the rest, which is looked up whole by its JSON text
(`labkube.client.sharedparts`): a pod of a template seen before costs one lookup per part instead of a walk
over every field, and its labels, ownerReferences, spec lists and maps, conditions and container
statuses are the objects its template's other pods hold (`SharedValues`, so a value common to
several parts is still held once). At 10,000 pods of 100 Deployments this view takes ~34 MB
instead of ~70.
"""
from __future__ import annotations

import sys

from labkube.client.informer import SharedValues, compact, keep_keys
from labkube.client.sharedparts import SharedParts, held
from labkube.client.sharedparts import scalar as _scalar

CONTAINER_KEEP = ("name", "ports", "resources", "restartPolicy")
CONTAINER_STATUS_KEEP = ("name", "ready", "restartCount", "state")
CONDITIONS_KEEP = ("Ready",)
OWN_METADATA = ("name", "uid", "resourceVersion", "creationTimestamp", "deletionTimestamp")
OWN_SPEC = ("nodeName",)
OWN_STATUS = ("podIP", "podIPs", "hostIP", "hostIPs", "startTime")
ONE_OF_MANY = frozenset({"creationTimestamp", "deletionTimestamp", "nodeName", "hostIP", "startTime"})


SHARED = SharedValues()
PARTS = SharedParts(SHARED)


def _split(part: dict, own_keys: tuple, parts: SharedParts) -> dict:
    """The part as the view keeps it: its common fields from `parts`, then its own fields, last.
    An own field that pods of one node or one moment repeat (ONE_OF_MANY) is interned; the
    others (names, uids, resourceVersions, pod IPs) are unique, so they are kept as decoded:
    interning them shared nothing and cost a lookup in the interpreter's table of every cached
    pod's strings, then a removal when the next event of the pod replaced them (a third of the
    view's CPU on a Running status event). The decoded event is the view's alone, so nothing
    else holds what it keeps."""
    own = {}
    for k in own_keys:
        if k in part:
            v = part.pop(k)
            own[k] = _scalar(v) if k in ONE_OF_MANY else v
    out = held(part, None, parts)
    out.update(own)
    return out


def pod_view(pod: dict, parts: SharedParts = PARTS) -> dict:
    view = {}
    for k, v in pod.items():
        if k == "metadata" and v:
            md = {x: y for x, y in v.items() if x != "managedFields"}
            view["metadata"] = _split(md, OWN_METADATA, parts)
        elif k == "spec" and v:
            spec = dict(v)
            for c in ("containers", "initContainers"):
                if c in spec:
                    spec[c] = keep_keys(spec[c], CONTAINER_KEEP)
            if "volumes" in spec:
                claims = [x for x in spec.pop("volumes") or () if x.get("persistentVolumeClaim")]
                if claims:
                    spec["volumes"] = claims
            view["spec"] = _split(spec, OWN_SPEC, parts)
        elif k == "status" and v:
            st = dict(v)
            for c in ("containerStatuses", "initContainerStatuses"):
                if c in st:
                    st[c] = keep_keys(st[c], CONTAINER_STATUS_KEEP)
            if "conditions" in st:
                st["conditions"] = [x for x in st["conditions"] or () if x.get("type") in CONDITIONS_KEEP]
            view["status"] = _split(st, OWN_STATUS, parts)
        else:
            view[sys.intern(k)] = compact({k: v})[k] if type(v) in (dict, list) else _scalar(v)
    return view


def spec_extended(spec: dict, added: dict) -> dict | None:
    """The spec part `pod_view` builds for a pod whose spec is that of the pod whose spec part is
    `spec`, with the members `added` written after the others (a binding adds nodeName); None
    unless every added member is one of the own fields (OWN_SPEC) and the part has none of them
    yet (own fields go last, in OWN_SPEC order)."""
    if not added or any(k not in OWN_SPEC for k in added) or any(k in spec for k in OWN_SPEC):
        return None
    out = dict(spec)
    for k in OWN_SPEC:
        if k in added:
            v = added[k]
            out[k] = _scalar(v) if k in ONE_OF_MANY else v
    return out
