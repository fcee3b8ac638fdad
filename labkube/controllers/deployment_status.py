"""Deployment status: counts summed over its ReplicaSets, and the Available/Progressing conditions
that `kubectl rollout status` reads (reference §10.1)."""
from __future__ import annotations

import datetime

from labkube.api.memo import exact_copy
from labkube.client.clock import parse_time

from .deployment_util import replicas_of, status_int, surge_and_unavailable
from .util import get_condition, set_condition


def compute_counts(d: dict, all_rs: list[dict], new_rs: dict | None) -> dict:
    status = exact_copy(d.get("status") or {})
    available = sum(status_int(rs, "availableReplicas") for rs in all_rs)
    status.update({
        "observedGeneration": d["metadata"].get("generation", 1),
        "replicas": sum(status_int(rs, "replicas") for rs in all_rs),
        "updatedReplicas": status_int(new_rs, "replicas") if new_rs else 0,
        "readyReplicas": sum(status_int(rs, "readyReplicas") for rs in all_rs),
        "availableReplicas": available,
        "unavailableReplicas": max(0, replicas_of(d) - available),
    })
    return status


def is_complete(d: dict, status: dict) -> bool:
    want = replicas_of(d)
    return (status.get("updatedReplicas", 0) == want and status.get("replicas", 0) == want
            and status.get("availableReplicas", 0) == want
            and status.get("observedGeneration", 0) >= d["metadata"].get("generation", 1))


def compute_status(d: dict, all_rs: list[dict], new_rs: dict | None, now: datetime.datetime,
                   now_str: str, created_new: bool = False) -> tuple[dict, float | None]:
    """The new status, and seconds until the progress deadline should be re-checked (or None)."""
    old = d.get("status") or {}
    status = compute_counts(d, all_rs, new_rs)
    spec = d.get("spec") or {}
    _, max_unavail = surge_and_unavailable(d)
    if status["availableReplicas"] >= replicas_of(d) - max_unavail:
        set_condition(status, "Available", "True", "MinimumReplicasAvailable",
                      "Deployment has minimum availability.", now_str, update_time=False)
    else:
        set_condition(status, "Available", "False", "MinimumReplicasUnavailable",
                      "Deployment does not have minimum availability.", now_str, update_time=False)
    failures = [c for rs in all_rs for c in (rs.get("status") or {}).get("conditions") or []
                if c.get("type") == "ReplicaFailure" and c.get("status") == "True"]
    status["conditions"] = [c for c in status.get("conditions") or [] if c.get("type") != "ReplicaFailure"]
    if failures:
        set_condition(status, "ReplicaFailure", "True", failures[0].get("reason", "FailedCreate"),
                      failures[0].get("message", ""), now_str, update_time=False)
    name = new_rs["metadata"]["name"] if new_rs else ""
    prog = get_condition(status, "Progressing")
    recheck = None
    if spec.get("paused"):
        set_condition(status, "Progressing", "Unknown", "DeploymentPaused", "Deployment is paused",
                      now_str, update_time=False)
        return status, None
    if prog and prog.get("reason") == "DeploymentPaused":
        set_condition(status, "Progressing", "Unknown", "DeploymentResumed", "Deployment is resumed", now_str)
        prog = get_condition(status, "Progressing")
    deadline = spec.get("progressDeadlineSeconds", 600)
    counts = ("replicas", "updatedReplicas", "readyReplicas", "availableReplicas")
    progressed = created_new or any(old.get(k, 0) != status[k] for k in counts) or prog is None
    if is_complete(d, status):
        set_condition(status, "Progressing", "True", "NewReplicaSetAvailable",
                      f'ReplicaSet "{name}" has successfully progressed.', now_str,
                      update_time=not (prog and prog.get("reason") == "NewReplicaSetAvailable"))
    elif created_new:
        set_condition(status, "Progressing", "True", "NewReplicaSetCreated", f'Created new replica set "{name}"',
                      now_str)
    elif progressed or (prog and prog.get("reason") in ("NewReplicaSetAvailable", "DeploymentResumed")):
        set_condition(status, "Progressing", "True", "ReplicaSetUpdated", f'ReplicaSet "{name}" is progressing.',
                      now_str)
    elif deadline is not None and prog and prog.get("reason") != "ProgressDeadlineExceeded":
        last = parse_time(prog.get("lastUpdateTime"))
        if last is not None:
            left = (last + datetime.timedelta(seconds=deadline) - now).total_seconds()
            if left <= 0:
                set_condition(status, "Progressing", "False", "ProgressDeadlineExceeded",
                              f'ReplicaSet "{name}" has timed out progressing.', now_str)
            else:
                recheck = left + 1
    if deadline is not None and recheck is None and not is_complete(d, status):
        p = get_condition(status, "Progressing")
        if p and p.get("status") == "True":
            recheck = deadline + 1
    return status, recheck
