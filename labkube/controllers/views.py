"""What the controller-manager's shared pod informer keeps of each pod (the cache holds every pod
of the cluster): everything controllers read, without the container details only a kubelet
needs.

Containers (and init containers) keep name, ports (Endpoints resolve named target ports),
resources (ResourceQuota) and an init container's restartPolicy; command, args, env, image,
probes, mounts ... are dropped. Container statuses keep name, ready, restartCount (Job
back-off) and state; image, imageID, containerID and lastState are dropped. Of the pod's
conditions only Ready is kept (readiness and availability, util.is_ready / is_available, is
all controllers read; a controller that needs another condition adds it here). Metadata
(annotations included: Job completion indexes), the rest of the spec and the rest of the
status stay as they are. The result goes through the informer's `compact`.
"""
from __future__ import annotations

from labkube.client.informer import compact, keep_keys

CONTAINER_KEEP = ("name", "ports", "resources", "restartPolicy")
CONTAINER_STATUS_KEEP = ("name", "ready", "restartCount", "state")
CONDITIONS_KEEP = ("Ready",)


def pod_view(pod: dict) -> dict:
    out = dict(pod)
    spec, st = pod.get("spec"), pod.get("status")
    if spec:
        out["spec"] = spec = dict(spec)
        for k in ("containers", "initContainers"):
            if k in spec:
                spec[k] = keep_keys(spec[k], CONTAINER_KEEP)
    if st:
        out["status"] = st = dict(st)
        for k in ("containerStatuses", "initContainerStatuses"):
            if k in st:
                st[k] = keep_keys(st[k], CONTAINER_STATUS_KEEP)
        if "conditions" in st:
            st["conditions"] = [c for c in st["conditions"] or () if c.get("type") in CONDITIONS_KEEP]
    return compact(out)
