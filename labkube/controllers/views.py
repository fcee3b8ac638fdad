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

The result goes through the informer's `compact`, and the parts pods of one template (or one
moment) have in common are held once (`SharedValues`): the spec's lists and maps, labels,
ownerReferences, conditions and container statuses. At 10,000 pods of 100 Deployments this
view takes ~34 MB instead of ~70.
"""
from __future__ import annotations

import sys

from labkube.client.informer import SharedValues, compact, keep_keys

CONTAINER_KEEP = ("name", "ports", "resources", "restartPolicy")
CONTAINER_STATUS_KEEP = ("name", "ready", "restartCount", "state")
CONDITIONS_KEEP = ("Ready",)
SHARED_METADATA = ("labels", "annotations", "ownerReferences", "finalizers")
SHARED_STATUS = ("conditions", "containerStatuses", "initContainerStatuses", "hostIPs")

SHARED = SharedValues()


def pod_view(pod: dict, shared: SharedValues = SHARED) -> dict:
    out = dict(pod)
    md, spec, st = pod.get("metadata"), pod.get("spec"), pod.get("status")
    later: list[tuple[str, str, object]] = []     # (part, key, value) shared after the compact copy
    if md:
        out["metadata"] = md = dict(md)
        later += [("metadata", k, md.pop(k)) for k in SHARED_METADATA if md.get(k) is not None]
    if spec:
        out["spec"] = spec = dict(spec)
        for k in ("containers", "initContainers"):
            if k in spec:
                spec[k] = keep_keys(spec[k], CONTAINER_KEEP)
        if "volumes" in spec:
            claims = [v for v in spec.pop("volumes") or () if v.get("persistentVolumeClaim")]
            if claims:
                spec["volumes"] = claims
        later += [("spec", k, spec.pop(k)) for k, v in list(spec.items()) if type(v) in (dict, list)]
    if st:
        out["status"] = st = dict(st)
        for k in ("containerStatuses", "initContainerStatuses"):
            if k in st:
                st[k] = keep_keys(st[k], CONTAINER_STATUS_KEEP)
        if "conditions" in st:
            st["conditions"] = [c for c in st["conditions"] or () if c.get("type") in CONDITIONS_KEEP]
        later += [("status", k, st.pop(k)) for k in SHARED_STATUS if st.get(k) is not None]
    view = compact(out)
    for part, k, v in later:
        view[part][sys.intern(k)] = shared.share(v)
    return view
