"""Helpers shared by controllers: owner references, pod readiness/availability, conditions."""
from __future__ import annotations

import datetime

from labkube.client.clock import parse_time


def controller_ref(obj: dict) -> dict | None:
    for ref in (obj.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("controller"):
            return ref
    return None


BY_CONTROLLER = "controller-uid"          # informer index: objects by their controller's uid
ORPHANS = "orphans-by-namespace"          # informer index: objects without a controller, by namespace


def controller_uid_index(obj: dict) -> list[str]:
    ref = controller_ref(obj)
    return [ref["uid"]] if ref and ref.get("uid") else []


def orphan_namespace_index(obj: dict) -> list[str]:
    return [] if controller_ref(obj) else [(obj.get("metadata") or {}).get("namespace") or ""]


# what the index functions read (Informer.add_index's reads: an update that keeps these is not refiled)
CONTROLLER_UID_READS = (("metadata", "ownerReferences"),)
ORPHAN_NAMESPACE_READS = (("metadata", "ownerReferences"), ("metadata", "namespace"))
NODE_NAME_READS = (("spec", "nodeName"),)


BY_NODE = "node-name"                     # informer index: pods by spec.nodeName


def node_name_index(pod: dict) -> list[str]:
    node = (pod.get("spec") or {}).get("nodeName")
    return [node] if node else []


def owner_ref(owner: dict, block: bool = True) -> dict:
    return {"apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": owner["metadata"]["name"],
            "uid": owner["metadata"]["uid"], "controller": True, "blockOwnerDeletion": block}


def is_terminal(pod: dict) -> bool:
    return (pod.get("status") or {}).get("phase") in ("Succeeded", "Failed")


def is_active(pod: dict) -> bool:
    """Counts towards replicas: not terminal and not being deleted."""
    return not is_terminal(pod) and not pod["metadata"].get("deletionTimestamp")


def ready_condition(pod: dict) -> dict | None:
    for c in (pod.get("status") or {}).get("conditions") or []:
        if c.get("type") == "Ready":
            return c
    return None


def is_ready(pod: dict) -> bool:
    c = ready_condition(pod)
    return bool(c and c.get("status") == "True")


def is_available(pod: dict, min_ready_seconds: int, now: datetime.datetime) -> bool:
    if not is_ready(pod):
        return False
    if not min_ready_seconds:
        return True
    since = parse_time(ready_condition(pod).get("lastTransitionTime"))
    return since is None or since + datetime.timedelta(seconds=min_ready_seconds) <= now


def get_condition(status: dict, ctype: str) -> dict | None:
    for c in status.get("conditions") or []:
        if c.get("type") == ctype:
            return c
    return None


def set_condition(status: dict, ctype: str, cstatus: str, reason: str, message: str, now: str,
                  update_time: bool = True) -> None:
    """Set a condition, keeping lastTransitionTime when the status does not change."""
    conds = status.setdefault("conditions", [])
    old = get_condition(status, ctype)
    new = {"type": ctype, "status": cstatus, "lastUpdateTime": now, "lastTransitionTime": now,
           "reason": reason, "message": message}
    if old is not None:
        if old.get("status") == cstatus:
            new["lastTransitionTime"] = old.get("lastTransitionTime", now)
            if old.get("reason") == reason and old.get("message") == message and not update_time:
                new["lastUpdateTime"] = old.get("lastUpdateTime", now)
        conds[conds.index(old)] = new
    else:
        conds.append(new)
