"""Pod status from what the pod worker knows: phase, conditions, IPs, container statuses.

Pure functions (no I/O): `pod_status(...)` returns the `status` object the kubelet
sends through the pods/status subresource; the worker sends it only when it changed.
Phase rules follow the kubelet's getPhase; condition transition times are kept from
the previous status while a condition's value does not change.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

from .runtime.base import ContainerStatus


_last_second: tuple = (None, None)      # the last whole second formatted, and its text (one tuple: thread-safe)


def rfc3339(ts: float | None) -> str | None:
    """UTC, whole seconds. The last second's text is kept: a status formats the same `now` for
    each condition and container (6 times for a one-container pod), and a kubelet's statuses
    come in bursts within one second; strftime + gmtime cost ~1 us a call."""
    if ts is None:
        return None
    global _last_second
    sec = math.floor(ts)
    last_sec, text = _last_second
    if last_sec != sec:
        text = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(sec))
        _last_second = (sec, text)
    return text


@dataclass
class ContainerView:
    name: str
    image: str                                 # the image as resolved (normalised ref)
    current: ContainerStatus | None = None     # latest container of this name
    last: ContainerStatus | None = None        # the terminated one before it
    waiting: tuple | None = None               # (reason, message) overriding the state
    ready: bool = False
    started: bool | None = None
    restart_count: int = 0


def _terminated(c: ContainerStatus) -> dict:
    t = {"exitCode": c.exit_code if c.exit_code is not None else 255, "reason": c.reason or "Error",
         "startedAt": rfc3339(c.started_at or c.created_at), "finishedAt": rfc3339(c.finished_at),
         "containerID": f"crun://{c.id}"}
    if c.message:
        t["message"] = c.message
    return t


def container_status(v: ContainerView, init: bool = False, initializing: bool = False) -> dict:
    """One containerStatuses entry. Waiting reasons when nothing runs yet: PodInitializing
    for init containers and for app containers while init containers run, else ContainerCreating."""
    out: dict = {"name": v.name, "image": v.image, "imageID": "", "ready": False,
                 "restartCount": v.restart_count, "started": False, "state": {}, "lastState": {}}
    cur = v.current
    if cur is not None:
        out["containerID"] = f"crun://{cur.id}"
        out["imageID"] = cur.image_id
    if v.waiting is not None:
        reason, message = v.waiting
        out["state"] = {"waiting": {"reason": reason, **({"message": message} if message else {})}}
        if cur is not None and cur.state == "exited":
            out["lastState"] = {"terminated": _terminated(cur)}
        elif v.last is not None:
            out["lastState"] = {"terminated": _terminated(v.last)}
        return out
    if cur is None or cur.state == "created":
        out["state"] = {"waiting": {"reason": "PodInitializing" if init or initializing else "ContainerCreating"}}
    elif cur.state == "running":
        out["state"] = {"running": {"startedAt": rfc3339(cur.started_at)}}
        out["ready"] = bool(v.ready)
        out["started"] = True if v.started is None else bool(v.started)
    else:
        out["state"] = {"terminated": _terminated(cur)}
    if v.last is not None:
        out["lastState"] = {"terminated": _terminated(v.last)}
    return out


def _counts(statuses: list[dict]) -> dict:
    c = dict(running=0, waiting=0, stopped=0, succeeded=0, failed=0, unknown=0)
    for s in statuses:
        st = s.get("state") or {}
        if "running" in st:
            c["running"] += 1
        elif "terminated" in st:
            c["stopped"] += 1
            c["succeeded" if st["terminated"]["exitCode"] == 0 else "failed"] += 1
        elif "waiting" in st:
            if (s.get("lastState") or {}).get("terminated"):
                c["stopped"] += 1
            else:
                c["waiting"] += 1
        else:
            c["unknown"] += 1
    return c


def init_done(init_statuses: list[dict]) -> bool:
    return all(((s.get("state") or {}).get("terminated") or {}).get("exitCode") == 0 for s in init_statuses)


def init_failed(init_statuses: list[dict], restart_policy: str) -> bool:
    if restart_policy != "Never":
        return False
    return any(((s.get("state") or {}).get("terminated") or {}).get("exitCode", 0) != 0
               for s in init_statuses if (s.get("state") or {}).get("terminated"))


def pod_phase(restart_policy: str, init_statuses: list[dict], statuses: list[dict]) -> str:
    if init_failed(init_statuses, restart_policy):
        return "Failed"
    if not init_done(init_statuses):
        return "Pending"
    c = _counts(statuses)
    if c["waiting"] > 0:
        return "Pending"
    if c["running"] > 0 and c["unknown"] == 0:
        return "Running"
    if c["running"] == 0 and c["stopped"] > 0 and c["unknown"] == 0:
        if restart_policy == "Always":
            return "Running"
        if c["stopped"] == c["succeeded"]:
            return "Succeeded"
        if restart_policy == "Never":
            return "Failed"
        return "Running"
    return "Pending"


def _condition(ctype: str, ok: bool, prev: dict, now: float, reason: str = "") -> dict:
    status = "True" if ok else "False"
    old = prev.get(ctype) or {}
    since = old.get("lastTransitionTime") if old.get("status") == status else rfc3339(now)
    cond = {"type": ctype, "status": status, "lastProbeTime": None, "lastTransitionTime": since}
    if not ok and reason:
        cond["reason"] = reason
    return cond


def qos_class(pod: dict) -> str:
    cs = (pod.get("spec") or {}).get("containers") or []
    any_set, guaranteed = False, True
    for c in cs:
        res = c.get("resources") or {}
        lim, req = res.get("limits") or {}, res.get("requests") or {}
        if lim or req:
            any_set = True
        for r in ("cpu", "memory"):
            if r not in lim or str(req.get(r, lim.get(r))) != str(lim.get(r)):
                guaranteed = False
    if not any_set:
        return "BestEffort"
    return "Guaranteed" if guaranteed else "Burstable"


def pod_status(pod: dict, init_views: list[ContainerView], views: list[ContainerView], *, host_ip: str,
               pod_ips: list[str], start_time: float | None, now: float | None = None) -> dict:
    now = time.time() if now is None else now
    spec = pod.get("spec") or {}
    old = pod.get("status") or {}
    prev = {c.get("type"): c for c in old.get("conditions") or []}
    restart_policy = spec.get("restartPolicy") or "Always"
    init_statuses = [container_status(v, init=True) for v in init_views]
    initializing = not init_done(init_statuses)
    statuses = [container_status(v, initializing=initializing) for v in views]
    phase = pod_phase(restart_policy, init_statuses, statuses)
    initialized = init_done(init_statuses)
    containers_ready = bool(statuses) and all(s["ready"] for s in statuses)
    if phase in ("Succeeded", "Failed"):
        containers_ready = False
    not_ready = [s["name"] for s in statuses if not s["ready"]]
    reason = "PodCompleted" if phase in ("Succeeded", "Failed") else "ContainersNotReady"
    conds = [
        _condition("PodReadyToStartContainers", bool(pod_ips) or phase in ("Succeeded", "Failed"), prev, now),
        _condition("Initialized", initialized, prev, now, "ContainersNotInitialized"),
        _condition("Ready", containers_ready, prev, now, reason),
        _condition("ContainersReady", containers_ready, prev, now, reason),
        _condition("PodScheduled", True, prev, now),
    ]
    for c in conds:
        if c["type"] in ("Ready", "ContainersReady") and c["status"] == "False" and not_ready \
                and reason == "ContainersNotReady":
            c["message"] = f"containers with unready status: [{' '.join(not_ready)}]"
    status: dict = {"phase": phase, "conditions": conds, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}]}
    if pod_ips:
        status["podIP"] = pod_ips[0]
        status["podIPs"] = [{"ip": ip} for ip in pod_ips]
    if start_time is not None:
        status["startTime"] = old.get("startTime") or rfc3339(start_time)
    if init_statuses:
        status["initContainerStatuses"] = init_statuses
    status["containerStatuses"] = statuses
    status["qosClass"] = old.get("qosClass") or qos_class(pod)
    return status
